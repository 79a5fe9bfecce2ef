import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { createApp, type App } from '../../src/app.js';
import type { TreeInput } from '../../src/commands/project/commands.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { dumpReadModel, openReadModel } from '../../src/projections/sqlite/readModel.js';
import { buildReadModelAt } from '../../src/projections/sqlite/rebuild.js';
import { SQLITE_PROJECTION_VERSION } from '../../src/projections/sqlite/schema.js';
import { dataFiles } from '../../src/wiring/dataFiles.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/** A tree of `n` tasks, ten children per node, with tags and a description so every table has rows. */
const tree = (n: number, label: string): TreeInput => {
  let made = 1;
  const node = (depth: number): TreeInput => {
    const children: TreeInput[] = [];
    while (depth < 3 && made < n && children.length < 10) {
      made += 1;
      children.push(node(depth + 1));
    }
    return { title: `${label} ${made}`, description: `work item ${made} of ${label}`, tags: [`t${made % 7}`, label], children };
  };
  return node(0);
};

const meta = (i: number) => ({ actor: 'spec', tool: 'cli', commandId: `rebuild-spec-${i}-${Math.random()}` });

/** Creates `trees` trees of 500 tasks in process (fast), then a few dependencies; returns the task ids. */
const seed = async (app: App, trees: number): Promise<string[]> => {
  const ids: string[] = [];
  for (let i = 0; i < trees; i++) {
    const result = await app.commands.createTaskTree({ projectId: 'default', root: tree(500, `tree${i}`) }, meta(i));
    ids.push(...result.taskIds);
  }
  for (let i = 1; i < 40; i++) await app.commands.addDependency(ids[i * 10]!, ids[i * 10 - 1]!, 'hard', meta(1000 + i));
  await app.projector.waitFor(await app.store.headPosition(), 30_000);
  return ids;
};

