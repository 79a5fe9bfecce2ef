import { conflict, DomainError } from '../../errors.js';
import { TASK_FIELD_NAMES, type ProjectEvent, type TaskFields } from '../../events/project.js';
import type { Command, StoredEvent } from '../../events/types.js';
import type { DependencyKind, TaskStatus } from '../../events/vocabulary.js';
import { addDependency, removeDependency } from './dependencies.js';
import { requireProject, requireTask } from './guards.js';
import { evolve, parseLinkKey, type ProjectState, type TaskNode } from './project.js';
import { linkTasks, unlinkTasks } from './links.js';
import type { Decision, ProjectRules, Rule } from './rule.js';
import { updateTask } from './status.js';
import { deleteTask, moveTask } from './tree.js';

/**
 * Undo of one request: compensating events that bring the tasks it touched back to what they were just before
 * it. History is never edited; the new events carry `causationId` = the undone request's correlation id.
 *
 * The caller (projectCommands.undoRequest) reads the log: the request's events, the touched tasks as they were
 * before and right after it, and every later event of the stream. The decision here is serialized with every
 * other command of the project and checks, against the state it decides on, that nothing it has not seen came
 * since (else UNDO_STALE, and the caller reads again), that no later event touched those tasks (UNDO_CONFLICT,
 * naming them), and that each compensation still passes the project's own rules (a parent deleted since, a
 * cycle an edge would close now): it runs them, one after the other, through those rules on a copy of the state.
 */

/** A task as the undo needs it: what can be restored. */
export type TaskSnapshot = Readonly<{
  id: string;
  parentId: string | null;
  status: TaskStatus;
  role: string | null;
  fields: TaskFields;
  deps: ReadonlyArray<readonly [string, DependencyKind]>;
  /** Its outgoing typed links (`linkKey`); absent in snapshots planned before links existed. */
  links?: readonly string[];
  depth: number;
  createdAt: string;
}>;

/** An event of the stream: its place, type, the task ids it names and the request that caused it. */
export type EventRef = Readonly<{
  position: number;
  revision: number;
  type: string;
  taskId?: string;
  names: readonly string[];
  /** The request that appended it. */
  correlationId: string;
  causationId?: string;
}>;

export type UndoRequest = Command<
  'UndoRequest',
  {
    correlationId: string;
    undone: readonly EventRef[];
    /** Task ids the request's events name (taskId and dependsOn). */
    touched: readonly string[];
    /** The touched tasks just before the request and right after it (absent: the task did not exist then). */
    before: readonly TaskSnapshot[];
    after: readonly TaskSnapshot[];
    /** Events of the stream after the request's first event that are not the request's own. */
    later: readonly EventRef[];
    /** The stream revision the caller read up to. */
    readUpTo: number;
  }
>;

export const snapshotOf = (task: TaskNode): TaskSnapshot => ({
  id: task.id,
  parentId: task.parentId,
  status: task.status,
  role: task.role,
  fields: task.fields,
  deps: [...task.deps],
  links: [...task.links],
  depth: task.depth,
  createdAt: task.createdAt,
});

/** A copy of the project state the undo may evolve freely (the handler's own state stays untouched). */
const cloneState = (state: ProjectState): ProjectState => {
  const tasks = new Map<string, TaskNode>();
  for (const [id, t] of state.tasks) {
    tasks.set(id, {
      ...t,
      children: new Set(t.children),
      deps: new Map(t.deps),
      dependents: new Set(t.dependents),
      links: new Set(t.links),
      linkedFrom: new Set(t.linkedFrom),
      lease: t.lease && { ...t.lease },
    });
  }
  return {
    ...state,
    tasks,
    ready: new Set(state.ready),
    readyAdded: { ids: [...state.readyAdded.ids], overflow: state.readyAdded.overflow },
    leased: new Set(state.leased),
  };
};

const MAX_NAMED = 20;

/**
 * Later events that touched the request's tasks. A later request that was itself undone later on (its undo is in
 * the log too) cancels out with its undo, so undoing newest first works.
 */
