import { conflict, DomainError, notFound, unprocessable } from '../../errors.js';
import type { ProjectEvent } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import { assignmentReasons, filesOutsidePatterns, type AssignableRole } from '../roles/assignment.js';
import type { ProjectState, TaskNode } from './project.js';
import { rankReadyTasks } from './readiness.js';

/** The role an agent acts for, resolved by the caller from the `roles` stream (null: unknown role). */
type RoleContext = { role?: string; definition?: AssignableRole | null; inProgress?: number };

export type ClaimTask = Command<'ClaimTask', { taskId: string; agent: string; leaseSeconds: number } & RoleContext>;
export type ClaimNextTask = Command<'ClaimNextTask', { agent: string; leaseSeconds: number; role: string; definition: AssignableRole | null; inProgress: number }>;
export type Heartbeat = Command<'Heartbeat', { taskId: string; agent: string; leaseSeconds: number }>;
/** `force`: an administrator breaks someone else's lease (the API checks the capability). */
export type ReleaseTask = Command<'ReleaseTask', { taskId: string; agent: string; reason?: string; force?: boolean }>;
export type ExpireLease = Command<'ExpireLease', { taskId: string }>;
export type CompleteTask = Command<
  'CompleteTask',
  { taskId: string; agent: string; output: string; artifacts: string[]; changedFiles: string[]; definition?: AssignableRole | null }
>;
export type OrchestrationCommand = ClaimTask | ClaimNextTask | Heartbeat | ReleaseTask | ExpireLease | CompleteTask;

const plusSeconds = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();
const leaseLive = (task: TaskNode, now: string) => task.lease !== null && task.lease.expiresAt > now;

const requireTask = (state: ProjectState, taskId: string): TaskNode => {
  const task = state.tasks.get(taskId);
  if (!task) throw notFound('TASK_NOT_FOUND', `Task ${taskId} does not exist.`, { taskId });
  return task;
};

/**
 * The caller must hold a live lease on the task: the same authenticated actor that claimed it, and the same
 * agent label inside it. An agent name never reaches across plugins.
 */
const requireHolder = (task: TaskNode, actor: string, agent: string, now: string): void => {
  if (!task.lease) throw conflict('NOT_CLAIMED', `Task ${task.id} is not claimed by anyone.`, { taskId: task.id }, 'Claim it first.');
  if (task.lease.holder !== actor || task.lease.agent !== agent) {
    throw conflict(
      'LEASE_NOT_HELD',
      `Task ${task.id} is claimed by ${task.lease.agent} of ${task.lease.holder}, not by ${agent} of ${actor}.`,
      { taskId: task.id, holder: task.lease.agent, holderActor: task.lease.holder },
      'Only the agent that claimed a task may extend, release or complete it; an administrator may release it with force.',
    );
  }
  if (task.lease.expiresAt <= now) {
    throw conflict('LEASE_EXPIRED', `Your lease on task ${task.id} expired at ${task.lease.expiresAt}.`, { taskId: task.id }, 'Claim the task again.');
  }
};

/** Events for an expired lease found while deciding, so a claim never waits for the sweeper. */
const expireIfDue = (state: ProjectState, task: TaskNode, now: string): ProjectEvent[] =>
  task.lease && task.lease.expiresAt <= now
    ? [{ type: 'LeaseExpired', data: { taskId: task.id, projectId: state.projectId, agent: task.lease.agent, leaseExpiresAt: task.lease.expiresAt, expiredAt: now } }]
    : [];

const roleRefusal = (roleName: string, task: TaskNode, definition: AssignableRole | null | undefined, inProgress: number) => {
  const reasons = assignmentReasons(
    definition ?? undefined,
    roleName,
    { requiredCapabilities: task.fields.requiredCapabilities, files: task.fields.files, depth: task.depth },
    { inProgress },
  );
  return reasons.length === 0
    ? undefined
    : unprocessable('ROLE_VALIDATION_ERROR', `Role ${roleName} cannot take task ${task.id}: ${reasons.map((r) => r.message).join('; ')}.`, {
        taskId: task.id,
        role: roleName,
        reasons,
      });
};

const claimEvents = (state: ProjectState, task: TaskNode, agent: string, role: string | null, leaseSeconds: number, now: string): ProjectEvent[] => [
  ...expireIfDue(state, task, now),
  {
    type: 'TaskClaimed',
    data: { taskId: task.id, projectId: state.projectId, agent, role, from: 'pending', leaseExpiresAt: plusSeconds(now, leaseSeconds), claimedAt: now },
  },
];

export const claimTask = ({ data, metadata }: ClaimTask, state: ProjectState): ProjectEvent[] => {
  const task = requireTask(state, data.taskId);
  const now = metadata.now;
  if (leaseLive(task, now)) {
    if (task.lease!.holder === metadata.actor && task.lease!.agent === data.agent) return [];
    throw conflict('ALREADY_CLAIMED', `Task ${task.id} is claimed by ${task.lease!.agent} until ${task.lease!.expiresAt}.`, {
      taskId: task.id,
      holder: task.lease!.agent,
      leaseExpiresAt: task.lease!.expiresAt,
    }, 'Pick another task (claim_next_task).');
  }
  const expired = task.lease !== null;
  if (task.status !== 'pending' && !(expired && task.status === 'in_progress')) {
    throw conflict('TASK_NOT_CLAIMABLE', `Task ${task.id} is ${task.status}; only pending tasks can be claimed.`, { taskId: task.id, status: task.status });
  }
  const open = [...task.deps].filter(([dep, kind]) => kind === 'hard' && state.tasks.get(dep)?.status !== 'completed').map(([dep]) => dep);
  if (open.length > 0) {
    throw conflict('DEPENDENCIES_NOT_MET', `Task ${task.id} waits on ${open.length} open hard dependencies.`, { taskId: task.id, openDependencies: open });
  }
  const role = data.role ?? task.role;
  if (data.role !== undefined && task.role !== null && task.role !== data.role) {
    throw conflict('ROLE_MISMATCH', `Task ${task.id} is assigned to ${task.role}, not ${data.role}.`, { taskId: task.id, role: task.role });
  }
  if (data.role !== undefined) {
    const refusal = roleRefusal(data.role, task, data.definition, data.inProgress ?? 0);
    if (refusal) throw refusal;
  }
  return claimEvents(state, task, data.agent, role, data.leaseSeconds, now);
};