const waitForJob = async (baseUrl: string, id: string): Promise<JsonResponse> => {
  for (;;) {
    const job = await api(baseUrl, 'GET', `/api/v1/admin/jobs/${id}`);
    if (job.body.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('Blue-green rebuild of the read models (POST /admin/rebuild)', () => {
  describe('given a server with a few thousand events', () => {
    let app: TestApp;
    let ids: string[];
    before(async function () {
      this.timeout(120_000);
      app = await startTestApp();
      ids = await seed(app, 6);
    });
    after(async () => app?.close());

    it('when a rebuild runs, reads keep answering in full and writes made meanwhile are visible after the swap', async function () {
      this.timeout(120_000);
      const total = ids.length;
      const started = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'sqlite' });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      expect(started.body).to.include({ kind: 'rebuild', state: 'running' });
      const answers: number[] = [];
      const incomplete: string[] = [];
      const written: string[] = [];
      let job = started;
      let round = 0;
      while (job.body.state === 'running') {
        round += 1;
        const id = ids[(round * 37) % total]!;
        const [one, page] = await Promise.all([
          api(app.baseUrl, 'GET', `/api/v1/tasks/${id}`),
          api(app.baseUrl, 'GET', `/api/v1/tasks?projectId=default&tag=tree0&limit=200`),
        ]);
        answers.push(one.status, page.status);
        if (one.body?.id !== id || !String(one.body?.title).startsWith('tree')) incomplete.push(`task ${id}: ${JSON.stringify(one.body)}`);
        if (page.body?.items?.length !== 200) incomplete.push(`page of ${page.body?.items?.length}`);
        if (round % 5 === 0) {
          const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: `written during the rebuild ${round}` });
          expect(created.status, JSON.stringify(created.body)).to.equal(201);
          written.push(created.body.id as string);
        }
        job = await api(app.baseUrl, 'GET', `/api/v1/admin/jobs/${started.body.id}`);
      }
      expect(job.body.state, JSON.stringify(job.body)).to.equal('succeeded');
      expect(round, 'reads made while the rebuild ran').to.be.greaterThan(2);
      expect(answers.every((s) => s === 200)).to.equal(true);
      expect(incomplete).to.deep.equal([]);
      expect(job.body.progress.eventsDone).to.be.greaterThan(total);
      expect(job.body.result.models.sqlite.events).to.be.greaterThan(total);
      for (const id of written) expect((await api(app.baseUrl, 'GET', `/api/v1/tasks/${id}`)).status, id).to.equal(200);
      const after = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'written after the swap' });
      expect(after.status).to.equal(201);
      expect((await api(app.baseUrl, 'GET', `/api/v1/tasks/${after.body.id}`)).status).to.equal(200);
    });

    it('then the swapped-in model equals a rebuild from the log, row for row', async function () {
      this.timeout(60_000);
      await app.projector.waitFor(await app.store.headPosition(), 10_000);
      const aside = path.join(app.dataDir, 'compare.db');
      await buildReadModelAt(app.store, aside);
      const fresh = openReadModel(aside);
      try {
        expect(JSON.stringify(dumpReadModel(app.readDb))).to.equal(JSON.stringify(dumpReadModel(fresh)));
      } finally {
        fresh.close();
      }
      expect(fs.existsSync(`${dataFiles(app.dataDir).readModel}.rebuild`)).to.equal(false);
    });

    it('then every kind of reader uses the new model: analytics, search, history, roles and tokens all answer', async function () {
      this.timeout(30_000);
      // Readers that kept statements of the old connection failed here with 500 after the swap (the analytics did).
      const paths = [
        '/api/v1/projects/default/critical-path',
        '/api/v1/projects/default/bottlenecks',
        `/api/v1/tasks/${ids[10]}/analysis`,
        `/api/v1/tasks/${ids[10]}/impact?hours=2`,
        `/api/v1/tasks/${ids[10]}/history`,
        '/api/v1/tasks/dashboard?projectId=default',
        '/api/v1/search?q=tree0&mode=keyword',
        '/api/v1/roles',
        '/api/v1/plugins/me',
      ];
      for (const url of paths) {
        const answer = await api(app.baseUrl, 'GET', url);
        expect(answer.status, `${url}: ${JSON.stringify(answer.body)}`).to.equal(200);
      }
    });

    it('refuses a second rebuild while one runs with 409 JOB_RUNNING', async () => {
      const first = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', {});
      expect(first.status).to.equal(202);
      const second = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'all' });
      expect(second.status).to.equal(409);
      expect(second.body.code).to.equal('JOB_RUNNING');
      expect((await waitForJob(app.baseUrl, first.body.id as string)).body.state).to.equal('succeeded');
    });

    it('refuses the vectors with 409 VECTORS_OFF where they are off, and an unknown model with 400', async () => {
      const vectors = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'vectors' });
      expect(vectors.status).to.equal(409);
      expect(vectors.body).to.include({ code: 'VECTORS_OFF' });
      expect((await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'everything' })).status).to.equal(400);
    });

    it('refuses a caller without audit_admin with 403, even one holding audit_reading', async () => {
      const registered = await api(app.baseUrl, 'POST', '/api/v1/plugins', {
        id: 'auditor',
        name: 'Auditor',
        type: 'agent',
        capabilities: ['task_reading', 'audit_reading'],
      });
      expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
      const issued = await api(app.baseUrl, 'POST', '/api/v1/plugins/auditor/tokens', {});
      expect(issued.status).to.equal(201);
      const refused = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'sqlite' }, { authorization: `Bearer ${issued.body.token}` });
      expect(refused.status).to.equal(403);
    });
  });

  describe('given a server whose graph model holds a few thousand tasks and dependencies', () => {
    let app: TestApp;
    let ids: string[];
    before(async function () {
      this.timeout(120_000);
      app = await startTestApp();
      ids = await seed(app, 4);
      await app.graph.projector.waitFor(await app.store.headPosition(), 30_000);
    });
    after(async () => app?.close());

    it('when the graph is rebuilt, dependency rules keep being enforced and edges added meanwhile are in the swapped-in graph', async function () {
      this.timeout(120_000);
      const started = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'graph' });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      let job = started;
      const added: Array<[string, string]> = [];
      for (let round = 1; job.body.state === 'running'; round++) {
        const [from, to] = [ids[500 + round * 3]!, ids[500 + round * 3 + 1]!];
        const dep = await api(app.baseUrl, 'POST', `/api/v1/tasks/${from}/dependencies`, { dependsOn: to });
        expect(dep.status, JSON.stringify(dep.body)).to.equal(201);
        added.push([from, to]);
        // The reverse edge would close a cycle: refused while the rebuild runs as at any other time.
        const cycle = await api(app.baseUrl, 'POST', `/api/v1/tasks/${to}/dependencies`, { dependsOn: from });
        expect(cycle.status, JSON.stringify(cycle.body)).to.equal(409);
        job = await api(app.baseUrl, 'GET', `/api/v1/admin/jobs/${started.body.id}`);
      }
      expect(job.body.state, JSON.stringify(job.body)).to.equal('succeeded');
      expect(job.body.result.models.graph.tasks).to.be.at.least(ids.length);
      expect(job.body.result.models.graph.swappedAt).to.be.at.least(job.body.result.models.graph.position);
      expect(added.length, 'dependencies added while the rebuild ran').to.be.greaterThan(0);
      await app.graph.projector.waitFor(await app.store.headPosition(), 10_000);
      const { graph } = await app.graph.cut();
      const edges = new Set(graph.edges.map((e) => `${e.taskId}>${e.dependsOn}`));
      for (const [from, to] of added) expect(edges.has(`${from}>${to}`), `${from} depends on ${to}`).to.equal(true);
      expect(fs.existsSync(path.join(app.dataDir, 'graph.kuzu.rebuild'))).to.equal(false);
    });

    it('then the swapped-in graph equals the log, as verify reads it', async function () {
      this.timeout(60_000);
      const verify = await api(app.baseUrl, 'GET', '/api/v1/admin/verify?model=graph');
      expect(verify.status, JSON.stringify(verify.body)).to.equal(202);
      const job = await waitForJob(app.baseUrl, verify.body.id as string);
      expect(job.body.state, JSON.stringify(job.body)).to.equal('succeeded');
      expect(job.body.result.equal, JSON.stringify(job.body.result)).to.equal(true);
    });

    it('then `all` rebuilds SQLite and the graph, one after the other, and new writes reach both', async function () {
      this.timeout(120_000);
      const started = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'all' });
      expect(started.status).to.equal(202);
      const job = await waitForJob(app.baseUrl, started.body.id as string);
      expect(job.body.state, JSON.stringify(job.body)).to.equal('succeeded');
      expect(Object.keys(job.body.result.models)).to.deep.equal(['sqlite', 'graph']);
      const dep = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids[1200]}/dependencies`, { dependsOn: ids[1201] });
      expect(dep.status, JSON.stringify(dep.body)).to.equal(201);
      const cycle = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids[1201]}/dependencies`, { dependsOn: ids[1200] });
      expect(cycle.status).to.equal(409);
    });
  });

  describe('given a read model built by another projector version', () => {
    let dataDir: string;
    let app: App | undefined;
    let ids: string[];
    before(async function () {
      this.timeout(120_000);
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-bluegreen-'));
      const first = await createApp(loadConfig({ VESPERA_LOG_LEVEL: 'silent' }, { dataDir, port: 0, sync: 'normal' }), createLogger('silent'));
      ids = await seed(first, 4);
      await first.stop();
      const db = new Database(dataFiles(dataDir).readModel);
      db.prepare("UPDATE checkpoints SET version = ? WHERE projector = 'sqlite'").run(SQLITE_PROJECTION_VERSION - 1);
      db.close();
    });
    after(async () => {
      await app?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('when the server starts, the old model answers until the new one is swapped in', async function () {
      this.timeout(120_000);
      app = await createApp(
        loadConfig({ VESPERA_LOG_LEVEL: 'silent' }, { dataDir, port: 0, host: '127.0.0.1', sync: 'normal' }),
        createLogger('silent'),
      );
      expect(app.projector.rebuildingAtStart, 'a rebuild was started aside').to.not.equal(undefined);
      const { port } = await app.listen();
      const baseUrl = `http://127.0.0.1:${port}`;
      const token = fs.readFileSync(app.adminTokenFile, 'utf8').trim();
      let done = false;
      void app.projector.rebuildingAtStart!.then(() => (done = true));
      const statuses: number[] = [];
      do {
        const answer = await api(baseUrl, 'GET', `/api/v1/tasks/${ids[statuses.length % ids.length]}`, undefined, {
          authorization: `Bearer ${token}`,
        });
        statuses.push(answer.status);
      } while (!done);
      expect(statuses.length).to.be.greaterThan(0);
      expect(statuses.every((s) => s === 200)).to.equal(true);
      expect(app.projector.projection.checkpoint()).to.equal(await app.store.headPosition());
      const version = app.readDb.prepare<[], { version: number }>("SELECT version FROM checkpoints WHERE projector = 'sqlite'").get()!.version;
      expect(version).to.equal(SQLITE_PROJECTION_VERSION);
    });
  });
});
