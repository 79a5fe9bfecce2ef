import { isOpenStatus, isReady } from '../../algorithms/readiness.js';
import { PROJECT_EVENT_TYPES, type ProjectEvent, type TaskFields } from '../../events/project.js';
import type { StoredEvent } from '../../events/types.js';
import type { TaskLink, TaskResult, TaskView } from '../tasks.js';
import { TASK_STATUSES, type DependencyKind, type LinkKind, type TaskStatus } from '../../events/vocabulary.js';

/**
 * The state of one project stream folded from its events alone: the audit's answer to "what did it look like
 * then". It never reads a read model, and it mirrors what the SQLite projection keeps for a task (version,
 * updatedAt, the claim, the completion report), so a fold up to the head equals what `GET /tasks/:id` shows.
 * Pure: events in, state out; `applyEvent` mutates the state it is given (a project may hold 100,000 tasks).
 */

export type FoldedTask = TaskFields & {
  id: string;
  projectId: string;
  parentId: string | null;
  status: TaskStatus;
  role: string | null;
  /** Outgoing edges: the tasks this one depends on, with their kind. */
  deps: Map<string, DependencyKind>;
  /** Typed links from this task (`kind target` → when linked) and to it (`kind source` → when linked). */
  links: Map<string, string>;
  linkedFrom: Map<string, string>;
  claimedBy: string | null;
  leaseExpiresAt: string | null;
  statusNote: { note: string; at: string } | null;
  result: TaskResult | null;
  /** Stream revision of the last event that changed the task (its ETag then). */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Global position of its TaskCreated: the order tasks are listed in. */
  createdPosition: number;
};

export type Tombstone = { position: number; recordedAt: string };

export type ProjectFold = {
  projectId: string;
  exists: boolean;
  name: string;
  description: string;
  createdAt: string | null;
  /** Time of the last event that changed a task (the project's `updatedAt`), or its creation. */
  updatedAt: string | null;
  tasks: Map<string, FoldedTask>;
  /** Tasks deleted so far, with when. */
  deleted: Map<string, Tombstone>;
  /** Stream revision and global position of the last event folded (-1 and 0 before the first). */
  revision: number;
  position: number;
};

export const emptyFold = (projectId: string): ProjectFold => ({
  projectId,
  exists: false,
  name: '',
  description: '',
  createdAt: null,
  updatedAt: null,
  tasks: new Map(),
  deleted: new Map(),
  revision: -1,
  position: 0,
});

const touch = (task: FoldedTask, event: StoredEvent, at: string): void => {
  task.version = event.revision;
  task.updatedAt = at;
};

const endClaim = (task: FoldedTask): void => {
  task.claimedBy = null;
  task.leaseExpiresAt = null;
  task.statusNote = null;
};

/** Applies one event of the project's stream (events of other aggregates are ignored). */
export const applyEvent = (fold: ProjectFold, event: StoredEvent): ProjectFold => {
  if (!PROJECT_EVENT_TYPES.has(event.type)) return fold;
  fold.revision = event.revision;
  fold.position = event.position;
  const e = { type: event.type, data: event.data } as ProjectEvent;
  if (e.type === 'ProjectCreated') {
    Object.assign(fold, {
      exists: true,
      name: e.data.name,
      description: e.data.description,
      createdAt: e.data.createdAt,
      updatedAt: e.data.createdAt,
    });
    return fold;
  }
  fold.updatedAt = event.recordedAt;
  if (e.type === 'TaskCreated') {
    // Built field by field (no rest or spread): a fold creates every task of a project, and this stays a fast object shape.
    const d = e.data;
    fold.deleted.delete(d.taskId);
    fold.tasks.set(d.taskId, {
      title: d.title,
      description: d.description,
      priority: d.priority,
      tags: d.tags,
      estimate: d.estimate,
      files: d.files,
      requiredCapabilities: d.requiredCapabilities,
      metadata: d.metadata,
      id: d.taskId,
      projectId: d.projectId,
      parentId: d.parentId,
      status: 'pending',
      role: null,
      deps: new Map(),
      links: new Map(),
      linkedFrom: new Map(),
      claimedBy: null,
      leaseExpiresAt: null,
      statusNote: null,
      result: null,
      version: event.revision,
      createdAt: d.createdAt,
      updatedAt: d.createdAt,
      createdPosition: event.position,
    });
    return fold;
  }
  if (e.type === 'TaskDeleted') {
    // The decider removes every edge of a deleted task first (DependencyRemoved); views skip any left over.
    fold.tasks.delete(e.data.taskId);
    fold.deleted.set(e.data.taskId, { position: event.position, recordedAt: event.recordedAt });
    return fold;
  }
  if (e.type === 'FilesMarked' || e.type === 'FilesUnmarked') return fold; // advisory, no task changes
  const task = fold.tasks.get(e.data.taskId);
  if (!task) return fold;
  switch (e.type) {
    case 'TaskUpdated':
      Object.assign(task, e.data.changes);
      touch(task, event, e.data.updatedAt);
      return fold;
    case 'TaskMoved':
      task.parentId = e.data.toParentId;
      touch(task, event, e.data.movedAt);
      return fold;
    case 'TaskStatusChanged':
      if (e.data.from === 'in_progress') endClaim(task);
      task.status = e.data.to;
      touch(task, event, e.data.changedAt);
      return fold;
    case 'DependencyAdded':
      task.deps.set(e.data.dependsOn, e.data.kind);
      touch(task, event, e.data.addedAt);
      return fold;
    case 'DependencyRemoved':
      task.deps.delete(e.data.dependsOn);
      touch(task, event, e.data.removedAt);
      return fold;
    case 'TaskLinked':
      task.links.set(`${e.data.kind} ${e.data.target}`, e.data.linkedAt);
      fold.tasks.get(e.data.target)?.linkedFrom.set(`${e.data.kind} ${task.id}`, e.data.linkedAt);
      touch(task, event, e.data.linkedAt);
      return fold;
    case 'TaskUnlinked':
      task.links.delete(`${e.data.kind} ${e.data.target}`);
      fold.tasks.get(e.data.target)?.linkedFrom.delete(`${e.data.kind} ${task.id}`);
      touch(task, event, e.data.unlinkedAt);
      return fold;
    case 'RoleAssigned':
      task.role = e.data.role;
      touch(task, event, e.data.assignedAt);
      return fold;
    case 'RoleUnassigned':
      task.role = null;
      touch(task, event, e.data.unassignedAt);
      return fold;
    case 'TaskClaimed':
      Object.assign(task, { status: 'in_progress', claimedBy: e.data.agent, leaseExpiresAt: e.data.leaseExpiresAt, statusNote: null });
      if (e.data.role) task.role = e.data.role;
      touch(task, event, e.data.claimedAt);
      return fold;
    case 'LeaseExtended':
      task.leaseExpiresAt = e.data.leaseExpiresAt;
      if (e.data.note !== undefined) task.statusNote = e.data.note ? { note: e.data.note, at: e.data.extendedAt } : null;
      touch(task, event, e.data.extendedAt);
      return fold;
    case 'TaskReleased':
    case 'LeaseExpired':
      task.status = 'pending';
      endClaim(task);
      touch(task, event, e.type === 'TaskReleased' ? e.data.releasedAt : e.data.expiredAt);
      return fold;
    case 'TaskCompleted': {
      const { taskId: _t, projectId: _p, status, ...result } = e.data;
      task.status = status;
      task.result = result;
      endClaim(task);
      touch(task, event, e.data.completedAt);
      return fold;
    }
    default:
      return fold;
  }
};

