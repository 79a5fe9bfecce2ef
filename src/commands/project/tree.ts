import { conflict, unprocessable } from '../../errors.js';
import { DEFAULT_PROJECT_ID, type ProjectEvent, type TaskCreated, type TaskFields } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import type { ProjectRules, Rule } from './rule.js';
import { requireProject, requireTask, requireTaskAt } from './guards.js';
import { parseLinkKey, type ProjectState, type TaskNode } from './project.js';
import { requireLinkTarget, taskLinked } from './links.js';

/** The task fields a caller provides; everything but the title has a default. */
export type TaskInput = Partial<TaskFields> & { title: string };
/** `discoveredFrom`: as on a single create, per node (a task that exists before the tree). */
export type TaskTreeNode = TaskInput & { id: string; discoveredFrom?: string; children?: readonly TaskTreeNode[] };

export type CreateProject = Command<'CreateProject', { projectId: string; name: string; description?: string }>;
/** `discoveredFrom`: the task whose work turned this one up (a `discovered_from` link, same project); `discoveredFromProjectId` where the read model places it. */
type Discovery = { discoveredFrom?: string; discoveredFromProjectId?: string | null };
export type CreateTask = Command<'CreateTask', { projectId: string; taskId: string; parentId?: string | null; task: TaskInput } & Discovery>;
/** `discoveredFromProjects`: where the read model places each `discoveredFrom` of the tree's nodes. */
export type CreateTaskTree = Command<
  'CreateTaskTree',
  { projectId: string; parentId?: string | null; root: TaskTreeNode; discoveredFromProjects?: Readonly<Record<string, string | null>> }
>;
export type MoveTask = Command<'MoveTask', { taskId: string; parentId: string | null; expectedVersion?: number }>;
export type DeleteTask = Command<'DeleteTask', { taskId: string; recursive?: boolean; expectedVersion?: number }>;
export type TreeCommand = CreateProject | CreateTask | CreateTaskTree | MoveTask | DeleteTask;

// ─── Helpers ─────────────────────────────────────────────────────────────────────────────────────

/** A new project is implicit for `default`: its first task creates it. */
const ensureProject = (state: ProjectState, projectId: string, now: string): ProjectEvent[] => {
  if (state.status === 'active') return [];
  if (projectId !== DEFAULT_PROJECT_ID) requireProject(state, projectId);
  return [
    {
      type: 'ProjectCreated',
      data: { projectId, name: 'Default project', description: 'Tasks created without a project.', createdAt: now },
    },
  ];
};

export const taskCreated = (projectId: string, taskId: string, parentId: string | null, task: TaskInput, now: string): TaskCreated => ({
  type: 'TaskCreated',
  data: {
    taskId,
    projectId,
    parentId,
    title: task.title,
    description: task.description ?? '',
    status: 'pending',
    priority: task.priority ?? 'normal',
    tags: [...new Set(task.tags ?? [])],
    estimate: task.estimate ?? null,
    files: [...new Set(task.files ?? [])],
    requiredCapabilities: [...new Set(task.requiredCapabilities ?? [])],
    metadata: task.metadata ?? {},
    createdAt: now,
  },
});

const requireDepth = (depth: number, rules: ProjectRules, taskId: string): void => {
  if (depth > rules.maxDepth) {
    throw unprocessable('DEPTH_LIMIT_EXCEEDED', `Task ${taskId} would sit at depth ${depth}; the limit is ${rules.maxDepth}.`, {
      taskId,
      depth,
      maxDepth: rules.maxDepth,
    });
  }
};

const requireNewTask = (state: ProjectState, taskId: string, alsoTaken?: ReadonlySet<string>): void => {
  if (state.tasks.has(taskId) || alsoTaken?.has(taskId)) throw conflict('TASK_EXISTS', `Task ${taskId} already exists.`, { taskId });
};

const subtreeHeight = (state: ProjectState, task: TaskNode): number => {
  let height = 0;
  for (const child of task.children) {
    const node = state.tasks.get(child);
    if (node) height = Math.max(height, 1 + subtreeHeight(state, node));
  }
  return height;
};

/** Every task of the subtree, children before their parent. */
const subtreePostOrder = (state: ProjectState, task: TaskNode, out: TaskNode[] = []): TaskNode[] => {
  for (const child of task.children) {
    const node = state.tasks.get(child);
    if (node) subtreePostOrder(state, node, out);
  }
  out.push(task);
  return out;
};

/** The `discovered_from` link of a new task, checked against the project before anything is created. */
const discovery = (state: ProjectState, projectId: string, taskId: string, data: Discovery, now: string): ProjectEvent[] => {
  if (data.discoveredFrom === undefined) return [];
  const target = requireLinkTarget(state, taskId, 'discovered_from', data.discoveredFrom, data.discoveredFromProjectId);
  return [taskLinked(projectId, taskId, 'discovered_from', target.id, now)];
};

// ─── Rules ───────────────────────────────────────────────────────────────────────────────────────