const refuseConflicts = (data: UndoRequest['data']): void => {
  const touched = new Set(data.touched);
  const requests = new Set(data.later.map((e) => e.correlationId));
  const cancelled = new Set(data.later.flatMap((e) => (e.causationId && requests.has(e.causationId) ? [e.causationId] : [])));
  const conflicts = data.later.filter(
    (e) => e.names.some((n) => touched.has(n)) && !cancelled.has(e.correlationId) && !(e.causationId && cancelled.has(e.causationId)),
  );
  if (conflicts.length === 0) return;
  const named = conflicts.slice(0, MAX_NAMED).map(({ position, type, taskId }) => ({ position, type, taskId: taskId ?? null }));
  const list = named.map((e) => `${e.type} of ${e.taskId} at position ${e.position}`).join(', ');
  const details = { correlationId: data.correlationId, laterEvents: named, laterEventCount: conflicts.length };
  if (conflicts.some((e) => e.causationId === data.correlationId)) {
    throw conflict('ALREADY_UNDONE', `Request ${data.correlationId} was already undone (${list}).`, details, 'Undo the undo request to redo it.');
  }
  throw conflict(
    'UNDO_CONFLICT',
    `Request ${data.correlationId} cannot be undone: later events touched the same tasks: ${list}${conflicts.length > MAX_NAMED ? ', …' : ''}.`,
    details,
    'Undo the later requests first (newest first), or change the tasks by hand.',
  );
};

/** Runs one compensation against the copy: its events join the plan, and the copy moves on with them. */
const planner = (state: ProjectState, correlationId: string) => {
  const events: ProjectEvent[] = [];
  const apply = (decision: Decision) => {
    for (const event of Array.isArray(decision) ? decision : [decision as ProjectEvent]) {
      events.push(event);
      evolve(state, {
        ...event,
        id: '',
        metadata: {},
        streamId: '',
        revision: state.revision + 1,
        position: 0,
        recordedAt: '',
      } as unknown as StoredEvent<ProjectEvent>);
    }
  };
  const run = (step: () => Decision) => {
    try {
      apply(step());
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      throw conflict(
        'UNDO_CONFLICT',
        `Request ${correlationId} cannot be undone: the project no longer allows it: ${error.message}`,
        { correlationId, reason: { code: error.code, detail: error.message, ...error.details } },
        'Change the tasks by hand, or undo the later requests first.',
      );
    }
  };
  return { events, run };
};

