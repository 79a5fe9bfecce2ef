import { expect } from 'chai';
import { taskChunks } from '../../../src/embeddings/chunks.js';
import { verifyVectors } from '../../../src/projections/vectors/verify.js';
import type { TestApp } from '../../support/testApp.js';
import { LONG_CORPUS } from '../../queries/search/fixtures/taskFiles.js';
import { meta, startVectorApp, vectorsCaughtUp } from '../../queries/search/support.js';

describe('Vector read model of long descriptions (chunks)', function () {
  // Embedded Chroma starts and the embedder works through the chunks: on a loaded 2-core machine that outlasts mocha's default.
  this.timeout(180_000);
  let app: TestApp;
  const vectors = () => app.background.vectors!;
  const long = LONG_CORPUS.find((t) => t.key === 'ledgerline-4')!;
  let taskId: string;

  before(async () => {
    app = await startVectorApp();
    const created = await app.commands.createTask({ title: long.title, description: long.description, tags: long.tags }, meta());
    taskId = created.taskId;
    await vectorsCaughtUp(app);
  });
  after(async () => app?.close());

  it('stores the title chunk under the task id and one record per body chunk, each embedded once', async () => {
    const chunks = taskChunks(long);
    expect(chunks.length).to.be.greaterThan(3);
    expect(await vectors().store!.count()).to.equal(chunks.length);
    expect(vectors().cache.stats().computed).to.equal(chunks.length);
    expect([...(await vectors().store!.vectors('default')).keys()]).to.deep.equal([taskId]);
  });

  it('finds the task by a sentence deep in its body, once, under its own id', async () => {
    const [vector] = await vectors().bulk.embed(['signing secrets rotate: accept both the old and the new secret']);
    const hits = await vectors().store!.query(vector!, { k: 5 });
    expect(hits.map((h) => h.id)).to.deep.equal([taskId]);
  });

  it('drops the chunks a shorter description leaves behind, and computes only the new title chunk', async () => {
    const computed = vectors().cache.stats().computed;
    await app.commands.updateTask(taskId, { description: 'Verify Stripe webhook signatures.' }, meta());
    await vectorsCaughtUp(app);
    expect(await vectors().store!.count()).to.equal(1);
    expect(vectors().cache.stats().computed).to.equal(computed + 1);
  });

  it('rebuilds every chunk from the cache after a reset, computing nothing', async () => {
    await app.commands.updateTask(taskId, { description: long.description }, meta());
    await vectorsCaughtUp(app);
    const computed = vectors().cache.stats().computed;
    const projection = vectors().projector!.projection;
    await projection.reset();
    await projection.applyBatch(await app.store.readAll({ fromPosition: 0, maxCount: 10_000 }));
    expect(await vectors().store!.count()).to.equal(taskChunks(long).length);
    expect(vectors().cache.stats().computed).to.equal(computed);
  });

  it('verifies equal against the log: one record per chunk, each with its chunk’s hash', async () => {
    const report = await verifyVectors({ store: app.store, vectors: vectors().store! });
    expect(report).to.include({ equal: true, live: taskChunks(long).length, expected: taskChunks(long).length, missing: 0, extra: 0, stale: 0 });
  });

  it('drops every chunk of a deleted task', async () => {
    await app.commands.deleteTask(taskId, true, meta());
    await vectorsCaughtUp(app);
    expect(await vectors().store!.count()).to.equal(0);
  });
});