export const claimNextTask = ({ data, metadata }: ClaimNextTask, state: ProjectState, defaultEstimate?: number): ProjectEvent[] => {
  if (!data.definition) throw notFound('ROLE_NOT_FOUND', `Role ${data.role} does not exist.`, { role: data.role });
  if (data.definition.retired) throw conflict('ROLE_RETIRED', `Role ${data.role} is retired.`, { role: data.role });
  if (data.inProgress >= data.definition.maxConcurrentTasks) {
    throw unprocessable('ROLE_VALIDATION_ERROR', `Role ${data.role} already has ${data.inProgress} tasks in progress (limit ${data.definition.maxConcurrentTasks}).`, {
      role: data.role,
      reasons: [{ code: 'WORKLOAD_LIMIT', message: 'The role is at its concurrency limit.', inProgress: data.inProgress, limit: data.definition.maxConcurrentTasks }],
    });
  }
  const fits = (task: TaskNode) => (task.role === null ? roleRefusal(data.role, task, data.definition, data.inProgress) === undefined : task.role === data.role);
  const best = rankReadyTasks(state, metadata.now, fits, defaultEstimate)[0];
  if (!best) throw new DomainError('NO_READY_TASK', 404, `No ready task fits role ${data.role} in project ${state.projectId}.`, { role: data.role });
  return claimEvents(state, best, data.agent, data.role, data.leaseSeconds, metadata.now);
};

export const heartbeat = ({ data, metadata }: Heartbeat, state: ProjectState): ProjectEvent[] => {
  const task = requireTask(state, data.taskId);
  requireHolder(task, metadata.actor, data.agent, metadata.now);
  const leaseExpiresAt = plusSeconds(metadata.now, data.leaseSeconds);
  return [{ type: 'LeaseExtended', data: { taskId: task.id, projectId: state.projectId, agent: data.agent, leaseExpiresAt, extendedAt: metadata.now } }];
};

export const releaseTask = ({ data, metadata }: ReleaseTask, state: ProjectState): ProjectEvent[] => {
  const task = requireTask(state, data.taskId);
  if (!data.force) requireHolder(task, metadata.actor, data.agent, metadata.now);
  else if (!task.lease) throw conflict('NOT_CLAIMED', `Task ${task.id} is not claimed by anyone.`, { taskId: task.id });
  const agent = data.force ? task.lease!.agent : data.agent;
  const reason = data.reason ?? (data.force ? 'lease broken by an administrator' : 'released');
  const forced = data.force ? { forced: true, forcedBy: metadata.actor } : {};
  return [{ type: 'TaskReleased', data: { taskId: task.id, projectId: state.projectId, agent, reason, releasedAt: metadata.now, ...forced } }];
};

/** The sweeper's command: a lease that was extended or already ended makes this a no-op. */
export const expireLease = ({ data, metadata }: ExpireLease, state: ProjectState): ProjectEvent[] => {
  const task = state.tasks.get(data.taskId);
  return task ? expireIfDue(state, task, metadata.now) : [];
};

export const completeTask = ({ data, metadata }: CompleteTask, state: ProjectState): ProjectEvent[] => {
  const task = requireTask(state, data.taskId);
  requireHolder(task, metadata.actor, data.agent, metadata.now);
  const warnings: string[] = [];
  let status: 'completed' | 'review' = 'completed';
  const definition = data.definition;
  if (task.role && definition) {
    const outside = filesOutsidePatterns(data.changedFiles, definition.filePatterns);
    const tooMany = data.changedFiles.length > definition.restrictions.maxFileChanges;
    const problems = [
      ...(outside.length > 0 ? [{ code: 'FILES_OUTSIDE_PATTERNS', message: `Changed files outside role ${task.role}'s patterns: ${outside.join(', ')}`, files: outside }] : []),
      ...(tooMany ? [{ code: 'TOO_MANY_FILE_CHANGES', message: `${data.changedFiles.length} files changed; role ${task.role} allows ${definition.restrictions.maxFileChanges}`, limit: definition.restrictions.maxFileChanges }] : []),
    ];
    if (problems.length > 0 && !definition.restrictions.requireApproval) {
      throw unprocessable('ROLE_VALIDATION_ERROR', `Role ${task.role} may not make these changes: ${problems.map((p) => p.message).join('; ')}.`, {
        taskId: task.id,
        role: task.role,
        reasons: problems,
      }, 'Revert the offending files or hand the task to a role whose patterns cover them.');
    }
    if (problems.length > 0) {
      warnings.push(...problems.map((p) => p.message));
      status = 'review';
    }
  }
  return [
    {
      type: 'TaskCompleted',
      data: {
        taskId: task.id,
        projectId: state.projectId,
        agent: data.agent,
        status,
        output: data.output,
        artifacts: data.artifacts,
        changedFiles: data.changedFiles,
        warnings,
        completedAt: metadata.now,
      },
    },
  ];
};