/** Folds events (oldest first) onto a state, stopping after `upTo` (a global position) when given. */
export const foldEvents = (fold: ProjectFold, events: Iterable<StoredEvent>, upTo = Number.POSITIVE_INFINITY): ProjectFold => {
  for (const event of events) {
    if (event.position > upTo) break;
    applyEvent(fold, event);
  }
  return fold;
};

// ─── Views ─────────────────────────────────────────────────────────────────────────────────────

/** A task as of a point: the view `GET /tasks/:id` answers, with its dependencies. */
export type TaskAsOf = TaskView & { dependencies: Array<{ dependsOn: string; kind: DependencyKind }> };

const depthOf = (fold: ProjectFold, task: FoldedTask): number => {
  let depth = 0;
  for (let at = task.parentId; at !== null && depth <= fold.tasks.size; depth++) at = fold.tasks.get(at)?.parentId ?? null;
  return depth;
};

const openChildrenCache = new WeakMap<ProjectFold, { revision: number; counts: Map<string, number> }>();

/** Open children per parent, counted once per fold state (views of a whole project ask for every task). */
const openChildrenOf = (fold: ProjectFold, taskId: string): number => {
  let cached = openChildrenCache.get(fold);
  if (!cached || cached.revision !== fold.revision) {
    const counts = new Map<string, number>();
    for (const t of fold.tasks.values()) if (t.parentId !== null && isOpenStatus(t.status)) counts.set(t.parentId, (counts.get(t.parentId) ?? 0) + 1);
    cached = { revision: fold.revision, counts };
    openChildrenCache.set(fold, cached);
  }
  return cached.counts.get(taskId) ?? 0;
};

/** One task as `GET /tasks/:id` would have shown it then, with its dependencies. */
/** Links as `GET /tasks/:id` lists them: outgoing first, each direction by kind then task id; links to tasks gone are skipped. */
const linksOf = (fold: ProjectFold, task: FoldedTask): TaskLink[] => {
  const side = (map: Map<string, string>, direction: 'out' | 'in'): TaskLink[] =>
    [...map]
      .map(([key, createdAt]) => {
        const [kind, taskId] = key.split(' ') as [LinkKind, string];
        return { kind, taskId, direction, createdAt };
      })
      .filter((link) => fold.tasks.has(link.taskId))
      .sort((a, b) => (a.kind === b.kind ? (a.taskId < b.taskId ? -1 : 1) : a.kind < b.kind ? -1 : 1));
  return [...side(task.links, 'out'), ...side(task.linkedFrom, 'in')];
};

export const taskView = (fold: ProjectFold, task: FoldedTask): TaskAsOf => {
  const { deps, createdPosition: _position, links: _links, linkedFrom: _linkedFrom, ...rest } = task;
  let open = 0;
  const dependencies: TaskAsOf['dependencies'] = [];
  for (const [dependsOn, kind] of deps) {
    const target = fold.tasks.get(dependsOn);
    if (!target) continue;
    dependencies.push({ dependsOn, kind });
    if (kind === 'hard' && target.status !== 'completed') open++;
  }
  return {
    ...rest,
    depth: depthOf(fold, task),
    ready: isReady({ status: task.status, openHardDependencies: open, openChildren: openChildrenOf(fold, task.id) }),
    openDependencies: open,
    links: linksOf(fold, task),
    dependencies,
  };
};

export type ProjectSummary = {
  id: string;
  name: string;
  description: string;
  taskCount: number;
  byStatus: Record<TaskStatus, number>;
  createdAt: string | null;
  updatedAt: string | null;
};

export const projectSummary = (fold: ProjectFold): ProjectSummary => {
  const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const task of fold.tasks.values()) byStatus[task.status] += 1;
  return {
    id: fold.projectId,
    name: fold.name,
    description: fold.description,
    taskCount: fold.tasks.size,
    byStatus,
    createdAt: fold.createdAt,
    updatedAt: fold.updatedAt,
  };
};
