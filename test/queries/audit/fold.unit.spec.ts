import { expect } from 'chai';
import type { ProjectEvent } from '../../../src/events/project.js';
import { diffTask } from '../../../src/queries/audit/diff.js';
import { emptyFold, foldEvents, projectSummary, taskView } from '../../../src/queries/audit/fold.js';
import { storedEvents } from '../../support/deciderSpec.js';

/** The audit fold, pure: given project events, when folded up to a position, then the task views. */

const P = 'p1';
const T = '2026-01-01T00:00:00.000Z';
const later = (minutes: number) => new Date(Date.parse(T) + minutes * 60_000).toISOString();
const fields = { description: '', priority: 'normal', tags: [], estimate: 1, files: [], requiredCapabilities: [], metadata: {} } as const;
const created = (taskId: string, parentId: string | null = null, title = taskId): ProjectEvent => ({
  type: 'TaskCreated',
  data: {
    ...fields,
    tags: [],
    files: [],
    requiredCapabilities: [],
    metadata: {},
    taskId,
    projectId: P,
    parentId,
    title,
    status: 'pending',
    createdAt: T,
  },
});
const project: ProjectEvent = { type: 'ProjectCreated', data: { projectId: P, name: 'P', description: '', createdAt: T } };

const foldUpTo = (events: readonly ProjectEvent[], upTo?: number) => foldEvents(emptyFold(P), storedEvents(events, 0, `project-${P}`), upTo);

describe('The audit fold', () => {
  describe('given a claim, a heartbeat and a completion', () => {
    const events: ProjectEvent[] = [
      project,
      created('a'),
      created('b'),
      { type: 'DependencyAdded', data: { taskId: 'b', projectId: P, dependsOn: 'a', kind: 'hard', addedAt: later(1) } },
      {
        type: 'TaskClaimed',
        data: { taskId: 'a', projectId: P, agent: 'ag', role: 'coder', from: 'pending', leaseExpiresAt: later(10), claimedAt: later(2) },
      },
      { type: 'LeaseExtended', data: { taskId: 'a', projectId: P, agent: 'ag', leaseExpiresAt: later(20), extendedAt: later(3) } },
      {
        type: 'TaskCompleted',
        data: {
          taskId: 'a',
          projectId: P,
          agent: 'ag',
          status: 'completed',
          output: 'ok',
          artifacts: ['x'],
          changedFiles: [],
          warnings: [],
          completedAt: later(4),
        },
      },
    ];

    it('when folded to the heartbeat, then the task is in progress, claimed until the extended lease, with the claim role', () => {
      const fold = foldUpTo(events, 6);
      expect(taskView(fold, fold.tasks.get('a')!)).to.include({
        status: 'in_progress',
        claimedBy: 'ag',
        leaseExpiresAt: later(20),
        role: 'coder',
        version: 5,
      });
      expect(taskView(fold, fold.tasks.get('b')!)).to.include({ ready: false, openDependencies: 1 });
    });

    it('when folded to the end, then the claim is over, the report is kept and the dependent is ready', () => {
      const fold = foldUpTo(events);
      const a = taskView(fold, fold.tasks.get('a')!);
      expect(a).to.include({ status: 'completed', claimedBy: null, leaseExpiresAt: null, updatedAt: later(4) });
      expect(a.result).to.deep.equal({ agent: 'ag', output: 'ok', artifacts: ['x'], changedFiles: [], warnings: [], completedAt: later(4) });
      expect(taskView(fold, fold.tasks.get('b')!)).to.include({ ready: true, openDependencies: 0 });
      expect(projectSummary(fold).byStatus).to.include({ completed: 1, pending: 1 });
    });
  });

  describe('given a task deleted and created again (an undo)', () => {
    const events: ProjectEvent[] = [
      project,
      created('a'),
      { type: 'TaskDeleted', data: { taskId: 'a', projectId: P, deletedAt: later(1) } },
      created('a', null, 'back'),
    ];

    it('when folded to the delete, then the task is gone with a tombstone naming the position', () => {
      const fold = foldUpTo(events, 3);
      expect(fold.tasks.has('a')).to.equal(false);
      expect(fold.deleted.get('a')).to.deep.include({ position: 3 });
    });

    it('when folded to the end, then it is back and the tombstone gone', () => {
      const fold = foldUpTo(events);
      expect(fold.tasks.get('a')!.title).to.equal('back');
      expect(fold.deleted.has('a')).to.equal(false);
    });
  });

  describe('given a move under a deeper parent', () => {
    it('then the depth follows the new parent chain', () => {
      const fold = foldUpTo([
        project,
        created('r'),
        created('c', 'r'),
        created('x'),
        { type: 'TaskMoved', data: { taskId: 'x', projectId: P, fromParentId: null, toParentId: 'c', movedAt: later(1) } },
      ]);
      expect(taskView(fold, fold.tasks.get('x')!)).to.include({ parentId: 'c', depth: 2 });
    });
  });

  describe('a diff of one task', () => {
    it('is nothing when only the version moved, and lists a changed field and a kind change otherwise', () => {
      const fold = foldUpTo([project, created('a'), created('b')]);
      const before = taskView(fold, fold.tasks.get('a')!);
      expect(diffTask(before, { ...before, version: 9, updatedAt: later(5) })).to.equal(undefined);
      const after = { ...before, title: 'A!', dependencies: [{ dependsOn: 'b', kind: 'soft' as const }] };
      const diff = diffTask({ ...before, dependencies: [{ dependsOn: 'b', kind: 'hard' }] }, after)!;
      expect(diff.changes).to.deep.equal([{ field: 'title', before: 'a', after: 'A!' }]);
      expect(diff.dependencies).to.deep.equal({ added: [], removed: [], kindChanged: [{ dependsOn: 'b', before: 'hard', after: 'soft' }] });
    });
  });
});
