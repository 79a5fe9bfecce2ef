import { expect } from 'chai';
import { GraphFold, compareGraphs } from '../../../src/projections/graph/verify.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';

/** The expected graph of verify: one fold of the log, fed by another reader's batches or reading the log itself. */
describe('The graph verify expects', function () {
  this.timeout(60_000);
  let app: TestApp;
  let head: number;
  let mid: number;

  before(async () => {
    app = await startTestApp();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push((await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: `t${i}`, ...(i ? { parentId: ids[0] } : {}) })).body.id);
    mid = await app.store.headPosition();
    await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids[2]}/dependencies`, { dependsOn: ids[1] });
    await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids[3]}/move`, { parentId: ids[2] });
    await api(app.baseUrl, 'DELETE', `/api/v1/tasks/${ids[1]}`);
    head = await app.store.headPosition();
  });
  after(() => app?.close());

  const alone = (until: number) => new GraphFold(until).finish(app.store);

  describe('when fed the whole log by another reader but cut earlier', () => {
    it('stops at its own position', async () => {
      const fold = new GraphFold(mid);
      fold.take(await app.store.readAll({ fromPosition: 0, maxCount: 100_000 }));
      const expected = await alone(mid);
      expect(await fold.finish(app.store)).to.deep.equal(expected);
      expect(expected.tasks).to.have.length(6);
      expect(expected.edges).to.deep.equal([]);
    });
  });

  describe('when fed only part of the log and cut later', () => {
    it('reads the rest itself and ends where a fold of the whole log ends', async () => {
      const fold = new GraphFold(head);
      fold.take(await app.store.readAll({ fromPosition: 0, maxCount: mid }));
      expect(fold.at).to.equal(mid);
      const whole = await alone(head);
      expect(await fold.finish(app.store)).to.deep.equal(whole);
      expect(whole.tasks).to.have.length(5);
    });
  });

  describe('when compared with a graph that lost a task', () => {
    it('reports the task missing and the tree link with it', async () => {
      const whole = await alone(head);
      const lost = whole.children[0]!.taskId;
      const live = { ...whole, tasks: whole.tasks.filter((t) => t.id !== lost), children: whole.children.filter((c) => c.taskId !== lost) };
      const diff = compareGraphs(live, whole);
      expect(diff.nodes).to.include({ missing: 1, extra: 0, differing: 0 });
      expect(diff.children.examples).to.deep.equal([{ kind: 'missing', taskId: lost, parentId: whole.children[0]!.parentId }]);
    });

    it('reports a differing field with both values', async () => {
      const whole = await alone(head);
      const live = { ...whole, tasks: whole.tasks.map((t, i) => (i === 0 ? { ...t, status: 'completed' } : t)) };
      expect(compareGraphs(live, whole).nodes.examples).to.deep.equal([
        { kind: 'differing', id: whole.tasks[0]!.id, fields: [{ field: 'status', live: 'completed', expected: 'pending' }] },
      ]);
    });
  });
});
