import type { ProjectEvent, TaskFields } from '../../events/project.js';
import type { StoredEvent } from '../../events/types.js';
import { nextOrd, reorder } from './ordering.js';
import type { DependencyKind, LinkKind, TaskStatus } from '../../events/vocabulary.js';
import { isOpenStatus } from '../../algorithms/readiness.js';

/** What the Project decider needs to know about one task; the read models hold the rest. */
export type TaskNode = {
  readonly id: string;
  parentId: string | null;
  readonly children: Set<string>;
  /** Children neither completed nor cancelled, kept by `evolve`: a parent waits for them. */
  openChildren: number;
  depth: number;
  status: TaskStatus;
  /** Outgoing edges: tasks this one depends on. */
  readonly deps: Map<string, DependencyKind>;
  /** Incoming edges: tasks that depend on this one. */
  readonly dependents: Set<string>;
  /** Typed links to other tasks (`linkKey(kind, target)`) and from them (`linkKey(kind, source)`): never blocking. */
  readonly links: Set<string>;
  readonly linkedFrom: Set<string>;
  /** Position in a topological order of the dependency graph (dependencies first). */
  ord: number;
  /** Stream revision of the last event that changed this task: its ETag. */
  version: number;
  fields: TaskFields;
  role: string | null;
  /**
   * The claim while it lives: `holder` is the authenticated actor (plugin) that claimed, taken from the
   * claim event's metadata; `agent` is only a label inside that plugin.
   */
  lease: { holder: string; agent: string; expiresAt: string } | null;
  readonly createdAt: string;
};

/**
 * The folded Project state. It is mutated in place by `evolve`: a project may hold 100,000 tasks, and
 * copying that on every event would make the decider O(n) per command. Only the command handler owns a
 * state object, and it discards it whenever an append fails.
 */
export type ProjectState = {
  status: 'empty' | 'active';
  projectId: string;
  name: string;
  revision: number;
  readonly tasks: Map<string, TaskNode>;
  nextOrd: number;
  /** Bumped by every event that can change the CPM schedule (estimates, edges, tasks, completion). */
  scheduleVersion: number;
  /** Advisory file marks per agent (key `holder\0agent`): file → its end (null: while the agent holds a lease here). */
  readonly marks: Map<string, Map<string, { expiresAt: string | null }>>;
  /**
   * Tasks ready by the graph: pending, every hard dependency completed, no open child — kept by `evolve` as each
   * event changes a status, an edge or a parent, so ClaimNextTask ranks these (readiness.ts) instead of the project.
   */
  readonly ready: Set<string>;
  /**
   * Tasks that became ready since readiness.ts last ordered the set (it drains `ids`); `overflow` when too many came
   * to list, so it sorts the set afresh.
   */
  readonly readyAdded: { ids: string[]; overflow: boolean };
  /** Tasks under a lease, live or lapsed, until an event ends it: claims, reservations and workloads read these. */
  readonly leased: Set<string>;
};

/** A link's key in `links` / `linkedFrom` (ids and kinds hold no spaces). */
export const linkKey = (kind: LinkKind, taskId: string): string => `${kind} ${taskId}`;
export const parseLinkKey = (key: string): { kind: LinkKind; taskId: string } => {
  const [kind, taskId] = key.split(' ') as [LinkKind, string];
  return { kind, taskId };
};

/** One key per agent of one plugin: an agent label never reaches across plugins. */
export const agentKey = (holder: string, agent: string): string => `${holder}\0${agent}`;

export const initialState = (): ProjectState => ({
  status: 'empty',
  projectId: '',
  name: '',
  revision: -1,
  tasks: new Map(),
  nextOrd: 0,
  scheduleVersion: 0,
  marks: new Map(),
  ready: new Set(),
  readyAdded: { ids: [], overflow: false },
  leased: new Set(),
});

/** More queued additions than this beyond the ready set's size: readiness.ts sorts afresh instead of inserting each. */
const READY_ADDED_SLACK = 1000;

const hasOpenHardDependency = (state: ProjectState, task: TaskNode): boolean => {
  for (const [dep, kind] of task.deps) if (kind === 'hard' && state.tasks.get(dep)?.status !== 'completed') return true;
  return false;
};

/** Puts `task` in or out of the ready set by the rule of algorithms/readiness.ts (the lease-lapsed case is the claim's). */
const refreshReady = (state: ProjectState, task: TaskNode): void => {
  const ready = task.status === 'pending' && task.openChildren === 0 && !hasOpenHardDependency(state, task);
  if (ready === state.ready.has(task.id)) return;
  if (!ready) {
    state.ready.delete(task.id);
    return;
  }
  state.ready.add(task.id);
  const added = state.readyAdded;
  if (added.overflow) return;
  if (added.ids.length < state.ready.size + READY_ADDED_SLACK) added.ids.push(task.id);
  else {
    added.ids.length = 0;
    added.overflow = true;
  }
};

