import { conflict, DomainError, notFound, unprocessable } from '../../errors.js';
import {
  DEFAULT_PROJECT_ID,
  STATUS_TRANSITIONS,
  STATUSES_NEEDING_DEPENDENCIES,
  type DependencyKind,
  type ProjectEvent,
  type TaskCreated,
  type TaskFields,
  type TaskStatus,
} from '../../events/project.js';
import type { Command, Decider } from '../../events/types.js';
import { assignmentReasons, type AssignableRole } from '../roles/assignment.js';
import {
  claimNextTask,
  claimTask,
  completeTask,
  expireLease,
  heartbeat,
  releaseTask,
  type OrchestrationCommand,
} from './orchestration.js';
import { evolve, findDependentPath, initialState, type ProjectState, type TaskNode } from './project.js';

/** The task fields a caller provides; everything but the title has a default. */
export type TaskInput = Partial<TaskFields> & { title: string };
export type TaskTreeNode = TaskInput & { id: string; children?: readonly TaskTreeNode[] };

export type CreateProject = Command<'CreateProject', { projectId: string; name: string; description?: string }>;
export type CreateTask = Command<'CreateTask', { projectId: string; taskId: string; parentId?: string | null; task: TaskInput }>;
export type CreateTaskTree = Command<'CreateTaskTree', { projectId: string; parentId?: string | null; root: TaskTreeNode }>;
export type UpdateTask = Command<'UpdateTask', { taskId: string; changes: Partial<TaskFields>; expectedVersion?: number }>;
export type MoveTask = Command<'MoveTask', { taskId: string; parentId: string | null; expectedVersion?: number }>;
export type ChangeTaskStatus = Command<
  'ChangeTaskStatus',
  { taskId: string; status: TaskStatus; reason?: string; expectedVersion?: number }
>;
export type DeleteTask = Command<'DeleteTask', { taskId: string; recursive?: boolean; expectedVersion?: number }>;
export type AddDependency = Command<
  'AddDependency',
  { taskId: string; dependsOn: string; kind?: DependencyKind; dependsOnProjectId?: string | null; expectedVersion?: number }
>;
export type RemoveDependency = Command<'RemoveDependency', { taskId: string; dependsOn: string; expectedVersion?: number }>;
/** The role's definition (or null when unknown) and its workload come from the caller: the roles stream and the read model. */
export type AssignRole = Command<
  'AssignRole',
  { taskId: string; role: string; definition: AssignableRole | null; inProgress: number; dryRun?: boolean; expectedVersion?: number }
>;
export type UnassignRole = Command<'UnassignRole', { taskId: string; role?: string; expectedVersion?: number }>;

export type ProjectCommand =
  | OrchestrationCommand
  | CreateProject
  | CreateTask
  | CreateTaskTree
  | UpdateTask
  | MoveTask
  | ChangeTaskStatus
  | DeleteTask
  | AddDependency
  | RemoveDependency
  | AssignRole
  | UnassignRole;

/** `defaultEstimate`: hours assumed for a task without an estimate when claims are ranked by CPM slack. */
export type ProjectRules = Readonly<{ maxDepth: number; maxTreeNodes: number; defaultEstimate?: number }>;
export const DEFAULT_RULES: ProjectRules = { maxDepth: 10, maxTreeNodes: 1000, defaultEstimate: 8 };

type Decision = ProjectEvent | readonly ProjectEvent[];

// ─── Guards ──────────────────────────────────────────────────────────────────────────────────────

const requireProject = (state: ProjectState, projectId?: string): void => {
  if (state.status === 'empty') {
    throw notFound('PROJECT_NOT_FOUND', `Project ${projectId ?? state.projectId} does not exist.`, { projectId });
  }
};

const requireTask = (state: ProjectState, taskId: string, role = 'Task'): TaskNode => {
  const task = state.tasks.get(taskId);
  if (!task) throw notFound('TASK_NOT_FOUND', `${role} ${taskId} does not exist.`, { taskId });
  return task;
};