export const createProject: Rule<CreateProject> = ({ data, metadata }, state) => {
  if (state.status === 'active') {
    throw conflict('PROJECT_EXISTS', `Project ${data.projectId} already exists.`, { projectId: data.projectId });
  }
  return {
    type: 'ProjectCreated',
    data: { projectId: data.projectId, name: data.name, description: data.description ?? '', createdAt: metadata.now },
  };
};

export const createTask: Rule<CreateTask> = ({ data, metadata }, state, rules) => {
  const events = ensureProject(state, data.projectId, metadata.now);
  const parentId = data.parentId ?? null;
  if (parentId !== null) requireDepth(requireTask(state, parentId, 'Parent task').depth + 1, rules, data.taskId);
  requireNewTask(state, data.taskId);
  const link = discovery(state, data.projectId, data.taskId, data, metadata.now);
  return [...events, taskCreated(data.projectId, data.taskId, parentId, data.task, metadata.now), ...link];
};

export const createTaskTree: Rule<CreateTaskTree> = ({ data, metadata }, state, rules) => {
  const events = ensureProject(state, data.projectId, metadata.now);
  const parentId = data.parentId ?? null;
  const baseDepth = parentId === null ? 0 : requireTask(state, parentId, 'Parent task').depth + 1;
  const created: TaskCreated[] = [];
  const links: ProjectEvent[] = [];
  const seen = new Set<string>();
  const visit = (node: TaskTreeNode, parent: string | null, depth: number) => {
    if (created.length >= rules.maxTreeNodes) {
      throw unprocessable('TREE_TOO_LARGE', `A task tree may hold at most ${rules.maxTreeNodes} tasks.`, {
        maxTreeNodes: rules.maxTreeNodes,
      });
    }
    requireDepth(depth, rules, node.id);
    requireNewTask(state, node.id, seen);
    seen.add(node.id);
    created.push(taskCreated(data.projectId, node.id, parent, node, metadata.now));
    if (node.discoveredFrom !== undefined) {
      const discoveredFromProjectId = data.discoveredFromProjects?.[node.discoveredFrom] ?? null;
      links.push(...discovery(state, data.projectId, node.id, { discoveredFrom: node.discoveredFrom, discoveredFromProjectId }, metadata.now));
    }
    for (const child of node.children ?? []) visit(child, node.id, depth + 1);
  };
  visit(data.root, parentId, baseDepth);
  return [...events, ...created, ...links];
};

export const moveTask: Rule<MoveTask> = ({ data, metadata }, state, rules) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  if (task.parentId === data.parentId) return [];
  let newDepth = 0;
  if (data.parentId !== null) {
    const parent = requireTask(state, data.parentId, 'Parent task');
    const chain: string[] = [];
    for (let at: TaskNode | undefined = parent; at; at = at.parentId ? state.tasks.get(at.parentId) : undefined) {
      chain.push(at.id);
      if (at.id === task.id) {
        throw conflict('HIERARCHY_CYCLE', `Task ${task.id} cannot move under its own descendant ${parent.id}.`, {
          taskId: task.id,
          parentId: parent.id,
          path: chain.reverse(),
        });
      }
    }
    newDepth = parent.depth + 1;
  }
  requireDepth(newDepth + subtreeHeight(state, task), rules, task.id);
  return {
    type: 'TaskMoved',
    data: { taskId: task.id, projectId: state.projectId, fromParentId: task.parentId, toParentId: data.parentId, movedAt: metadata.now },
  };
};

export const deleteTask: Rule<DeleteTask> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  if (data.recursive === false && task.children.size > 0) {
    throw conflict('TASK_HAS_CHILDREN', `Task ${task.id} has ${task.children.size} subtasks; delete recursively or move them first.`, {
      taskId: task.id,
      children: [...task.children],
    });
  }
  const doomed = subtreePostOrder(state, task);
  const doomedIds = new Set(doomed.map((n) => n.id));
  const events: ProjectEvent[] = [];
  const projectId = state.projectId;
  // Edges go first, so no dependency can ever point at a deleted task (orphans are impossible).
  for (const node of doomed) {
    for (const dep of node.deps.keys()) {
      events.push({ type: 'DependencyRemoved', data: { taskId: node.id, projectId, dependsOn: dep, removedAt: metadata.now } });
    }
    for (const dependent of node.dependents) {
      if (doomedIds.has(dependent)) continue;
      events.push({ type: 'DependencyRemoved', data: { taskId: dependent, projectId, dependsOn: node.id, removedAt: metadata.now } });
    }
  }
  // Links too: a link names two live tasks of the project, or is gone (TaskUnlinked, in the history of both).
  for (const node of doomed) {
    for (const key of node.links) {
      const { kind, taskId: target } = parseLinkKey(key);
      events.push({ type: 'TaskUnlinked', data: { taskId: node.id, projectId, kind, target, unlinkedAt: metadata.now } });
    }
    for (const key of node.linkedFrom) {
      const { kind, taskId: source } = parseLinkKey(key);
      if (doomedIds.has(source)) continue;
      events.push({ type: 'TaskUnlinked', data: { taskId: source, projectId, kind, target: node.id, unlinkedAt: metadata.now } });
    }
  }
  for (const node of doomed) events.push({ type: 'TaskDeleted', data: { taskId: node.id, projectId, deletedAt: metadata.now } });
  return events;
};
