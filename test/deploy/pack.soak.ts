import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cleanEnvironment, mcpToolNames, REPO, run } from './installed.js';

/**
 * The long suite (`npm run test:pack`, not in `npm test`): `npm pack` of the checkout (prepack builds dist/ and pins
 * the tested dependency tree in npm-shrinkwrap.json) → `npm i -g --prefix TMP` of the tarball → the installed
 * `vespera` answers `--help` and an MCP initialize + tools/list from another directory, with no tsx and no checkout.
 * The install reaches the npm registry and compiles better-sqlite3 when no prebuilt binary downloads: minutes.
 */
describe('npm pack → npm i -g → vespera', function () {
  this.timeout(20 * 60_000);
  let tmp: string;
  let bin: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-pack-'));
    const started = Date.now();
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    const tarball = path.join(tmp, (JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>)[0]?.filename ?? '');
    const packed = Date.now();
    const prefix = path.join(tmp, 'prefix');
    await run('npm', ['i', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: tmp,
      env: { ...process.env, npm_config_loglevel: 'error' },
      maxBuffer: 64 * 1024 * 1024,
    });
    console.error(`      npm pack ${((packed - started) / 1000).toFixed(1)} s, npm i -g ${((Date.now() - packed) / 1000).toFixed(1)} s`);
    bin = path.join(prefix, 'bin/vespera');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('installs a vespera command that prints its help from any directory', async () => {
    const { stdout } = await run(bin, ['--help'], { cwd: os.tmpdir(), env: cleanEnvironment() });
    expect(stdout).to.include('Usage: vespera');
  });

  it('serves MCP over stdio from another directory: initialize and tools/list answer', async () => {
    const answer = await mcpToolNames(bin, [], os.tmpdir(), path.join(tmp, 'data'));
    expect(answer.tools).to.include.members(['create_task', 'claim_next_task', 'get_task']);
  });

  it('installed no sources and no tsx beside the package', () => {
    const installed = path.join(tmp, 'prefix/lib/node_modules/vespera');
    expect(fs.existsSync(path.join(installed, 'src'))).to.equal(false);
    expect(fs.existsSync(path.join(installed, 'node_modules/tsx'))).to.equal(false);
  });
});
