import type { ProjectEvent, TaskFields } from '../../events/project.js';
import type { StoredEvent } from '../../events/types.js';
import { nextOrd, reorder } from './ordering.js';
import type { DependencyKind, LinkKind, TaskStatus } from '../../events/vocabulary.js';

/** What the Project decider needs to know about one task; the read models hold the rest. */
export type TaskNode = {
  readonly id: string;
  parentId: string | null;
  readonly children: Set<string>;
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
});

const SCHEDULE_EVENTS: ReadonlySet<string> = new Set([
  'TaskCreated',
  'TaskUpdated',
  'TaskStatusChanged',
  'TaskDeleted',
  'DependencyAdded',
  'DependencyRemoved',
  'TaskCompleted',
]);

export const evolve = (state: ProjectState, event: StoredEvent<ProjectEvent>): ProjectState => {
  state.revision = event.revision;
  if (SCHEDULE_EVENTS.has(event.type)) state.scheduleVersion += 1;
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
      state.tasks.set(e.data.taskId, {
        id: e.data.taskId,
        parentId: e.data.parentId,
        children: new Set(),
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
      });
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
      task.parentId = e.data.toParentId;
      const parent = task.parentId ? state.tasks.get(task.parentId) : undefined;
      parent?.children.add(task.id);
      setDepth(state, task, parent ? parent.depth + 1 : 0);
      task.version = event.revision;
      return state;
    }
    case 'TaskStatusChanged': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        task.status = e.data.to;
        if (e.data.to !== 'in_progress') task.lease = null;
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskClaimed':
    case 'LeaseExtended': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        if (e.type === 'TaskClaimed') {
          task.status = 'in_progress';
          if (e.data.role) task.role = e.data.role;
        }
        const holder = e.type === 'TaskClaimed' ? event.metadata.actor : (task.lease?.holder ?? event.metadata.actor);
        task.lease = { holder, agent: e.data.agent, expiresAt: e.data.leaseExpiresAt };
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskReleased':
    case 'LeaseExpired':
    case 'TaskCompleted': {
      const task = state.tasks.get(e.data.taskId);
      if (task) {
        task.status = e.type === 'TaskCompleted' ? e.data.status : 'pending';
        task.lease = null;
        task.version = event.revision;
      }
      return state;
    }
    case 'TaskDeleted': {
      const task = state.tasks.get(e.data.taskId);
      if (!task) return state;
      if (task.parentId) state.tasks.get(task.parentId)?.children.delete(task.id);
      for (const dep of task.deps.keys()) state.tasks.get(dep)?.dependents.delete(task.id);
      for (const dependent of task.dependents) state.tasks.get(dependent)?.deps.delete(task.id);
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
      task.version = event.revision;
      return state;
    }
    case 'DependencyRemoved': {
      const task = state.tasks.get(e.data.taskId);
      task?.deps.delete(e.data.dependsOn);
      state.tasks.get(e.data.dependsOn)?.dependents.delete(e.data.taskId);
      if (task) task.version = event.revision;
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
