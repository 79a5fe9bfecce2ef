import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { KuzuGraphStore } from '../../src/projections/graph/kuzu.js';
import { dataFiles } from '../../src/wiring/dataFiles.js';
import { readServerFile } from '../../src/wiring/serverFile.js';
import { runCli, type CliRun } from '../support/cli.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

type Report = {
  equal: boolean;
  models: Array<{
    model: string;
    equal: boolean;
    position: number;
    tables?: Array<{ table: string; onlyLive: number; onlyRebuilt: number; differing: number; examples: Array<Record<string, any>> }>; // eslint-disable-line @typescript-eslint/no-explicit-any
    nodes?: { missing: number; extra: number; differing: number; examples: Array<Record<string, unknown>> };
    edges?: { missing: number; extra: number; examples: Array<Record<string, unknown>> };
  }>;
};

/** Some real use through REST: a tree, tags, a dependency, an update, a move, a status change and a delete. */
const use = async (app: TestApp) => {
  const post = async (url: string, body: unknown) => {
    const response = await api(app.baseUrl, 'POST', `/api/v1${url}`, body);
    expect(response.status, JSON.stringify(response.body)).to.be.oneOf([200, 201]);
    return response;
  };
  const root = (await post('/tasks', { title: 'Ship the parser', tags: ['parser'] })).body.id as string;
  const child = (await post('/tasks', { title: 'Write the lexer', parentId: root, tags: ['lexer', 'parser'] })).body.id as string;
  const other = (await post('/tasks', { title: 'Benchmark it', priority: 'high' })).body.id as string;
  const doomed = (await post('/tasks', { title: 'Throwaway' })).body.id as string;
  await post(`/tasks/${other}/dependencies`, { dependsOn: child });
  expect((await api(app.baseUrl, 'PATCH', `/api/v1/tasks/${child}`, { title: 'Write the lexer, fast' })).status).to.equal(200);
  await post(`/tasks/${other}/move`, { parentId: root });
  await post(`/tasks/${child}/status`, { status: 'in_progress' });
  const deleted = await api(app.baseUrl, 'DELETE', `/api/v1/tasks/${doomed}`);
  expect(deleted.status).to.equal(200);
  await app.graph.projector.waitFor(Number(deleted.headers.get('x-vespera-position')), 10_000);
  return { root, child, other };
};