const requireVersion = (state: ProjectState, task: TaskNode, expected?: number): void => {
  if (expected !== undefined && expected !== task.version) {
    throw new DomainError('CONCURRENCY_CONFLICT', 412, `Task ${task.id} is at version ${task.version}, not ${expected}: it changed since you read it.`, {
      taskId: task.id,
      expected,
      actual: task.version,
    }, 'Read the task again and retry with its current version (ETag).');
  }
};

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

const taskCreated = (projectId: string, taskId: string, parentId: string | null, task: TaskInput, now: string): TaskCreated => ({
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

// ─── Rules, one per command ──────────────────────────────────────────────────────────────────────

export const createProject = ({ data, metadata }: CreateProject, state: ProjectState): Decision => {
  if (state.status === 'active') {
    throw conflict('PROJECT_EXISTS', `Project ${data.projectId} already exists.`, { projectId: data.projectId });
  }
  return {
    type: 'ProjectCreated',
    data: { projectId: data.projectId, name: data.name, description: data.description ?? '', createdAt: metadata.now },
  };
};

export const createTask = ({ data, metadata }: CreateTask, state: ProjectState, rules: ProjectRules): Decision => {
  const events = ensureProject(state, data.projectId, metadata.now);
  const parentId = data.parentId ?? null;
  if (parentId !== null) requireDepth(requireTask(state, parentId, 'Parent task').depth + 1, rules, data.taskId);
  if (state.tasks.has(data.taskId)) throw conflict('TASK_EXISTS', `Task ${data.taskId} already exists.`, { taskId: data.taskId });
  return [...events, taskCreated(data.projectId, data.taskId, parentId, data.task, metadata.now)];
};

export const createTaskTree = ({ data, metadata }: CreateTaskTree, state: ProjectState, rules: ProjectRules): Decision => {
  const events = ensureProject(state, data.projectId, metadata.now);
  const parentId = data.parentId ?? null;
  const baseDepth = parentId === null ? 0 : requireTask(state, parentId, 'Parent task').depth + 1;
  const created: TaskCreated[] = [];
  const seen = new Set<string>();
  const visit = (node: TaskTreeNode, parent: string | null, depth: number) => {
    if (created.length >= rules.maxTreeNodes) {
      throw unprocessable('TREE_TOO_LARGE', `A task tree may hold at most ${rules.maxTreeNodes} tasks.`, {
        maxTreeNodes: rules.maxTreeNodes,
      });
    }
    requireDepth(depth, rules, node.id);
    if (state.tasks.has(node.id) || seen.has(node.id)) {
      throw conflict('TASK_EXISTS', `Task ${node.id} already exists.`, { taskId: node.id });
    }
    seen.add(node.id);
    created.push(taskCreated(data.projectId, node.id, parent, node, metadata.now));
    for (const child of node.children ?? []) visit(child, node.id, depth + 1);
  };
  visit(data.root, parentId, baseDepth);
  return [...events, ...created];
};

const FIELD_NAMES: readonly (keyof TaskFields)[] = [
  'title',
  'description',
  'priority',
  'tags',
  'estimate',
  'files',
  'requiredCapabilities',
  'metadata',
];

export const updateTask = ({ data, metadata }: UpdateTask, state: ProjectState): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
  const changes: Partial<TaskFields> = {};
  for (const field of FIELD_NAMES) {
    const value = data.changes[field];
    if (value === undefined) continue;
    const normalised = Array.isArray(value) ? [...new Set(value)] : value;
    if (JSON.stringify(task.fields[field]) === JSON.stringify(normalised)) continue;
    (changes as Record<string, unknown>)[field] = normalised;
  }
  if (Object.keys(changes).length === 0) return [];
  return { type: 'TaskUpdated', data: { taskId: task.id, projectId: state.projectId, changes, updatedAt: metadata.now } };
};

export const moveTask = ({ data, metadata }: MoveTask, state: ProjectState, rules: ProjectRules): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
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

export const openHardDependencies = (state: ProjectState, task: TaskNode): string[] =>
  [...task.deps].filter(([dep, kind]) => kind === 'hard' && state.tasks.get(dep)?.status !== 'completed').map(([dep]) => dep);

export const changeTaskStatus = ({ data, metadata }: ChangeTaskStatus, state: ProjectState): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
  if (task.status === data.status) return [];
  const allowed = STATUS_TRANSITIONS[task.status];
  if (!allowed.includes(data.status)) {
    throw conflict(
      'INVALID_STATUS_TRANSITION',
      `A ${task.status} task cannot become ${data.status}; allowed: ${allowed.join(', ') || 'none'}.`,
      { taskId: task.id, from: task.status, to: data.status, allowed },
      `Move it to one of: ${allowed.join(', ')}.`,
    );
  }
  if (STATUSES_NEEDING_DEPENDENCIES.has(data.status)) {
    const open = openHardDependencies(state, task);
    if (open.length > 0) {
      throw conflict('DEPENDENCIES_NOT_MET', `Task ${task.id} waits on ${open.length} open hard dependencies.`, {
        taskId: task.id,
        openDependencies: open,
      }, 'Complete its hard dependencies first, or make them soft.');
    }
  }
  return {
    type: 'TaskStatusChanged',
    data: {
      taskId: task.id,
      projectId: state.projectId,
      from: task.status,
      to: data.status,
      ...(data.reason ? { reason: data.reason } : {}),
      changedAt: metadata.now,
    },
  };
};

