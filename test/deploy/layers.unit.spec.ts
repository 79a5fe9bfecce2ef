import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

/** The layer rules of `npm run lint` (.dependency-cruiser.cjs), run by the same CLI on the real src/ and on a small tree laid out like it. */
const root = fileURLToPath(new URL('../../', import.meta.url));
const depcruise = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

type Violation = { type: string; from: string; to: string; rule: { name: string } };

const cruise = async (cwd: string): Promise<Violation[]> => {
  const config = path.join(cwd, '.dependency-cruiser.cjs');
  // Exit code 1 only says that rules were broken; the JSON on stdout is the answer either way.
  const run = promisify(execFile)(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'json'], { cwd, maxBuffer: 64 << 20 });
  const { stdout } = await run.catch((error: { stdout?: string }) => {
    if (!error.stdout) throw error;
    return { stdout: error.stdout };
  });
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
};

const brief = (violations: readonly Violation[]) => violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();

/** A tree laid out like src/: `file → the files it imports` (relative to src/). */
const writeTree = (dir: string, files: Record<string, string[]>) => {
  for (const [file, imports] of Object.entries(files)) {
    const full = path.join(dir, 'src', file);
    mkdirSync(path.dirname(full), { recursive: true });
    const lines = imports.map((target, i) => {
      let spec = path.relative(path.dirname(file), target).replace(/\.ts$/, '.js');
      if (!spec.startsWith('.')) spec = `./${spec}`;
      return `import { x as x${i} } from '${spec}';`;
    });
    writeFileSync(full, `${lines.join('\n')}\nexport const x = [${imports.map((_, i) => `x${i}`).join(', ')}].length;\n`);
  }
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' }, include: ['src'] }),
  );
  copyFileSync(path.join(root, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
};

describe('The layer rules', function () {
  this.timeout(60_000);

  it('find no violation in src/', async () => {
    expect(brief(await cruise(root))).to.deep.equal([]);
  });

  describe('on a tree laid out like src/', () => {
    let dir: string;
    let violations: string[];

    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'vespera-layers-'));
      writeTree(dir, {
        // Allowed: each arrow of the layer table once.
        'errors.ts': [],
        'util/canonical.ts': ['errors.ts'],
        'algorithms/cpm.ts': [],
        'events/types.ts': ['util/canonical.ts'],
        'events/project.ts': ['events/types.ts'],
        'eventstore/sqlite.ts': ['events/types.ts', 'errors.ts'],
        'commands/project/decider.ts': ['events/project.ts', 'algorithms/cpm.ts', 'eventstore/sqlite.ts'],
        'projections/sqlite/projection.ts': ['events/project.ts', 'eventstore/sqlite.ts'],
        'queries/tasks.ts': ['projections/sqlite/projection.ts', 'algorithms/cpm.ts'],
        'api/catalog/tasks.ts': ['commands/project/decider.ts', 'queries/tasks.ts'],
        'wiring/background.ts': ['projections/sqlite/projection.ts', 'queries/tasks.ts', 'config.ts'],
        'config.ts': ['errors.ts'],
        'app.ts': ['api/catalog/tasks.ts', 'wiring/background.ts', 'config.ts'],
        // Forbidden, one of each kind.
        'commands/roles/assignment.ts': ['api/catalog/tasks.ts'],
        'projections/vectors/vectorProjection.ts': ['queries/tasks.ts'],
        'eventstore/postgres.ts': ['events/project.ts'],
        'api/mcp/stdio.ts': ['app.ts'],
        'api/auth/bootstrap.ts': ['api/rest/server.ts'],
        'api/rest/server.ts': ['api/auth/bootstrap.ts'],
        'reports/weekly.ts': ['util/canonical.ts'],
        'queries/report.ts': ['reports/weekly.ts'],
      });
      violations = brief(await cruise(dir));
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it('refuse a decider importing the API, naming the rule', () => {
      expect(violations).to.include('layer-commands: src/commands/roles/assignment.ts → src/api/catalog/tasks.ts');
    });

    it('refuse a projection importing a query', () => {
      expect(violations).to.include('layer-projections: src/projections/vectors/vectorProjection.ts → src/queries/tasks.ts');
    });

    it('let the event store know the event envelope, never a domain event', () => {
      expect(violations).to.include('layer-eventstore: src/eventstore/postgres.ts → src/events/project.ts');
      expect(violations.filter((v) => v.startsWith('layer-eventstore: src/eventstore/sqlite.ts'))).to.deep.equal([]);
    });

    it('refuse any import of the composition root from below it', () => {
      expect(violations).to.include('no-import-of-composition-root: src/api/mcp/stdio.ts → src/app.ts');
    });

    it('refuse a folder no rule names, and imports of it', () => {
      expect(violations).to.include('layer-unknown-folder: src/reports/weekly.ts → src/util/canonical.ts');
      expect(violations).to.include('layer-unknown-target: src/queries/report.ts → src/reports/weekly.ts');
    });

    it('refuse folders that import each other in a circle', () => {
      expect(violations).to.include('no-circular-folders: src/api/auth → src/api/rest');
    });

    it('refuse modules that import each other in a circle, inside one folder too', () => {
      expect(violations).to.include('no-circular: src/api/auth/bootstrap.ts → src/api/rest/server.ts');
    });

    it('accept every allowed arrow: nothing else is reported', () => {
      expect(violations).to.have.members([
        'layer-commands: src/commands/roles/assignment.ts → src/api/catalog/tasks.ts',
        'layer-projections: src/projections/vectors/vectorProjection.ts → src/queries/tasks.ts',
        'layer-eventstore: src/eventstore/postgres.ts → src/events/project.ts',
        'no-import-of-composition-root: src/api/mcp/stdio.ts → src/app.ts',
        'layer-unknown-folder: src/reports/weekly.ts → src/util/canonical.ts',
        'layer-unknown-target: src/queries/report.ts → src/reports/weekly.ts',
        'no-circular-folders: src/api/auth → src/api/rest',
        'no-circular-folders: src/api/rest → src/api/auth',
        'no-circular: src/api/auth/bootstrap.ts → src/api/rest/server.ts',
      ]);
    });
  });
});