const parse = (run: CliRun): Report => {
  expect(run.stdout, run.stderr).to.match(/^\{/);
  return JSON.parse(run.stdout) as Report;
};
const model = (report: Report, name: string) => report.models.find((m) => m.model === name)!;
const table = (report: Report, name: string) => model(report, 'sqlite').tables!.find((t) => t.table === name)!;

describe('vespera verify', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  let dataDir: string;
  let ids: { root: string; child: string; other: string };

  /** A copy of the stopped server's data directory, to tamper with. */
  const copy = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-verify-'));
    fs.cpSync(dataDir, dir, { recursive: true });
    dirs.push(dir);
    return dir;
  };
  const tamper = (dir: string, sql: string, ...params: unknown[]) => {
    const db = new Database(dataFiles(dir).readModel);
    db.prepare(sql).run(...params);
    db.close();
  };

  before(async () => {
    const app = await startTestApp();
    ids = await use(app);
    await app.stop();
    dataDir = app.dataDir;
    dirs.push(dataDir);
  });
  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('when the read models were built by normal use', () => {
    it('exits 0 and reports both models equal at their checkpoints', async () => {
      const run = await runCli(['verify', '--json'], copy());
      expect(run.code, run.stderr).to.equal(0);
      const report = parse(run);
      expect(report.equal).to.equal(true);
      expect(report.models.map((m) => [m.model, m.equal])).to.deep.equal([
        ['sqlite', true],
        ['graph', true],
      ]);
      expect(model(report, 'sqlite').position).to.be.greaterThan(0);
    });

    it('leaves nothing behind in the data directory but an empty tmp/, and does not change the live read model', async () => {
      const dir = copy();
      const before = fs.readFileSync(dataFiles(dir).readModel);
      const run = await runCli(['verify'], dir);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include('Every read model verified equal.');
      expect(fs.readdirSync(dataFiles(dir).tmp)).to.deep.equal([]);
      expect(fs.readFileSync(dataFiles(dir).readModel).equals(before)).to.equal(true);
    });
  });

  describe('when a tasks row was changed in SQLite behind the projector’s back', () => {
    let run: CliRun;
    before(async () => {
      const dir = copy();
      tamper(dir, "UPDATE tasks SET title = 'Tampered', priority = 'low' WHERE id = ?", ids.child);
      run = await runCli(['verify', '--model', 'sqlite', '--json'], dir);
    });

    it('exits 1', () => expect(run.code, run.stderr).to.equal(1));

    it('names the table, the key and the columns, with both values', () => {
      const tasks = table(parse(run), 'tasks');
      expect(tasks).to.include({ differing: 1, onlyLive: 0, onlyRebuilt: 0 });
      expect(tasks.examples).to.deep.equal([
        {
          kind: 'differing',
          key: { id: ids.child },
          columns: [
            { column: 'title', live: 'Tampered', rebuilt: 'Write the lexer, fast' },
            { column: 'priority', live: 'low', rebuilt: 'normal' },
          ],
        },
      ]);
      expect(table(parse(run), 'dependencies')).to.include({ differing: 0, onlyLive: 0, onlyRebuilt: 0 });
    });

    it('says so in its human summary too', async () => {
      const dir = copy();
      tamper(dir, "UPDATE tasks SET title = 'Tampered' WHERE id = ?", ids.child);
      const human = await runCli(['verify', '--model', 'sqlite'], dir);
      expect(human.code).to.equal(1);
      expect(human.stdout).to.include('sqlite at position');
      expect(human.stdout).to.include('DIFFERS');
      expect(human.stdout).to.include(`tasks id=${ids.child}: title live "Tampered", rebuilt "Write the lexer, fast"`);
    });
  });

  describe('when a row was deleted from the live model', () => {
    it('reports it as only in the rebuilt model', async () => {
      const dir = copy();
      tamper(dir, 'DELETE FROM dependencies WHERE task_id = ?', ids.other);
      const run = await runCli(['verify', '--model', 'sqlite', '--json'], dir);
      expect(run.code).to.equal(1);
      const deps = table(parse(run), 'dependencies');
      expect(deps).to.include({ onlyRebuilt: 1, onlyLive: 0, differing: 0 });
      expect(deps.examples[0]).to.deep.include({ kind: 'onlyRebuilt', key: { task_id: ids.other, depends_on: ids.child } });
    });
  });

  describe('when a row was added to the live model', () => {
    it('reports it as only in the live model', async () => {
      const dir = copy();
      tamper(dir, 'INSERT INTO task_tags (tag, task_id) VALUES (?, ?)', 'smuggled', ids.root);
      const run = await runCli(['verify', '--model', 'sqlite', '--json'], dir);
      expect(run.code).to.equal(1);
      const tags = table(parse(run), 'task_tags');
      expect(tags).to.include({ onlyLive: 1, onlyRebuilt: 0, differing: 0 });
      expect(tags.examples[0]).to.deep.include({ kind: 'onlyLive', key: { tag: 'smuggled', task_id: ids.root } });
    });
  });

  describe('when a node is missing from the graph', () => {
    let report: Report;
    let code: number | null;
    before(async () => {
      const dir = copy();
      const graph = KuzuGraphStore.open(dataFiles(dir).graph);
      graph.deleteTask(ids.child);
      graph.close();
      const run = await runCli(['verify', '--model', 'graph', '--json'], dir);
      code = run.code;
      report = parse(run);
    });

    it('exits 1 and names the missing node', () => {
      expect(code).to.equal(1);
      const nodes = model(report, 'graph').nodes!;
      expect(nodes).to.include({ missing: 1, extra: 0, differing: 0 });
      expect(nodes.examples[0]).to.deep.include({ kind: 'missing', id: ids.child });
    });

    it('also names the relationships that went with it', () => {
      const edges = model(report, 'graph').edges!;
      expect(edges.examples).to.deep.equal([{ kind: 'missing', taskId: ids.other, dependsOn: ids.child, expected: 'hard' }]);
    });
  });

  describe('when given a model it does not know', () => {
    it('exits 2 with the choices', async () => {
      const run = await runCli(['verify', '--model', 'everything'], copy());
      expect(run.code).to.equal(2);
      expect(run.stderr).to.include('sqlite, graph, vectors, all');
    });
  });

  describe('when a server runs on the data directory', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp();
      await use(app);
    });
    after(() => app?.close());

    it('announces itself in server.json', () => {
      expect(readServerFile(app.dataDir)).to.deep.include({ pid: process.pid, url: app.baseUrl });
    });

    it('has the server run the check, exits 0, and leaves the server serving', async () => {
      const run = await runCli(['verify', '--json'], app.dataDir);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.include('runs the check');
      expect(parse(run).equal).to.equal(true);
      const after = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Still taking writes' });
      expect(after.status).to.equal(201);
      expect(app.jobs.list()[0]).to.include({ kind: 'verify', state: 'succeeded' });
    });

    it('reports what the server finds: a row tampered with under the running server', async () => {
      app.readDb.prepare("UPDATE tasks SET description = 'edited by hand' WHERE rowid = (SELECT MIN(rowid) FROM tasks)").run();
      const run = await runCli(['verify', '--model', 'sqlite', '--json'], app.dataDir);
      expect(run.code, run.stderr).to.equal(1);
      expect(table(parse(run), 'tasks').examples[0]!.columns).to.deep.equal([{ column: 'description', live: 'edited by hand', rebuilt: '' }]);
    });
  });

  describe('when the server that wrote server.json is gone', () => {
    it('verifies the files itself', async () => {
      const dir = copy();
      fs.writeFileSync(
        dataFiles(dir).server,
        JSON.stringify({ pid: 2 ** 22 + 12_345, url: 'http://127.0.0.1:9', startedAt: new Date().toISOString() }),
      );
      const run = await runCli(['verify', '--json'], dir);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.not.include('runs the check');
    });
  });
});