const plan = (command: UndoRequest, state: ProjectState, rules: ProjectRules): ProjectEvent[] => {
  const { data, metadata } = command;
  const now = metadata.now;
  const projectId = state.projectId;
  const copy = cloneState(state);
  const { events, run } = planner(copy, data.correlationId);
  const before = new Map(data.before.map((t) => [t.id, t]));
  const after = new Map(data.after.map((t) => [t.id, t]));
  const sub = <C extends Command>(type: C['type'], body: C['data']) => ({ type, data: body, metadata }) as C;
  const current = (id: string) => requireTask(copy, id);

  // 1. Edges the request added go (an edge whose kind it changed is set back in step 8).
  for (const a of after.values()) {
    const had = new Map(before.get(a.id)?.deps ?? []);
    for (const [dependsOn] of a.deps) {
      if (!had.has(dependsOn) && copy.tasks.get(a.id)?.deps.has(dependsOn))
        run(() => removeDependency(sub('RemoveDependency', { taskId: a.id, dependsOn }), copy, rules));
    }
  }
  // 1b. Links it added go.
  for (const a of after.values()) {
    const had = new Set(before.get(a.id)?.links ?? []);
    for (const key of a.links ?? []) {
      if (had.has(key) || !copy.tasks.get(a.id)?.links.has(key)) continue;
      const { kind, taskId: target } = parseLinkKey(key);
      run(() => unlinkTasks(sub('UnlinkTasks', { taskId: a.id, kind, target }), copy, rules));
    }
  }
  // 2. Tasks it created go, deepest first.
  const created = [...after.values()].filter((t) => !before.has(t.id)).sort((x, y) => y.depth - x.depth);
  for (const t of created) run(() => deleteTask(sub('DeleteTask', { taskId: t.id, recursive: false }), copy, rules));
  // 3. Tasks it deleted come back, parents first, with their fields and first creation time.
  const deleted = [...before.values()].filter((t) => !after.has(t.id)).sort((x, y) => x.depth - y.depth);
  for (const t of deleted) {
    run(() => {
      if (copy.tasks.has(t.id)) throw conflict('TASK_EXISTS', `Task ${t.id} exists again.`, { taskId: t.id });
      if (t.parentId !== null && current(t.parentId).depth + 1 > rules.maxDepth) {
        throw conflict('DEPTH_LIMIT_EXCEEDED', `Task ${t.id} would sit deeper than ${rules.maxDepth}.`, { taskId: t.id });
      }
      return { type: 'TaskCreated', data: { ...t.fields, taskId: t.id, projectId, parentId: t.parentId, status: 'pending', createdAt: t.createdAt } };
    });
  }
  // 4–7. Parent, fields, status and role of every task that existed before, as they were.
  for (const b of before.values()) {
    const a = after.get(b.id);
    if (a && a.parentId !== b.parentId) run(() => moveTask(sub('MoveTask', { taskId: b.id, parentId: b.parentId }), copy, rules));
    if (a) {
      const changes = Object.fromEntries(
        TASK_FIELD_NAMES.filter((f) => JSON.stringify(a.fields[f]) !== JSON.stringify(b.fields[f])).map((f) => [f, b.fields[f]]),
      );
      if (Object.keys(changes).length > 0) run(() => updateTask(sub('UpdateTask', { taskId: b.id, changes }), copy, rules));
    }
    run(() => {
      const task = current(b.id);
      if (task.status === b.status) return [];
      const reason = `undo of request ${data.correlationId}`;
      return { type: 'TaskStatusChanged', data: { taskId: b.id, projectId, from: task.status, to: b.status, reason, changedAt: now } };
    });
    run(() => {
      const task = current(b.id);
      if (task.role === b.role) return [];
      if (b.role === null) return { type: 'RoleUnassigned', data: { taskId: b.id, projectId, role: task.role!, unassignedAt: now } };
      return { type: 'RoleAssigned', data: { taskId: b.id, projectId, role: b.role, previousRole: task.role, assignedAt: now } };
    });
  }
  // 8. Edges it removed (or whose kind it changed) come back.
  for (const b of before.values()) {
    for (const [dependsOn, kind] of b.deps) {
      if (copy.tasks.get(b.id)?.deps.get(dependsOn) === kind) continue;
      run(() => addDependency(sub('AddDependency', { taskId: b.id, dependsOn, kind }), copy, rules));
    }
  }
  // 9. Links it removed come back.
  for (const b of before.values()) {
    for (const key of b.links ?? []) {
      if (copy.tasks.get(b.id)?.links.has(key)) continue;
      const { kind, taskId: target } = parseLinkKey(key);
      run(() => linkTasks(sub('LinkTasks', { taskId: b.id, kind, target }), copy, rules));
    }
  }
  return events;
};

export const undoRequest: Rule<UndoRequest> = (command, state, rules) => {
  requireProject(state);
  if (state.revision !== command.data.readUpTo) {
    throw conflict('UNDO_STALE', `Project ${state.projectId} moved on while the undo was prepared.`, {
      readUpTo: command.data.readUpTo,
      revision: state.revision,
    });
  }
  refuseConflicts(command.data);
  return plan(command, state, rules);
};

/** The same decision without a handler: what an undo would append now (dry run), refusals included. */
export const planUndo = (command: UndoRequest, state: ProjectState, rules: ProjectRules): ProjectEvent[] =>
  undoRequest(command, state, rules) as ProjectEvent[];
