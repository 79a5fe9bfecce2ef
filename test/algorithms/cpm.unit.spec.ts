import { expect } from 'chai';
import { computeCpm, type CpmEdge, type CpmTask } from '../../src/algorithms/cpm.js';

const task = (id: string, estimate: number | null, status = 'pending'): CpmTask => ({ id, estimate, status });
const hard = (taskId: string, dependsOn: string): CpmEdge => ({ taskId, dependsOn, kind: 'hard' });
const soft = (taskId: string, dependsOn: string): CpmEdge => ({ taskId, dependsOn, kind: 'soft' });
const opts = { defaultEstimate: 8 };

describe('computeCpm', () => {
  describe('on a diamond A → {B, C} → D', () => {
    // B (5 h) is longer than C (2 h): the critical chain is A, B, D and C has 3 h of slack.
    const result = computeCpm(
      [task('A', 1), task('B', 5), task('C', 2), task('D', 3)],
      [hard('B', 'A'), hard('C', 'A'), hard('D', 'B'), hard('D', 'C')],
      opts,
    );

    it('computes the expected duration', () => expect(result.duration).to.equal(9));
    it('schedules every task at its earliest and latest times', () => {
      const t = (id: string) => result.timings.get(id)!;
      expect([t('A').earliestStart, t('A').earliestFinish, t('A').latestStart, t('A').latestFinish]).to.deep.equal([0, 1, 0, 1]);
      expect([t('B').earliestStart, t('B').earliestFinish, t('B').latestStart, t('B').latestFinish]).to.deep.equal([1, 6, 1, 6]);
      expect([t('C').earliestStart, t('C').earliestFinish, t('C').latestStart, t('C').latestFinish]).to.deep.equal([1, 3, 4, 6]);
      expect([t('D').earliestStart, t('D').earliestFinish, t('D').latestStart, t('D').latestFinish]).to.deep.equal([6, 9, 6, 9]);
    });
    it('gives the short branch its slack', () => expect(result.timings.get('C')!.slack).to.equal(3));
    it('marks the long branch critical', () => {
      expect([...result.timings].filter(([, t]) => t.critical).map(([id]) => id)).to.deep.equal(['A', 'B', 'D']);
      expect(result.criticalChains).to.deep.equal([['A', 'B', 'D']]);
    });
  });

  describe('on two parallel chains', () => {
    const result = computeCpm(
      [task('a1', 2), task('a2', 2), task('b1', 3), task('b2', 4), task('c1', 1)],
      [hard('a2', 'a1'), hard('b2', 'b1')],
      opts,
    );
    it('ends with the longer chain', () => expect(result.duration).to.equal(7));
    it('gives the shorter chains their slack', () => {
      expect(result.timings.get('a1')!.slack).to.equal(3);
      expect(result.timings.get('a2')!.slack).to.equal(3);
      expect(result.timings.get('c1')!.slack).to.equal(6);
    });
    it('reports only the longer chain as critical', () => expect(result.criticalChains).to.deep.equal([['b1', 'b2']]));
  });

  describe('when two chains tie', () => {
    it('reports both critical chains', () => {
      const result = computeCpm([task('a', 2), task('b', 3), task('c', 3), task('d', 2)], [hard('b', 'a'), hard('d', 'c')], opts);
      expect(result.duration).to.equal(5);
      expect(result.criticalChains).to.deep.equal([
        ['a', 'b'],
        ['c', 'd'],
      ]);
    });
  });

  describe('when a dependency is soft', () => {
    it('does not constrain the schedule', () => {
      const result = computeCpm([task('A', 4), task('B', 3)], [soft('B', 'A')], opts);
      expect(result.duration).to.equal(4);
      expect(result.timings.get('B')!.earliestStart).to.equal(0);
      expect(result.timings.get('B')!.slack).to.equal(1);
    });
  });

  describe('when estimates are missing', () => {
    const result = computeCpm([task('A', null), task('B', 2)], [hard('B', 'A')], opts);
    it('uses the default estimate', () => expect(result.duration).to.equal(10));
    it('flags the tasks', () => {
      expect(result.missingEstimates).to.deep.equal(['A']);
      expect(result.timings.get('A')!.estimated).to.equal(false);
      expect(result.timings.get('B')!.estimated).to.equal(true);
    });
  });

  describe('when tasks are done', () => {
    it('counts completed and cancelled tasks as 0 hours and leaves them out of the chains', () => {
      const result = computeCpm(
        [task('A', 5, 'completed'), task('X', 9, 'cancelled'), task('B', 2), task('C', 1)],
        [hard('B', 'A'), hard('C', 'B')],
        opts,
      );
      expect(result.duration).to.equal(3);
      expect(result.timings.get('A')!.duration).to.equal(0);
      expect(result.timings.get('X')!.duration).to.equal(0);
      expect(result.criticalChains).to.deep.equal([['B', 'C']]);
    });
  });

  describe('with edges outside the task set', () => {
    it('ignores them', () => {
      const result = computeCpm([task('A', 1)], [hard('A', 'ghost'), hard('ghost', 'A')], opts);
      expect(result.duration).to.equal(1);
    });
  });

  describe('when a cycle slipped in', () => {
    it('throws', () => {
      expect(() => computeCpm([task('A', 1), task('B', 1)], [hard('A', 'B'), hard('B', 'A')], opts)).to.throw(/cycle/);
    });
  });

  describe('at 10,000 tasks', () => {
    it('takes less than 50 ms (median of 5, after warm-up)', () => {
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const tasks = Array.from({ length: 10_000 }, (_, i) => task(`t${i}`, i % 7 === 0 ? null : 1 + (i % 5), i % 11 === 0 ? 'completed' : 'pending'));
      const edges: CpmEdge[] = [];
      for (let i = 1; i < 10_000; i++) for (let k = 0; k < 3; k++) edges.push(hard(`t${i}`, `t${Math.max(0, i - 1 - Math.floor(random() * 200))}`));
      for (let i = 0; i < 5; i++) computeCpm(tasks, edges, opts);
      const times: number[] = [];
      let result = computeCpm(tasks, edges, opts);
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        result = computeCpm(tasks, edges, opts);
        times.push(performance.now() - started);
      }
      expect(times.sort((a, b) => a - b)[2]).to.be.below(50);
      expect(result.criticalChains.length).to.be.greaterThan(0);
    });
  });
});
