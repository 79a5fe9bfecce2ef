import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createApp, type App } from '../../../src/app.js';
import { DEFAULT_ROLE_FILES, RoleFileError } from '../../../src/commands/roles/roleFiles.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The role catalog is synced from the YAML files at every start, appending only what differs. */
describe('Role file sync at start-up', () => {
  let dir: string;
  let roleDir: string;

  const configFor = (dataDir: string, roleFiles: readonly string[]): Config =>
    loadConfig({ VESPERA_LOG_LEVEL: 'silent' }, { dataDir, port: 0, host: '127.0.0.1', sync: 'normal', roleFiles });
  /** Starts an app on the data dir, hands it to `look`, stops it. */
  const withApp = async <T>(dataDir: string, roleFiles: readonly string[], look: (app: App) => Promise<T>): Promise<T> => {
    const config = configFor(dataDir, roleFiles);
    const app = await createApp(config, createLogger(config.logLevel));
    try {
      return await look(app);
    } finally {
      await app.stop();
    }
  };
  const roleEvents = (app: App) => app.store.readStream('roles');
  const copyShipped = (): string[] =>
    DEFAULT_ROLE_FILES.map((file) => {
      const copy = path.join(roleDir, path.basename(file));
      fs.copyFileSync(file, copy);
      return copy;
    });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-role-sync-'));
    roleDir = path.join(dir, 'roles');
    fs.mkdirSync(roleDir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('on the first start', () => {
    it('appends one RoleDefined per shipped role (16)', async () => {
      const events = await withApp(path.join(dir, 'data'), DEFAULT_ROLE_FILES, roleEvents);
      expect(events.map((e) => e.type)).to.deep.equal(Array(16).fill('RoleDefined'));
      expect(events.every((e) => e.metadata.actor === 'system')).to.equal(true);
    });
  });

  describe('on a second start with unchanged files', () => {
    it('appends nothing at all (same head position, same roles stream)', async () => {
      const dataDir = path.join(dir, 'data');
      const first = await withApp(dataDir, DEFAULT_ROLE_FILES, async (app) => ({
        head: await app.store.headPosition(),
        roles: (await roleEvents(app)).length,
      }));
      const second = await withApp(dataDir, DEFAULT_ROLE_FILES, async (app) => ({
        head: await app.store.headPosition(),
        roles: (await roleEvents(app)).length,
      }));
      expect(second).to.deep.equal(first);
    });
  });

  describe('when a role file changed between starts', () => {
    it('appends exactly one RoleChanged for the changed role', async () => {
      const dataDir = path.join(dir, 'data');
      const files = copyShipped();
      const before = await withApp(dataDir, files, async (app) => app.store.headPosition());
      const enhanced = files[1]!;
      const text = fs.readFileSync(enhanced, 'utf8');
      fs.writeFileSync(enhanced, text.replace(/( {2}tester:[\s\S]*?max_concurrent_tasks: )4/, '$17'));
      const { head, events } = await withApp(dataDir, files, async (app) => ({
        head: await app.store.headPosition(),
        events: await roleEvents(app),
      }));
      expect(head).to.equal(before + 1);
      const last = events.at(-1)!;
      expect(last.type).to.equal('RoleChanged');
      expect((last.data as { role: { name: string; maxConcurrentTasks: number } }).role).to.include({ name: 'tester', maxConcurrentTasks: 7 });
    });
  });

  describe('when a role was removed from its file', () => {
    it('appends RoleRetired for it, and the API no longer lists it', async () => {
      const dataDir = path.join(dir, 'data');
      const files = copyShipped();
      await withApp(dataDir, files, async () => undefined);
      const defaults = files[0]!;
      const text = fs.readFileSync(defaults, 'utf8');
      const trimmed = text.replace(/\n {2}data_analyst:[\s\S]*$/, '\n');
      expect(trimmed).to.not.equal(text);
      fs.writeFileSync(defaults, trimmed);
      const { added, live } = await withApp(dataDir, files, async (app) => {
        const events = await roleEvents(app);
        const added = events.slice(16).map((e) => [e.type, (e.data as { name?: string }).name]);
        const live = (app.readDb.prepare('SELECT name FROM roles WHERE retired = 0').all() as { name: string }[]).map((r) => r.name);
        return { added, live };
      });
      expect(added).to.deep.equal([['RoleRetired', 'data_analyst']]);
      expect(live).to.not.include('data_analyst');
      expect(live).to.have.length(15);
    });
  });

  describe('when a role file is invalid', () => {
    let bad: string;
    beforeEach(() => {
      bad = path.join(roleDir, 'broken_roles.yaml');
      const text = fs.readFileSync(DEFAULT_ROLE_FILES[0]!, 'utf8').replace(/( {2}generalist:[\s\S]*?max_concurrent_tasks: )null/, '$1"lots"');
      fs.writeFileSync(bad, text);
    });

    it('makes createApp reject with a RoleFileError naming the file and the path inside it', async () => {
      let error: unknown;
      try {
        await withApp(path.join(dir, 'data'), [bad], async () => undefined);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(RoleFileError);
      const roleError = error as RoleFileError;
      expect(roleError.path).to.equal('/roles/generalist/max_concurrent_tasks');
      expect(roleError.message)
        .to.include(bad)
        .and.include('/roles/generalist/max_concurrent_tasks')
        .and.match(/integer/);
    });

    it('refuses a malformed glob in a file, naming its path', async () => {
      fs.writeFileSync(bad, fs.readFileSync(DEFAULT_ROLE_FILES[0]!, 'utf8').replace('"**/*"', '"src/[oops"'));
      const error = await withApp(path.join(dir, 'data'), [bad], async () => undefined).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(RoleFileError);
      expect((error as RoleFileError).message).to.include('/roles/generalist/file_patterns/0');
    });

    it('makes `vespera serve` exit non-zero, printing that message on stderr without a stack trace', async function () {
      this.timeout(60_000);
      const result = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'serve'], {
          cwd: ROOT,
          env: {
            ...process.env,
            VESPERA_ROLE_FILES: bad,
            VESPERA_DATA_DIR: path.join(dir, 'cli-data'),
            VESPERA_PORT: '0',
            VESPERA_LOG_LEVEL: 'silent',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`vespera serve did not exit within 45 s; stderr: ${stderr}`));
        }, 45_000);
        child.on('error', reject);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stderr, stdout });
        });
      });
      expect(result.code).to.not.equal(0);
      expect(result.stderr).to.include(bad).and.include('/roles/generalist/max_concurrent_tasks');
      expect(result.stderr).to.not.match(/^\s+at /m);
      expect(result.stderr).to.not.include('RoleFileError:');
    });
  });
});
