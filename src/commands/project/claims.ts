import { conflict, DomainError, notFound, unprocessable } from '../../errors.js';
import type { ProjectEvent, Usage } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import { filesOutsidePatterns, type AssignableRole } from '../roles/assignment.js';
import type { Rule } from './rule.js';
import { requireDependenciesMet, requireHolder, requireLease, requireProject, requireRoleFits, requireTask, roleRefusal } from './guards.js';
import type { ProjectState, TaskNode } from './project.js';
import { rankReadyTasks } from './readiness.js';

/** The role an agent acts for, resolved by the caller from the `roles` stream (null: unknown role). */
type RoleContext = { role?: string; definition?: AssignableRole | null; inProgress?: number };

export type ClaimTask = Command<'ClaimTask', { taskId: string; agent: string; leaseSeconds: number } & RoleContext>;
export type ClaimNextTask = Command<
  'ClaimNextTask',
  { agent: string; leaseSeconds: number; role: string; definition: AssignableRole | null; inProgress: number }
>;
export type Heartbeat = Command<'Heartbeat', { taskId: string; agent: string; leaseSeconds: number; usage?: Usage }>;
/** `force`: an administrator breaks someone else's lease (the API checks the capability). */
export type ReleaseTask = Command<'ReleaseTask', { taskId: string; agent: string; reason?: string; force?: boolean }>;
export type ExpireLease = Command<'ExpireLease', { taskId: string }>;
export type CompleteTask = Command<
  'CompleteTask',
  { taskId: string; agent: string; output: string; artifacts: string[]; changedFiles: string[]; definition?: AssignableRole | null; usage?: Usage }
>;
export type ClaimCommand = ClaimTask | ClaimNextTask | Heartbeat | ReleaseTask | ExpireLease | CompleteTask;

/** The reported usage as an optional event field: absent when nothing was reported, so such events keep their old shape. */
const usageOf = (data: { usage?: Usage }) => (data.usage && Object.keys(data.usage).length > 0 ? { usage: data.usage } : {});

const plusSeconds = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** Events for an expired lease found while deciding, so a claim never waits for the sweeper. */
const expireIfDue = (state: ProjectState, task: TaskNode, now: string): ProjectEvent[] =>
  task.lease && task.lease.expiresAt <= now
    ? [
        {
          type: 'LeaseExpired',
          data: { taskId: task.id, projectId: state.projectId, agent: task.lease.agent, leaseExpiresAt: task.lease.expiresAt, expiredAt: now },
        },
      ]
    : [];

const claimEvents = (state: ProjectState, task: TaskNode, agent: string, role: string | null, leaseSeconds: number, now: string): ProjectEvent[] => [
  ...expireIfDue(state, task, now),
  {
    type: 'TaskClaimed',
    data: {
      taskId: task.id,
      projectId: state.projectId,
      agent,
      role,
      from: 'pending',
      leaseExpiresAt: plusSeconds(now, leaseSeconds),
      claimedAt: now,
    },
  },
];

export const claimTask: Rule<ClaimTask> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  const { lease } = task;
  const now = metadata.now;
  if (lease && lease.expiresAt > now) {
    if (lease.holder === metadata.actor && lease.agent === data.agent) return [];
    throw conflict(
      'ALREADY_CLAIMED',
      `Task ${task.id} is claimed by ${lease.agent} until ${lease.expiresAt}.`,
      {
        taskId: task.id,
        holder: lease.agent,
        leaseExpiresAt: lease.expiresAt,
      },
      'Pick another task (claim_next_task).',
    );
  }
  const expired = lease !== null;
  if (task.status !== 'pending' && !(expired && task.status === 'in_progress')) {
    throw conflict('TASK_NOT_CLAIMABLE', `Task ${task.id} is ${task.status}; only pending tasks can be claimed.`, {
      taskId: task.id,
      status: task.status,
    });
  }
  requireDependenciesMet(state, task);
  const role = data.role ?? task.role;
  if (data.role !== undefined && task.role !== null && task.role !== data.role) {
    throw conflict('ROLE_MISMATCH', `Task ${task.id} is assigned to ${task.role}, not ${data.role}.`, { taskId: task.id, role: task.role });
  }
  if (data.role !== undefined) requireRoleFits(data.role, task, data.definition, data.inProgress ?? 0);
  return claimEvents(state, task, data.agent, role, data.leaseSeconds, now);
};

