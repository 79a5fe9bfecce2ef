import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cleanEnvironment, mcpToolNames, REPO, run } from './installed.js';

/**
 * The cheap half of "installable and runnable from anywhere", in `npm test`: the build (tsconfig.build.json) into a
 * copy of what `npm pack` ships — package.json, bin/, dist/, roles/, web/, and no src/ — run with plain Node from another
 * directory. The real `npm pack` → `npm i -g` round trip compiles better-sqlite3 and takes minutes, so it is the
 * long suite `npm run test:pack` (test/deploy/pack.soak.ts).
 */
describe('The built CLI, outside the checkout', function () {
  this.timeout(120_000);
  let staging: string;
  let elsewhere: string;

  before(async () => {
    staging = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-built-'));
    elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-cwd-'));
    await run(
      process.execPath,
      [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(staging, 'dist')],
      {
        cwd: REPO,
      },
    );
    for (const entry of ['package.json', 'bin', 'roles', 'web']) fs.cpSync(path.join(REPO, entry), path.join(staging, entry), { recursive: true });
    // The production dependencies, as `npm i` would put them beside the package; no tsx is reachable from bin/ then,
    // because nothing but node_modules/ resolves and the sources are absent.
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(staging, 'node_modules'));
  });
  after(() => {
    for (const dir of [staging, elsewhere]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('given the package files list', () => {
    it('ships bin/, the compiled dist/ (workers included), the role files, the dashboard and no sources, tests or source maps', async () => {
      const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: staging,
        env: { ...process.env, npm_config_loglevel: 'silent' },
      });
      const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
      expect(files).to.include.members([
        'bin/vespera.js',
        'dist/cli.js',
        'dist/projections/graph/worker.js',
        'dist/embeddings/worker.js',
        'dist/eventstore/backupWorker.js',
        'dist/projections/sqlite/rebuildWorker.js',
        'roles/default_roles.yaml',
        'roles/enhanced_roles.yaml',
        'web/index.html',
        'web/main.js',
        'web/graph.js',
        'web/dashboard.css',
        'package.json',
      ]);
      expect(files.filter((f) => /^(src|test|bench)\/|\.map$|\.ts$/.test(f))).to.deep.equal([]);
    });
  });

  describe('when the compiled server builds its dashboard', () => {
    it('finds web/ beside dist/ and the cytoscape builds in node_modules', async () => {
      const module = path.join(staging, 'dist/api/rest/dashboard.js');
      const script = `import(${JSON.stringify(module)}).then((m) => console.log(JSON.stringify([...m.dashboardAssets().keys()])))`;
      const { stdout } = await run(process.execPath, ['-e', script], { cwd: elsewhere, env: cleanEnvironment() });
      expect(JSON.parse(stdout)).to.include.members(['/', '/web/main.js', '/vendor/cytoscape.esm.min.mjs', '/vendor/cytoscape-dagre.min.mjs']);
    });
  });

  describe('when bin/vespera.js runs from another directory', () => {
    it('prints the help of the compiled CLI', async () => {
      const { stdout } = await run(process.execPath, [path.join(staging, 'bin/vespera.js'), '--help'], { cwd: elsewhere, env: cleanEnvironment() });
      expect(stdout).to.include('Usage: vespera').and.include('mcp');
    });

    it('serves MCP over stdio on the data directory it is given: initialize and tools/list answer', async () => {
      const dataDir = path.join(elsewhere, 'data');
      const answer = await mcpToolNames(process.execPath, [path.join(staging, 'bin/vespera.js')], elsewhere, dataDir);
      expect(answer.tools).to.include.members(['create_task', 'claim_next_task', 'get_task']);
      expect(fs.existsSync(path.join(dataDir, 'admin.token')), 'the data directory is the one named by --data-dir').to.equal(true);
      expect(fs.existsSync(path.join(elsewhere, '.vespera'))).to.equal(false);
    });
  });
});
