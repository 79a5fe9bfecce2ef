import { expect } from 'chai';
import type { CpmEdge, CpmTask } from '../../src/algorithms/cpm.js';
import { slipImpact } from '../../src/algorithms/slipImpact.js';

const task = (id: string, estimate: number | null): CpmTask => ({ id, estimate, status: 'pending' });
const hard = (taskId: string, dependsOn: string): CpmEdge => ({ taskId, dependsOn, kind: 'hard' });
const opts = { defaultEstimate: 8 };

// Diamond: A (1) → B (5) / C (2) → D (3); C has 3 h of slack, the project takes 9 h.
const tasks = [task('A', 1), task('B', 5), task('C', 2), task('D', 3), task('E', 1)];
const edges = [hard('B', 'A'), hard('C', 'A'), hard('D', 'B'), hard('D', 'C')];

describe('slipImpact', () => {
  describe('when a critical task slips', () => {
    const impact = slipImpact(tasks, edges, 'B', 4, opts);
    it('moves the project end by the slip', () => {
      expect(impact.durationBefore).to.equal(9);
      expect(impact.durationAfter).to.equal(13);
      expect(impact.projectEndMoves).to.equal(true);
      expect(impact.absorbed).to.equal(0);
    });
    it('moves only what waits on it', () => expect(impact.moved).to.deep.equal([{ id: 'D', shift: 4, slackBefore: 0 }]));
  });

  describe('when the slip fits in the slack', () => {
    const impact = slipImpact(tasks, edges, 'C', 2, opts);
    it('moves nothing and keeps the end', () => {
      expect(impact.moved).to.deep.equal([]);
      expect(impact.projectEndMoves).to.equal(false);
      expect(impact.absorbed).to.equal(2);
    });
  });

  describe('when the slip exceeds the slack', () => {
    const impact = slipImpact(tasks, edges, 'C', 5, opts);
    it('moves the end by the excess only', () => {
      expect(impact.durationAfter).to.equal(11);
      expect(impact.absorbed).to.equal(3);
      expect(impact.moved).to.deep.equal([{ id: 'D', shift: 2, slackBefore: 0 }]);
    });
  });

  describe('when an independent task slips', () => {
    it('moves nothing else', () => {
      const impact = slipImpact(tasks, edges, 'E', 3, opts);
      expect(impact.movedCount).to.equal(0);
      expect(impact.projectEndMoves).to.equal(false);
    });
  });

  describe('when the first task slips', () => {
    it('moves every task after it, largest shift first', () => {
      const impact = slipImpact(tasks, edges, 'A', 1, opts);
      expect(impact.moved.map((m) => [m.id, m.shift])).to.deep.equal([
        ['B', 1],
        ['C', 1],
        ['D', 1],
      ]);
      expect(impact.movedCount).to.equal(3);
    });
  });
});