export const claimNextTask: Rule<ClaimNextTask> = ({ data, metadata }, state, rules) => {
  requireProject(state);
  if (!data.definition) throw notFound('ROLE_NOT_FOUND', `Role ${data.role} does not exist.`, { role: data.role });
  if (data.definition.retired) throw conflict('ROLE_RETIRED', `Role ${data.role} is retired.`, { role: data.role });
  if (data.inProgress >= data.definition.maxConcurrentTasks) {
    throw unprocessable(
      'ROLE_VALIDATION_ERROR',
      `Role ${data.role} already has ${data.inProgress} tasks in progress (limit ${data.definition.maxConcurrentTasks}).`,
      {
        role: data.role,
        reasons: [
          {
            code: 'WORKLOAD_LIMIT',
            message: 'The role is at its concurrency limit.',
            inProgress: data.inProgress,
            limit: data.definition.maxConcurrentTasks,
          },
        ],
      },
    );
  }
  const fits = (task: TaskNode) =>
    task.role === null ? roleRefusal(data.role, task, data.definition, data.inProgress) === undefined : task.role === data.role;
  const best = rankReadyTasks(state, metadata.now, fits, rules.defaultEstimate)[0];
  if (!best) throw new DomainError('NO_READY_TASK', 404, `No ready task fits role ${data.role} in project ${state.projectId}.`, { role: data.role });
  return claimEvents(state, best, data.agent, data.role, data.leaseSeconds, metadata.now);
};

export const heartbeat: Rule<Heartbeat> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireHolder(task, metadata.actor, data.agent, metadata.now);
  const leaseExpiresAt = plusSeconds(metadata.now, data.leaseSeconds);
  return [
    {
      type: 'LeaseExtended',
      data: { taskId: task.id, projectId: state.projectId, agent: data.agent, leaseExpiresAt, extendedAt: metadata.now, ...usageOf(data) },
    },
  ];
};

export const releaseTask: Rule<ReleaseTask> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  if (!data.force) requireHolder(task, metadata.actor, data.agent, metadata.now);
  const agent = data.force ? requireLease(task).agent : data.agent;
  const reason = data.reason ?? (data.force ? 'lease broken by an administrator' : 'released');
  const forced = data.force === true;
  return [
    {
      type: 'TaskReleased',
      data: {
        taskId: task.id,
        projectId: state.projectId,
        agent,
        reason,
        releasedAt: metadata.now,
        forced,
        forcedBy: forced ? metadata.actor : null,
      },
    },
  ];
};

/** The sweeper's command: a lease that was extended or already ended makes this a no-op. */
export const expireLease: Rule<ExpireLease> = ({ data, metadata }, state) => {
  const task = state.tasks.get(data.taskId);
  return task ? expireIfDue(state, task, metadata.now) : [];
};

export const completeTask: Rule<CompleteTask> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireHolder(task, metadata.actor, data.agent, metadata.now);
  const warnings: string[] = [];
  let status: 'completed' | 'review' = 'completed';
  const definition = data.definition;
  if (task.role && definition) {
    const outside = filesOutsidePatterns(data.changedFiles, definition.filePatterns);
    const tooMany = data.changedFiles.length > definition.restrictions.maxFileChanges;
    const problems = [
      ...(outside.length > 0
        ? [{ code: 'FILES_OUTSIDE_PATTERNS', message: `Changed files outside role ${task.role}'s patterns: ${outside.join(', ')}`, files: outside }]
        : []),
      ...(tooMany
        ? [
            {
              code: 'TOO_MANY_FILE_CHANGES',
              message: `${data.changedFiles.length} files changed; role ${task.role} allows ${definition.restrictions.maxFileChanges}`,
              limit: definition.restrictions.maxFileChanges,
            },
          ]
        : []),
    ];
    if (problems.length > 0 && !definition.restrictions.requireApproval) {
      throw unprocessable(
        'ROLE_VALIDATION_ERROR',
        `Role ${task.role} may not make these changes: ${problems.map((p) => p.message).join('; ')}.`,
        {
          taskId: task.id,
          role: task.role,
          reasons: problems,
        },
        'Revert the offending files or hand the task to a role whose patterns cover them.',
      );
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
        ...usageOf(data),
      },
    },
  ];
};