/** A parent gains (+1) or loses (-1) an open child. */
const countOpenChild = (state: ProjectState, parentId: string | null, delta: number): void => {
  const parent = parentId ? state.tasks.get(parentId) : undefined;
  if (!parent) return;
  parent.openChildren += delta;
  refreshReady(state, parent);
};

/** A new status, and what it changes for the task's parent (an open child more or less) and its dependents (a dependency completed or reopened). */
const setStatus = (state: ProjectState, task: TaskNode, status: TaskStatus): void => {
  const before = task.status;
  task.status = status;
  if (isOpenStatus(before) !== isOpenStatus(status)) countOpenChild(state, task.parentId, isOpenStatus(status) ? 1 : -1);
  if ((before === 'completed') !== (status === 'completed')) {
    for (const id of task.dependents) {
      const dependent = state.tasks.get(id);
      if (dependent?.deps.get(task.id) === 'hard') refreshReady(state, dependent);
    }
  }
  refreshReady(state, task);
};

const setLease = (state: ProjectState, task: TaskNode, lease: TaskNode['lease']): void => {
  task.lease = lease;
  if (lease) state.leased.add(task.id);
  else state.leased.delete(task.id);
};

const SCHEDULE_EVENTS: ReadonlySet<string> = new Set([
  'TaskCreated',
  'TaskUpdated',
  'TaskStatusChanged',
  'TaskDeleted',
  'DependencyAdded',
  'DependencyRemoved',
  'TaskCompleted',
]);

/** Whether a hard dependency edge leads to or from the task (the CPM schedule follows only those). */
const onHardChain = (state: ProjectState, task: TaskNode | undefined): boolean =>
  task === undefined ||
  [...task.deps.values()].includes('hard') ||
  [...task.dependents].some((id) => state.tasks.get(id)?.deps.get(task.id) === 'hard');

/**
 * Whether the event can change the chain through some other task (slackOf): a completion of a task on no hard chain
 * cannot (it leaves the ready set as it is done; only the project's finish moves), which is most of a swarm's log.
 */
const movesSchedule = (state: ProjectState, event: StoredEvent<ProjectEvent>): boolean =>
  SCHEDULE_EVENTS.has(event.type) &&
  (event.type !== 'TaskCompleted' || onHardChain(state, state.tasks.get((event.data as { taskId: string }).taskId)));

