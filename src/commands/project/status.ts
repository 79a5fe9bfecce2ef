import { conflict } from '../../errors.js';
import { STATUS_TRANSITIONS, STATUSES_NEEDING_DEPENDENCIES, TASK_FIELD_NAMES, type TaskFields } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import type { Rule } from './rule.js';
import { requireChildrenClosed, requireDependenciesMet, requireProject, requireTaskAt } from './guards.js';
import type { TaskStatus } from '../../events/vocabulary.js';

export type UpdateTask = Command<'UpdateTask', { taskId: string; changes: Partial<TaskFields>; expectedVersion?: number }>;
export type ChangeTaskStatus = Command<'ChangeTaskStatus', { taskId: string; status: TaskStatus; reason?: string; expectedVersion?: number }>;
export type StatusCommand = UpdateTask | ChangeTaskStatus;

/** Only the fields that really change are recorded; lists lose their duplicates first. */
export const updateTask: Rule<UpdateTask> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  const changes: Partial<TaskFields> = {};
  for (const field of TASK_FIELD_NAMES) {
    const value = data.changes[field];
    if (value === undefined) continue;
    const normalised = Array.isArray(value) ? [...new Set(value)] : value;
    if (JSON.stringify(task.fields[field]) === JSON.stringify(normalised)) continue;
    (changes as Record<string, unknown>)[field] = normalised;
  }
  if (Object.keys(changes).length === 0) return [];
  return { type: 'TaskUpdated', data: { taskId: task.id, projectId: state.projectId, changes, updatedAt: metadata.now } };
};

export const changeTaskStatus: Rule<ChangeTaskStatus> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  if (task.status === data.status) return [];
  // Any status but in_progress ends a claim: only the plugin holding a live lease may do that (an administrator
  // breaks it with a forced release first). Otherwise moving a claimed task to pending would hand it to the mover.
  const lease = task.lease;
  if (lease && lease.expiresAt > metadata.now && lease.holder !== metadata.actor) {
    throw conflict(
      'LEASE_NOT_HELD',
      `Task ${task.id} is claimed by ${lease.agent} of ${lease.holder}; only that plugin may change its status while the lease lasts.`,
      { taskId: task.id, holder: lease.agent, holderActor: lease.holder, leaseExpiresAt: lease.expiresAt },
      'Wait for the lease to end, or ask an administrator to release it with force (POST /tasks/:id/release {"force":true}).',
    );
  }
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
    requireDependenciesMet(state, task, 'Complete its hard dependencies first, or make them soft.');
  }
  if (data.status === 'completed') requireChildrenClosed(state, task);
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
