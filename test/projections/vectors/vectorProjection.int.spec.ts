import { expect } from 'chai';
import { CHECKPOINT_EVERY_MS } from '../../../src/projections/vectors/vectorProjection.js';
import type { TestApp } from '../../support/testApp.js';
import { CORPUS } from '../../queries/search/fixtures/corpus.js';
import { eventually, meta, seed, startVectorApp, vectorsCaughtUp } from '../../queries/search/support.js';

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

  describe('when a batch changes no vector (claims, heartbeats: most of a busy swarm’s log)', () => {
    it('keeps the stored checkpoint before status moves not written yet, and at most CHECKPOINT_EVERY_MS behind the rest', async () => {
      const taskId = ids.get('auth4')!;
      await app.commands.claimTask(taskId, 'agent-1', 600, undefined, meta());
      await app.commands.heartbeat(taskId, 'agent-1', 600, meta(), undefined, 'reading the code');
      await vectorsCaughtUp(app);
      const before = await snapshot();
      const events = await app.store.readAll({ fromPosition: 0, maxCount: 100_000 });
      const tail = events.slice(-2);
      expect(tail.map((e) => e.type)).to.deep.equal(['TaskClaimed', 'LeaseExtended']);
      const projection = vectors().projector!.projection;
      await projection.reset();
      await projection.applyBatch(events.slice(0, -2));
      await projection.applyBatch(tail);
      expect(projection.checkpoint()).to.equal(tail.at(-1)!.position);
      // The claim's status is written a moment later, with whatever else moved meanwhile; until then a restart resumes before it.
      expect(await vectors().store!.loadCheckpoint()).to.equal(events.at(-3)!.position);
      await eventually(async () => (await vectors().store!.loadCheckpoint()) === tail.at(-1)!.position, 10_000);

      // A heartbeat changes nothing Chroma holds: the checkpoint moves with it only once CHECKPOINT_EVERY_MS passed.
      await app.commands.heartbeat(taskId, 'agent-1', 600, meta(), undefined, 'writing the parser');
      const [heartbeat] = await app.store.readAll({ fromPosition: tail.at(-1)!.position, maxCount: 1 });
      const savedAt = performance.now();
      await projection.applyBatch([heartbeat!]);
      const elapsed = performance.now() - savedAt;
      const stored = await vectors().store!.loadCheckpoint();
      if (elapsed < CHECKPOINT_EVERY_MS) expect(stored).to.equal(tail.at(-1)!.position);

      // A restart from the stored checkpoint re-reads those events and writes nothing new.
      const computed = vectors().cache.stats().computed;
      await projection.applyBatch([...tail, heartbeat!]);
      expect(await snapshot()).to.deep.equal(before);
      expect(vectors().cache.stats().computed).to.equal(computed);
    });
  });

  it('stores filterable metadata beside each vector and follows status changes', async () => {
    await app.commands.changeTaskStatus(ids.get('auth1')!, 'in_progress', undefined, meta());
    await vectorsCaughtUp(app);
    const [vector] = (await vectors().store!.vectors('default', [ids.get('auth1')!])).values();
    const hits = await vectors().store!.query(vector!, { projectId: 'default', filter: { status: ['in_progress'] }, k: 5 });
    expect(hits.map((h) => h.id)).to.deep.equal([ids.get('auth1')]);
  });

  it('follows claims and completions too, within STATUS_EVERY_MS, and keeps the stored checkpoint before the unwritten ones', async () => {
    const taskId = ids.get('auth5')!;
    const [vector] = (await vectors().store!.vectors('default', [taskId])).values();
    const statusInChroma = async (status: string) =>
      (await vectors().store!.query(vector!, { projectId: 'default', filter: { status: [status] }, k: 40 })).some((h) => h.id === taskId);
    const claimed = await app.commands.claimTask(taskId, 'agent-2', 600, undefined, meta());
    await vectorsCaughtUp(app);
    const stored = await vectors().store!.loadCheckpoint();
    if (!(await statusInChroma('in_progress'))) expect(stored).to.be.lessThan(claimed.position);
    await eventually(() => statusInChroma('in_progress'), 10_000);
    expect(await vectors().store!.loadCheckpoint()).to.be.at.least(claimed.position);

    await app.commands.completeTask(taskId, 'agent-2', { output: 'done', artifacts: [], changedFiles: [] }, null, meta());
    await eventually(() => statusInChroma('completed'), 10_000);
    expect(await statusInChroma('in_progress')).to.equal(false);
  });
});