export const deleteTask = ({ data, metadata }: DeleteTask, state: ProjectState): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
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
  for (const node of doomed) events.push({ type: 'TaskDeleted', data: { taskId: node.id, projectId, deletedAt: metadata.now } });
  return events;
};

export const addDependency = ({ data, metadata }: AddDependency, state: ProjectState): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
  const kind = data.kind ?? 'hard';
  if (data.dependsOn === task.id) {
    throw unprocessable('SELF_DEPENDENCY', `Task ${task.id} cannot depend on itself.`, { taskId: task.id });
  }
  const target = state.tasks.get(data.dependsOn);
  if (!target) {
    if (data.dependsOnProjectId && data.dependsOnProjectId !== state.projectId) {
      throw unprocessable(
        'CROSS_PROJECT_DEPENDENCY',
        `Task ${data.dependsOn} belongs to project ${data.dependsOnProjectId}, not ${state.projectId}; dependencies stay inside one project.`,
        { taskId: task.id, dependsOn: data.dependsOn, projectId: state.projectId, dependsOnProjectId: data.dependsOnProjectId },
      );
    }
    throw notFound('TASK_NOT_FOUND', `Task ${data.dependsOn} does not exist.`, { taskId: data.dependsOn });
  }
  const existing = task.deps.get(target.id);
  if (existing === kind) {
    throw conflict('DEPENDENCY_EXISTS', `Task ${task.id} already depends on ${target.id} (${kind}).`, {
      taskId: task.id,
      dependsOn: target.id,
      kind,
    });
  }
  if (existing === undefined && target.ord > task.ord) {
    const path = findDependentPath(state, task, target);
    if (path) {
      // path runs task ← … ← target through "is depended on by"; the cycle reads task → target → … → task.
      const cycle = [task.id, ...path.reverse()];
      throw conflict('DEPENDENCY_CYCLE', `Adding ${task.id} → ${target.id} would close the cycle ${cycle.join(' → ')}.`, {
        taskId: task.id,
        dependsOn: target.id,
        cycle,
      }, 'Remove one dependency on the cycle first, or depend on a different task.');
    }
  }
  return {
    type: 'DependencyAdded',
    data: { taskId: task.id, projectId: state.projectId, dependsOn: target.id, kind, addedAt: metadata.now },
  };
};