export const evolve = (state: ProjectState, event: StoredEvent<ProjectEvent>): ProjectState => {
  state.revision = event.revision;
  if (movesSchedule(state, event)) state.scheduleVersion += 1;
  const e = { type: event.type, data: event.data } as ProjectEvent;
  switch (e.type) {
    case 'ProjectCreated':
      state.status = 'active';
      state.projectId = e.data.projectId;
      state.name = e.data.name;
      return state;
    case 'TaskCreated': {
      const parent = e.data.parentId ? state.tasks.get(e.data.parentId) : undefined;
      parent?.children.add(e.data.taskId);
      const task: TaskNode = {
        id: e.data.taskId,
        parentId: e.data.parentId,
        children: new Set(),
        openChildren: 0,
        depth: parent ? parent.depth + 1 : 0,
        status: 'pending',
        deps: new Map(),
        dependents: new Set(),
        links: new Set(),
        linkedFrom: new Set(),
        ord: nextOrd(state),
        version: event.revision,
        fields: {
          title: e.data.title,
          description: e.data.description,
          priority: e.data.priority,
          tags: e.data.tags,
          estimate: e.data.estimate,
          files: e.data.files,
          requiredCapabilities: e.data.requiredCapabilities,
          metadata: e.data.metadata,
        },
        role: null,
        lease: null,
        createdAt: e.data.createdAt,
      };
      state.tasks.set(task.id, task);
      if (parent) countOpenChild(state, parent.id, 1);
      refreshReady(state, task);
      return state;
    }
    case 'TaskUpdated': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        task.fields = { ...task.fields, ...e.data.changes };
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskMoved': {
      const task = state.tasks.get(e.data.taskId);
      if (!task) return state;
      if (task.parentId) state.tasks.get(task.parentId)?.children.delete(task.id);
      const open = isOpenStatus(task.status) ? 1 : 0;
      if (open) countOpenChild(state, task.parentId, -1);
      task.parentId = e.data.toParentId;
      const parent = task.parentId ? state.tasks.get(task.parentId) : undefined;
      parent?.children.add(task.id);
      if (open) countOpenChild(state, task.parentId, 1);
      setDepth(state, task, parent ? parent.depth + 1 : 0);
      task.version = event.revision;
      return state;
    }
    case 'TaskStatusChanged': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        if (e.data.to !== 'in_progress') setLease(state, task, null);
        setStatus(state, task, e.data.to);
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskClaimed':
    case 'LeaseExtended': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        if (e.type === 'TaskClaimed') {
          setStatus(state, task, 'in_progress');
          if (e.data.role) task.role = e.data.role;
        }
        const holder = e.type === 'TaskClaimed' ? event.metadata.actor : (task.lease?.holder ?? event.metadata.actor);
        setLease(state, task, { holder, agent: e.data.agent, expiresAt: e.data.leaseExpiresAt });
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskReleased':
    case 'LeaseExpired':
    case 'TaskCompleted': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        setLease(state, task, null);
        setStatus(state, task, e.type === 'TaskCompleted' ? e.data.status : 'pending');
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskDeleted': {
      const task = state.tasks.get(e.data.taskId);
      if (!task) return state;
      if (task.parentId) state.tasks.get(task.parentId)?.children.delete(task.id);
      if (isOpenStatus(task.status)) countOpenChild(state, task.parentId, -1);
      for (const dep of task.deps.keys()) state.tasks.get(dep)?.dependents.delete(task.id);
      for (const id of task.dependents) {
        const dependent = state.tasks.get(id);
        if (!dependent) continue;
        dependent.deps.delete(task.id);
        refreshReady(state, dependent);
      }
      state.ready.delete(task.id);
      state.leased.delete(task.id);
      for (const key of task.links) {
        const { kind, taskId } = parseLinkKey(key);
        state.tasks.get(taskId)?.linkedFrom.delete(linkKey(kind, task.id));
      }
      for (const key of task.linkedFrom) {
        const { kind, taskId } = parseLinkKey(key);
        state.tasks.get(taskId)?.links.delete(linkKey(kind, task.id));
      }
      state.tasks.delete(task.id);
      return state;
    }
    case 'DependencyAdded': {
      const task = state.tasks.get(e.data.taskId);
      const target = state.tasks.get(e.data.dependsOn);
      if (!task || !target) return state;
      task.deps.set(target.id, e.data.kind);
      target.dependents.add(task.id);
      reorder(state, task, target);
      refreshReady(state, task);
      task.version = event.revision;
      return state;
    }
    case 'DependencyRemoved': {
      const task = state.tasks.get(e.data.taskId);
      task?.deps.delete(e.data.dependsOn);
      state.tasks.get(e.data.dependsOn)?.dependents.delete(e.data.taskId);
      if (task) {
        refreshReady(state, task);
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskLinked':
    case 'TaskUnlinked': {
      const task = state.tasks.get(e.data.taskId);
      const target = state.tasks.get(e.data.target);
      const linked = e.type === 'TaskLinked';
      if (task) {
        if (linked) task.links.add(linkKey(e.data.kind, e.data.target));
        else task.links.delete(linkKey(e.data.kind, e.data.target));
        task.version = event.revision;
      }
      if (target && linked) target.linkedFrom.add(linkKey(e.data.kind, e.data.taskId));
      else target?.linkedFrom.delete(linkKey(e.data.kind, e.data.taskId));
      return state;
    }
    case 'RoleAssigned':
    case 'RoleUnassigned': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        task.role = e.type === 'RoleAssigned' ? e.data.role : null;
        task.version = event.revision;
      }
      return state;
    }
    case 'FilesMarked': {
      const key = agentKey(event.metadata.actor, e.data.agent);
      const marks = state.marks.get(key) ?? new Map<string, { expiresAt: string | null }>();
      for (const file of e.data.files) marks.set(file, { expiresAt: e.data.expiresAt });
      state.marks.set(key, marks);
      return state;
    }
    case 'FilesUnmarked': {
      const key = agentKey(event.metadata.actor, e.data.agent);
      const marks = state.marks.get(key);
      if (marks && e.data.files.length > 0) for (const file of e.data.files) marks.delete(file);
      if (!marks || e.data.files.length === 0 || marks.size === 0) state.marks.delete(key);
      return state;
    }
    default: {
      const _exhaustive: never = e;
      return _exhaustive;
    }
  }
};

const setDepth = (state: ProjectState, task: TaskNode, depth: number): void => {
  task.depth = depth;
  for (const child of task.children) {
    const node = state.tasks.get(child);
    if (node) setDepth(state, node, depth + 1);
  }
};
