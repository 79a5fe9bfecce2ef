import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ChromaClient } from 'chromadb';
import { VECTOR_PROJECTION_VERSION } from '../../src/projections/vectors/vectorProjection.js';
import { CORPUS } from '../queries/search/fixtures/corpus.js';
import { meta, seed, startVectorApp, vectorsCaughtUp } from '../queries/search/support.js';
import { api, restartTestApp, startTestApp, type TestApp } from '../support/testApp.js';

/** GET /admin/verify?model=vectors: the Chroma collections against the texts the log gives every task. */
describe('Verifying the vector read model', function () {
  // Embedded Chroma starts and embeds the seed: on a loaded 2-core machine that outlasts mocha's default.
  this.timeout(180_000);
  let app: TestApp;
  let ids: Map<string, string>;
  const store = () => app.background.vectors!.store!;

  const verify = async (model: string) => {
    const started = await api(app.baseUrl, 'GET', `/api/v1/admin/verify?model=${model}`);
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    let job = started.body;
    for (let i = 0; job.state === 'running' && i < 600; i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (await api(app.baseUrl, 'GET', `/api/v1/admin/jobs/${job.id}`)).body;
    }
    expect(job.state, job.error).to.equal('succeeded');
    return job.result;
  };
  const vectorsOf = (result: { models: Array<{ model: string }> }) => result.models.find((m) => m.model === 'vectors') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  before(async () => {
    app = await startVectorApp();
    ids = await seed(app, CORPUS.slice(0, 12));
    await app.commands.deleteTask(ids.get(CORPUS[0]!.key)!, true, meta());
    await app.commands.updateTask(ids.get(CORPUS[1]!.key)!, { title: 'A title the log changed' }, meta());
    await vectorsCaughtUp(app);
  });
  after(async () => app?.close());

  describe('when the vectors follow the log', () => {
    it('reports one vector per live task with its text’s hash, and all includes the vectors', async () => {
      const result = await verify('all');
      expect(result.models.map((m: { model: string }) => m.model)).to.deep.equal(['sqlite', 'graph', 'vectors']);
      expect(result.equal, JSON.stringify(result)).to.equal(true);
      expect(vectorsOf(result)).to.include({ live: 11, expected: 11, missing: 0, extra: 0, stale: 0 });
    });
  });

  describe('when Chroma lost a vector, kept one of a deleted task and holds one of an older text', () => {
    it('names each task as missing, extra and stale', async () => {
      const lost = ids.get(CORPUS[2]!.key)!;
      const old = ids.get(CORPUS[3]!.key)!;
      const deleted = ids.get(CORPUS[0]!.key)!;
      const [vector] = (await store().vectors('default', [old])).values();
      const metadata = { projectId: 'default', status: 'pending', priority: 'normal', role: '', tags: '', chunk: 0 };
      await store().delete([{ id: lost, projectId: 'default' }]);
      await store().upsert([
        { id: old, vector: vector!, metadata: { ...metadata, hash: 'an-older-text' } },
        { id: deleted, vector: vector!, metadata: { ...metadata, hash: 'a-deleted-task' } },
      ]);
      const report = vectorsOf(await verify('vectors'));
      expect(report).to.include({ equal: false, missing: 1, extra: 1, stale: 1 });
      const kinds = Object.fromEntries(report.examples.map((e: { kind: string; taskId: string }) => [e.kind, e.taskId]));
      expect(kinds).to.deep.equal({ missing: lost, extra: deleted, stale: old });
    });
  });

  describe('when an administrator rebuilds the vectors blue-green (POST /admin/rebuild)', () => {
    const rebuild = async () => {
      const started = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'vectors' });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      return started.body.id as string;
    };
    const job = async (id: string) => (await api(app.baseUrl, 'GET', `/api/v1/admin/jobs/${id}`)).body;
    const search = (q: string) => api(app.baseUrl, 'GET', `/api/v1/search?q=${encodeURIComponent(q)}&mode=semantic&limit=20`);

    it('refuses with 409 EMBEDDINGS_PAUSED while the auto_embedding service is stopped, and starts no job', async () => {
      const jobsBefore = app.jobs.list().length;
      expect((await api(app.baseUrl, 'POST', '/api/v1/services/auto_embedding/stop')).status).to.equal(200);
      try {
        for (const model of ['vectors', 'all']) {
          const refused = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model });
          expect(refused.status, model).to.equal(409);
          expect(refused.body, model).to.include({ code: 'EMBEDDINGS_PAUSED' });
          expect(refused.body.hint).to.include('auto_embedding/start');
        }
      } finally {
        expect((await api(app.baseUrl, 'POST', '/api/v1/services/auto_embedding/start')).status).to.equal(200);
      }
      expect(app.jobs.list()).to.have.length(jobsBefore);
    });

    it('keeps answering searches while it runs, takes in the writes made meanwhile, and repairs what Chroma lost', async () => {
      const lost = ids.get(CORPUS[4]!.key)!;
      await store().delete([{ id: lost, projectId: 'default' }]);
      expect(vectorsOf(await verify('vectors'))).to.include({ equal: false });
      const before = store().generation;
      const id = await rebuild();
      const answers: number[] = [];
      const during = await app.commands.createTask({ title: 'Rotate the signing keys of the release pipeline' }, meta());
      const created = (during.events.find((e) => e.type === 'TaskCreated')!.data as { taskId: string }).taskId;
      do answers.push((await search(CORPUS[5]!.title)).status);
      while ((await job(id)).state === 'running');
      const done = await job(id);
      expect(done.state, done.error).to.equal('succeeded');
      expect(answers.every((status) => status === 200)).to.equal(true);
      expect(done.result.models.vectors).to.include({ generation: before + 1 });
      // 11 tasks lived when it started; the one created meanwhile is seeded or caught up, depending on who came first.
      expect(done.result.models.vectors.tasks).to.be.within(11, 12);
      expect(store().generation).to.equal(before + 1);
      await vectorsCaughtUp(app);
      const report = vectorsOf(await verify('vectors'));
      expect(report, JSON.stringify(report)).to.include({ equal: true, live: 12, expected: 12, missing: 0, extra: 0, stale: 0 });
      const found = (await search('rotate signing keys release')).body.items.map((hit: { id: string }) => hit.id);
      expect(found).to.include(created);
    });

    it('drops the replaced collections and answers from the new generation after a restart', async () => {
      const generation = store().generation;
      const collections = async () => {
        const url = new URL(app.background.vectors!.chromaServer!.url);
        return (await new ChromaClient({ host: url.hostname, port: Number(url.port) }).listCollections({ limit: 10_000 })).map((c) => c.name);
      };
      const names = await collections();
      expect(
        names.filter((n) => n.endsWith('_t')).every((n) => n.includes(`r${generation}_`)),
        names.join(', '),
      ).to.equal(true);
      expect(JSON.parse(fs.readFileSync(path.join(app.dataDir, 'vectors.json'), 'utf8'))).to.include({ generation });
      const position = app.background.vectors!.projector!.status().position;
      app = await restartTestApp(app);
      await app.background.vectors!.booted;
      expect(store().generation).to.equal(generation);
      expect(app.background.vectors!.projector!.status().position).to.be.at.least(position);
      expect(vectorsOf(await verify('vectors'))).to.include({ equal: true, live: 12 });
    });

    it('when the server starts over vectors an older projector version wrote, they answer until the rebuilt ones are swapped in', async () => {
      const { generation } = store();
      const client = new ChromaClient({ host: '127.0.0.1', port: Number(new URL(app.background.vectors!.chromaServer!.url).port) });
      // What an older version left: the same collections under its version's names, and vectors.json naming it.
      const current = `_${VECTOR_PROJECTION_VERSION}r${generation}_`;
      const older = `_${VECTOR_PROJECTION_VERSION - 1}r${generation}_`;
      for (const c of await client.listCollections({ limit: 10_000 })) {
        if (c.name.includes(current)) await c.modify({ name: c.name.replace(current, older) });
      }
      const file = path.join(app.dataDir, 'vectors.json');
      app = await restartTestApp(app, () => {
        const recorded = JSON.parse(fs.readFileSync(file, 'utf8'));
        fs.writeFileSync(file, JSON.stringify({ ...recorded, version: VECTOR_PROJECTION_VERSION - 1 }));
      });
      await app.background.vectors!.booted;
      const rebuilt = app.background.vectors!.projector!.rebuildingAtStart;
      expect(rebuilt, 'a rebuild was started aside').to.not.equal(undefined);
      let swapped = false;
      void rebuilt!.then(() => (swapped = true));
      const answers: Array<{ status: number; hits: number }> = [];
      do {
        const answer = await search(CORPUS[5]!.title);
        answers.push({ status: answer.status, hits: answer.body.items?.length ?? 0 });
      } while (!swapped);
      expect(
        answers.every((a) => a.status === 200 && a.hits > 0),
        JSON.stringify(answers),
      ).to.equal(true);
      expect(store().generation).to.equal(generation + 1);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).to.include({ generation: generation + 1, version: VECTOR_PROJECTION_VERSION });
      const names = (
        await new ChromaClient({ host: '127.0.0.1', port: Number(new URL(app.background.vectors!.chromaServer!.url).port) }).listCollections({
          limit: 10_000,
        })
      ).map((c) => c.name);
      expect(
        names.filter((n) => n.includes(older)),
        names.join(', '),
      ).to.deep.equal([]);
      await vectorsCaughtUp(app);
      expect(vectorsOf(await verify('vectors'))).to.include({ equal: true, live: 12 });
    });
  });

  describe('on a node whose vector model is off', () => {
    let plain: TestApp;
    before(async () => {
      plain = await startTestApp();
    });
    after(() => plain?.close());

    it('refuses vectors with 409 VECTORS_OFF and leaves them out of all', async () => {
      const refused = await api(plain.baseUrl, 'GET', '/api/v1/admin/verify?model=vectors');
      expect(refused.status).to.equal(409);
      expect(refused.body.code).to.equal('VECTORS_OFF');
      const started = await api(plain.baseUrl, 'GET', '/api/v1/admin/verify');
      await plain.jobs.idle();
      const job = plain.jobs.get(started.body.id);
      expect((job.result as { models: Array<{ model: string }> }).models.map((m) => m.model)).to.deep.equal(['sqlite', 'graph']);
    });
  });
});
