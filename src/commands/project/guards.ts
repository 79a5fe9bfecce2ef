import { isOpenStatus } from '../../algorithms/readiness.js';
import { conflict, DomainError, notFound, unprocessable } from '../../errors.js';
import { assignmentReasons, type AssignableRole } from '../roles/assignment.js';
import type { ProjectState, TaskNode } from './project.js';

/**
 * The refusals the Project rules share, each written once. A rule calls the guards it needs at its top, in
 * the order its refusals should win; a guard either returns what it checked or throws a DomainError.
 */

export const requireProject = (state: ProjectState, projectId?: string): void => {
  if (state.status === 'empty') {
    throw notFound('PROJECT_NOT_FOUND', `Project ${projectId ?? state.projectId} does not exist.`, { projectId });
  }
};

export const requireTask = (state: ProjectState, taskId: string, label = 'Task'): TaskNode => {
  const task = state.tasks.get(taskId);
  if (!task) throw notFound('TASK_NOT_FOUND', `${label} ${taskId} does not exist.`, { taskId });
  return task;
};

/** `expected` is the task's own version (its ETag), never the stream's revision. */
export const requireVersion = (task: TaskNode, expected?: number): void => {
  if (expected !== undefined && expected !== task.version) {
    throw new DomainError(
      'CONCURRENCY_CONFLICT',
      412,
      `Task ${task.id} is at version ${task.version}, not ${expected}: it changed since you read it.`,
      {
        taskId: task.id,
        expected,
        actual: task.version,
      },
      'Read the task again and retry with its current version (ETag).',
    );
  }
};

/** The task a write names, still at the version the caller read. */
export const requireTaskAt = (state: ProjectState, taskId: string, expectedVersion?: number): TaskNode => {
  const task = requireTask(state, taskId);
  requireVersion(task, expectedVersion);
  return task;
};

/** Hard dependencies of `task` that are not completed yet. */
export const openHardDependencies = (state: ProjectState, task: TaskNode): string[] => {
  const open: string[] = [];
  for (const [dep, kind] of task.deps) if (kind === 'hard' && state.tasks.get(dep)?.status !== 'completed') open.push(dep);
  return open;
};

export const requireDependenciesMet = (state: ProjectState, task: TaskNode, hint?: string): void => {
  const open = openHardDependencies(state, task);
  if (open.length > 0) {
    throw conflict(
      'DEPENDENCIES_NOT_MET',
      `Task ${task.id} waits on ${open.length} open hard dependencies.`,
      {
        taskId: task.id,
        openDependencies: open,
      },
      hint,
    );
  }
};

/** Children of `task` neither completed nor cancelled. */
export const openChildren = (state: ProjectState, task: TaskNode): string[] =>
  [...task.children].filter((id) => {
    const child = state.tasks.get(id);
    return child !== undefined && isOpenStatus(child.status);
  });

/** A parent is finished by its children first: completing it while one is open is refused, naming them. */
export const requireChildrenClosed = (state: ProjectState, task: TaskNode): void => {
  const open = openChildren(state, task);
  if (open.length > 0) {
    throw conflict(
      'CHILDREN_OPEN',
      `Task ${task.id} has ${open.length} open child task(s): ${open.slice(0, 10).join(', ')}${open.length > 10 ? ', …' : ''}.`,
      { taskId: task.id, openChildren: open.slice(0, 100), count: open.length },
      'Complete or cancel its children first.',
    );
  }
};

/** Why `role` may not take `task` (unknown, retired, missing capabilities, files, depth, workload), or undefined. */
export const roleRefusal = (
  role: string,
  task: TaskNode,
  definition: AssignableRole | null | undefined,
  inProgress: number,
  hint?: string,
): DomainError | undefined => {
  const reasons = assignmentReasons(
    definition ?? undefined,
    role,
    { requiredCapabilities: task.fields.requiredCapabilities, files: task.fields.files, depth: task.depth },
    { inProgress },
  );
  if (reasons.length === 0) return undefined;
  return unprocessable(
    'ROLE_VALIDATION_ERROR',
    `Role ${role} cannot take task ${task.id}: ${reasons.map((r) => r.message).join('; ')}.`,
    {
      taskId: task.id,
      role,
      reasons,
    },
    hint,
  );
};

export const requireRoleFits = (...args: Parameters<typeof roleRefusal>): void => {
  const refusal = roleRefusal(...args);
  if (refusal) throw refusal;
};

export const requireLease = (task: TaskNode, hint?: string): NonNullable<TaskNode['lease']> => {
  if (!task.lease) throw conflict('NOT_CLAIMED', `Task ${task.id} is not claimed by anyone.`, { taskId: task.id }, hint);
  return task.lease;
};

/**
 * The caller must hold a live lease on the task: the same authenticated actor that claimed it, and the same
 * agent label inside it. An agent name never reaches across plugins.
 */
export const requireHolder = (task: TaskNode, actor: string, agent: string, now: string): void => {
  const lease = requireLease(task, 'Claim it first.');
  if (lease.holder !== actor || lease.agent !== agent) {
    throw conflict(
      'LEASE_NOT_HELD',
      `Task ${task.id} is claimed by ${lease.agent} of ${lease.holder}, not by ${agent} of ${actor}.`,
      { taskId: task.id, holder: lease.agent, holderActor: lease.holder },
      'Only the agent that claimed a task may extend, release or complete it; an administrator may release it with force.',
    );
  }
  if (lease.expiresAt <= now) {
    throw conflict('LEASE_EXPIRED', `Your lease on task ${task.id} expired at ${lease.expiresAt}.`, { taskId: task.id }, 'Claim the task again.');
  }
};
