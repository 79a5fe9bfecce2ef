import { expect } from 'chai';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import { snapshotOf, type EventRef, type UndoRequest } from '../../../src/commands/project/undo.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import { deciderSpec, fold } from '../../support/deciderSpec.js';

/**
 * UndoRequest in the Project decider, pure: the conflict check and the compensations decided against the state
 * the command meets. What the caller reads of the log (snapshots before and after, later events) is built here
 * from the same events.
 */

const P = 'p1';
const T = '2026-01-01T00:00:00.000Z';
const decider = projectDecider();
const spec = deciderSpec(decider);

const project: ProjectEvent = { type: 'ProjectCreated', data: { projectId: P, name: 'P', description: '', createdAt: T } };
const created = (taskId: string): ProjectEvent => ({
  type: 'TaskCreated',
  data: {
    taskId,
    projectId: P,
    parentId: null,
    title: taskId,
    description: '',
    priority: 'normal',
    tags: [],
    estimate: null,
    files: [],
    requiredCapabilities: [],
    metadata: {},
    status: 'pending',
    createdAt: T,
  },
});
const edge = (taskId: string, dependsOn: string): ProjectEvent => ({
  type: 'DependencyAdded',
  data: { taskId, projectId: P, dependsOn, kind: 'hard', addedAt: T },
});
const unedge = (taskId: string, dependsOn: string): ProjectEvent => ({
  type: 'DependencyRemoved',
  data: { taskId, projectId: P, dependsOn, removedAt: T },
});

const ref = (revision: number, event: ProjectEvent, correlationId: string, causationId?: string): EventRef => {
  const data = event.data as Record<string, unknown>;
  const names = ['taskId', 'dependsOn'].map((k) => data[k]).filter((v): v is string => typeof v === 'string');
  return {
    position: revision + 1,
    revision,
    type: event.type,
    taskId: data.taskId as string,
    names,
    correlationId,
    ...(causationId ? { causationId } : {}),
  };
};

/** An undo of the events at `request` (indexes into `events`), the rest after it being later events. */
const undo = (events: ProjectEvent[], request: number[], overrides: Partial<UndoRequest['data']> = {}): ProjectCommand => {
  const first = Math.min(...request);
  const last = Math.max(...request);
  const touched = [...new Set(request.flatMap((i) => ref(i, events[i]!, 'r').names))];
  const snapshot = (upTo: number) =>
    touched.flatMap((id) => {
      const task = fold(decider, events.slice(0, upTo)).tasks.get(id);
      return task ? [snapshotOf(task)] : [];
    });
  const later = events.flatMap((e, i) => (i > first && !request.includes(i) ? [ref(i, e, `later-${i}`)] : []));
  return {
    type: 'UndoRequest',
    data: {
      correlationId: 'r',
      undone: request.map((i) => ref(i, events[i]!, 'r')),
      touched,
      before: snapshot(first),
      after: snapshot(last + 1),
      later,
      readUpTo: events.length - 1,
      ...overrides,
    },
    metadata: { now: T, commandId: 'undo-1', actor: 'admin', tool: 'test', causationId: 'r' },
  };
};

describe('UndoRequest', () => {
  const base = [project, created('a'), created('b'), created('x'), created('y')];

  it('given a removed edge, when undone, then the edge comes back', () => {
    const events = [...base, edge('a', 'b'), unedge('a', 'b')];
    spec
      .given(events)
      .when(undo(events, [6]))
      .then([{ type: 'DependencyAdded', data: { taskId: 'a', projectId: P, dependsOn: 'b', kind: 'hard', addedAt: T } }]);
  });

  it('given a later edge elsewhere that would close a cycle with the restored one, then it refuses with UNDO_CONFLICT and the cycle', () => {
    // Before the request: a → b → x and y → a. The request removes a → b; later x → y is added (touching neither a nor b).
    const events = [...base, edge('a', 'b'), edge('b', 'x'), edge('y', 'a'), unedge('a', 'b'), edge('x', 'y')];
    spec
      .given(events)
      .when(undo(events, [8]))
      .thenThrows('UNDO_CONFLICT', (error) => expect(error.details.reason).to.include({ code: 'DEPENDENCY_CYCLE' }));
  });

  it('given a later event on a touched task, then it refuses with UNDO_CONFLICT naming it', () => {
    const events = [...base, edge('a', 'b'), unedge('a', 'b')];
    spec
      .given(events)
      .when(undo(events, [5]))
      .thenThrows('UNDO_CONFLICT', (error) =>
        expect(error.details.laterEvents).to.deep.equal([{ position: 7, type: 'DependencyRemoved', taskId: 'a' }]),
      );
  });

  it('given a later request that was undone itself, then it no longer conflicts', () => {
    const events = [...base, edge('a', 'b'), unedge('a', 'b'), edge('a', 'b')];
    const command = undo(events, [5]);
    const data = command.data as UndoRequest['data'];
    const later = [ref(6, events[6]!, 'r2'), ref(7, events[7]!, 'r3', 'r2')];
    spec
      .given(events)
      .when({ ...command, data: { ...data, later } } as ProjectCommand)
      .then([{ type: 'DependencyRemoved', data: { taskId: 'a', projectId: P, dependsOn: 'b', removedAt: T } }]);
  });

  it('given a state that moved past what the caller read, then it refuses with UNDO_STALE (the caller reads again)', () => {
    const events = [...base, edge('a', 'b')];
    spec
      .given(events)
      .when(undo(events, [5], { readUpTo: 4 }))
      .thenThrows('UNDO_STALE');
  });
});
