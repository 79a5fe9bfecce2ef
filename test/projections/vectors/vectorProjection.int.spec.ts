import { expect } from 'chai';
import type { TestApp } from '../../support/testApp.js';
import { CORPUS } from '../../queries/search/fixtures/corpus.js';
import { meta, seed, startVectorApp, vectorsCaughtUp } from '../../queries/search/support.js';

describe('Vector read model', function () {
  // Embedded Chroma starts and the embedder works through the seed: on a loaded 2-core machine that outlasts
  // mocha's 30 s default, and vectorsCaughtUp allows 60 s itself.
  this.timeout(180_000);
  let app: TestApp;
  let ids: Map<string, string>;
  const vectors = () => app.background.vectors!;
  const snapshot = async () => {
    const stored = await vectors().store!.vectors('default');
    return [...stored]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, v]) => [
        id,
        Array.from(v)
          .map((x) => x.toFixed(5))
          .join(','),
      ]);
  };

  before(async () => {
    app = await startVectorApp();
    ids = await seed(app, CORPUS.slice(0, 40));
    await app.commands.deleteTask(ids.get('auth2')!, true, meta());
    await app.commands.updateTask(ids.get('auth3')!, { title: 'Password reset link expires after ten minutes' }, meta());
    await vectorsCaughtUp(app);
  });
  after(async () => app?.close());

  it('holds one vector per live task, deletes included', async () => {
    const stored = await vectors().store!.vectors('default');
    expect(stored.size).to.equal(39);
    expect(stored.has(ids.get('auth2')!)).to.equal(false);
  });

  it('embeds only what is live when the batch is applied: 39 texts, none for the deleted task or the replaced title', () => {
    expect(vectors().cache.stats().computed).to.equal(39);
  });

  describe('when replayed twice from the log', () => {
    it('rebuilds the same vectors and computes nothing new (cache hits)', async () => {
      const before = await snapshot();
      const computed = vectors().cache.stats().computed;
      const projection = vectors().projector!.projection;
      const events = await app.store.readAll({ fromPosition: 0, maxCount: 100_000 });
      await projection.reset();
      await projection.applyBatch(events);
      expect(await snapshot()).to.deep.equal(before);
      await projection.applyBatch(events);
      expect(await snapshot()).to.deep.equal(before);
      expect(vectors().cache.stats().computed).to.equal(computed);
      expect(projection.checkpoint()).to.equal(events.at(-1)!.position);
    });
  });

  it('stores filterable metadata beside each vector and follows status changes', async () => {
    await app.commands.changeTaskStatus(ids.get('auth1')!, 'in_progress', undefined, meta());
    await vectorsCaughtUp(app);
    const [vector] = (await vectors().store!.vectors('default', [ids.get('auth1')!])).values();
    const hits = await vectors().store!.query(vector!, { projectId: 'default', filter: { status: ['in_progress'] }, k: 5 });
    expect(hits.map((h) => h.id)).to.deep.equal([ids.get('auth1')]);
  });
});