export const removeDependency = ({ data, metadata }: RemoveDependency, state: ProjectState): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
  if (!task.deps.has(data.dependsOn)) {
    throw notFound('DEPENDENCY_NOT_FOUND', `Task ${task.id} does not depend on ${data.dependsOn}.`, {
      taskId: task.id,
      dependsOn: data.dependsOn,
    });
  }
  return {
    type: 'DependencyRemoved',
    data: { taskId: task.id, projectId: state.projectId, dependsOn: data.dependsOn, removedAt: metadata.now },
  };
};

export const assignRole = ({ data, metadata }: AssignRole, state: ProjectState): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
  const counted = task.role === data.role && task.status === 'in_progress' ? 1 : 0;
  const reasons = assignmentReasons(
    data.definition ?? undefined,
    data.role,
    { requiredCapabilities: task.fields.requiredCapabilities, files: task.fields.files, depth: task.depth },
    { inProgress: data.inProgress - counted },
  );
  if (reasons.length > 0) {
    throw unprocessable(
      'ROLE_VALIDATION_ERROR',
      `Role ${data.role} cannot take task ${task.id}: ${reasons.map((r) => r.message).join('; ')}.`,
      { taskId: task.id, role: data.role, reasons },
      'Pick a role from find_suitable_roles, or change the task so it fits.',
    );
  }
  if (task.role === data.role || data.dryRun) return [];
  return {
    type: 'RoleAssigned',
    data: { taskId: task.id, projectId: state.projectId, role: data.role, previousRole: task.role, assignedAt: metadata.now },
  };
};

export const unassignRole = ({ data, metadata }: UnassignRole, state: ProjectState): Decision => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireVersion(state, task, data.expectedVersion);
  if (data.role !== undefined && task.role !== null && task.role !== data.role) {
    throw conflict('ROLE_NOT_ASSIGNED', `Task ${task.id} is assigned to ${task.role}, not ${data.role}.`, { taskId: task.id, role: task.role });
  }
  if (task.role === null) return [];
  return { type: 'RoleUnassigned', data: { taskId: task.id, projectId: state.projectId, role: task.role, unassignedAt: metadata.now } };
};

// ─── Decider ─────────────────────────────────────────────────────────────────────────────────────


export const projectDecider = (rules: ProjectRules = DEFAULT_RULES): Decider<ProjectState, ProjectCommand, ProjectEvent> => {
  const decide = (command: ProjectCommand, state: ProjectState): Decision => {
    const { type } = command;
    switch (type) {
      case 'CreateProject':
        return createProject(command, state);
      case 'CreateTask':
        return createTask(command, state, rules);
      case 'CreateTaskTree':
        return createTaskTree(command, state, rules);
      case 'UpdateTask':
        return updateTask(command, state);
      case 'MoveTask':
        return moveTask(command, state, rules);
      case 'ChangeTaskStatus':
        return changeTaskStatus(command, state);
      case 'DeleteTask':
        return deleteTask(command, state);
      case 'AddDependency':
        return addDependency(command, state);
      case 'RemoveDependency':
        return removeDependency(command, state);
      case 'AssignRole':
        return assignRole(command, state);
      case 'UnassignRole':
        return unassignRole(command, state);
      case 'ClaimTask':
        requireProject(state);
        return claimTask(command, state);
      case 'ClaimNextTask':
        requireProject(state);
        return claimNextTask(command, state, rules.defaultEstimate);
      case 'Heartbeat':
        requireProject(state);
        return heartbeat(command, state);
      case 'ReleaseTask':
        requireProject(state);
        return releaseTask(command, state);
      case 'ExpireLease':
        return expireLease(command, state);
      case 'CompleteTask':
        requireProject(state);
        return completeTask(command, state);
      default: {
        const _exhaustive: never = type;
        throw new Error(`Unknown command ${String(_exhaustive)}`);
      }
    }
  };
  return { decide, evolve, initialState };
};
