import { conflict, DomainError, notFound, unprocessable } from '../../errors.js';
import type { FileConflict, ProjectEvent, Usage } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import { isForRole } from '../../algorithms/readiness.js';
import { filesOutsidePatterns, roleFitsTask, type AssignableRole } from '../roles/assignment.js';
import type { Rule } from './rule.js';
import {
  requireChildrenClosed,
  requireDependenciesMet,
  requireHolder,
  requireLease,
  requireProject,
  requireRoleFits,
  requireTask,
} from './guards.js';
import type { ProjectState, TaskNode } from './project.js';
import { rankReadyTasks } from './readiness.js';
import { fileConflicts, leasesHeldBy, reservations } from './files.js';

/**
 * The role an agent acts for, resolved by the caller from the `roles` stream (null: unknown role); `inProgress` is
 * the role's workload, `agentElsewhere` the agent's tasks of that role in progress in other projects (read model).
 */
type RoleContext = { role?: string; definition?: AssignableRole | null; inProgress?: number; agentElsewhere?: number };

/** `force`: claim even though another agent holds some of the task's files (recorded as `forcedOver`). */
export type ClaimTask = Command<'ClaimTask', { taskId: string; agent: string; leaseSeconds: number; force?: boolean } & RoleContext>;
export type ClaimNextTask = Command<
  'ClaimNextTask',
  { agent: string; leaseSeconds: number; role: string; definition: AssignableRole | null; inProgress: number; agentElsewhere?: number }
>;
/** `note`: the agent's status note, kept on the task while the claim lives (the API bounds its length). */
export type Heartbeat = Command<'Heartbeat', { taskId: string; agent: string; leaseSeconds: number; usage?: Usage; note?: string }>;
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

const MAX_REPORTED = 20;

const claimEvents = (
  state: ProjectState,
  task: TaskNode,
  agent: string,
  role: string | null,
  leaseSeconds: number,
  now: string,
  files: { skipped?: FileConflict[]; forcedOver?: FileConflict[] } = {},
): ProjectEvent[] => [
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
      ...(files.skipped?.length ? { skipped: files.skipped.slice(0, MAX_REPORTED) } : {}),
      ...(files.forcedOver?.length ? { forcedOver: files.forcedOver } : {}),
    },
  },
];

const describeConflict = (c: FileConflict): string =>
  `${c.files.join(', ')} ${c.holderTaskId ? `under task ${c.holderTaskId}` : 'under a mark'} of ${c.holder}${c.leaseExpiresAt ? ` until ${c.leaseExpiresAt}` : ''}`;

/** Tasks of `role` this agent (of this plugin) holds under a live lease in the project. */
const heldByAgent = (state: ProjectState, role: string, actor: string, agent: string, now: string): string[] =>
  leasesHeldBy(state, actor, agent, now)
    .filter((task) => task.role === role)
    .map((task) => task.id);

/** The role's per-agent cap: strict within the project, plus what the read model counts for the agent elsewhere. */
const requireAgentSlot = (
  state: ProjectState,
  role: string,
  definition: AssignableRole,
  actor: string,
  agent: string,
  now: string,
  elsewhere = 0,
) => {
  const limit = definition.maxConcurrentTasksPerAgent ?? null;
  if (limit === null) return;
  const held = heldByAgent(state, role, actor, agent, now);
  const inProgress = held.length + elsewhere;
  if (inProgress < limit) return;
  throw unprocessable(
    'ROLE_VALIDATION_ERROR',
    `Agent ${agent} already holds ${inProgress} ${role} task(s) in progress (limit ${limit} per agent).`,
    {
      role,
      agent,
      reasons: [{ code: 'AGENT_WORKLOAD_LIMIT', message: 'The agent is at its per-agent concurrency limit.', inProgress, limit, held }],
    },
    'Complete or release one of your tasks first.',
  );
};

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
  if (data.role !== undefined && data.definition)
    requireAgentSlot(state, data.role, data.definition, metadata.actor, data.agent, now, data.agentElsewhere);
  const conflicts = fileConflicts(reservations(state, now), task.id, task.fields.files, metadata.actor, data.agent);
  if (conflicts.length > 0 && !data.force) {
    const [first] = conflicts;
    throw conflict(
      'FILE_CONFLICT',
      `Task ${task.id} touches files another agent holds: ${conflicts.map(describeConflict).join('; ')}.`,
      { taskId: task.id, holder: first!.holder, holderTaskId: first!.holderTaskId, leaseExpiresAt: first!.leaseExpiresAt, conflicts },
      'Pick another task (claim_next_task skips these), wait for the holder to finish, or claim with force: true (recorded in the event).',
    );
  }
  return claimEvents(state, task, data.agent, role, data.leaseSeconds, now, { forcedOver: conflicts });
};

export const claimNextTask: Rule<ClaimNextTask> = ({ data, metadata }, state, rules) => {
  requireProject(state);
  if (!data.definition) throw notFound('ROLE_NOT_FOUND', `Role ${data.role} does not exist.`, { role: data.role });
  if (data.definition.retired) throw conflict('ROLE_RETIRED', `Role ${data.role} is retired.`, { role: data.role });
  const roleLimit = data.definition.maxConcurrentTasks;
  if (roleLimit !== null && data.inProgress >= roleLimit) {
    throw unprocessable('ROLE_VALIDATION_ERROR', `Role ${data.role} already has ${data.inProgress} tasks in progress (limit ${roleLimit}).`, {
      role: data.role,
      reasons: [
        {
          code: 'WORKLOAD_LIMIT',
          message: 'The role is at its concurrency limit.',
          inProgress: data.inProgress,
          limit: roleLimit,
        },
      ],
    });
  }
  requireAgentSlot(state, data.role, data.definition, metadata.actor, data.agent, metadata.now, data.agentElsewhere);
  const definition = data.definition;
  const fits = (task: TaskNode) =>
    isForRole(task.role, data.role, () =>
      roleFitsTask(definition, data.role, { requiredCapabilities: task.fields.requiredCapabilities, files: task.fields.files, depth: task.depth }),
    );
  const held = reservations(state, metadata.now);
  const skipped: FileConflict[] = [];
  for (const task of rankReadyTasks(state, metadata.now, fits, rules.defaultEstimate)) {
    const conflicts = fileConflicts(held, task.id, task.fields.files, metadata.actor, data.agent);
    if (conflicts.length === 0) return claimEvents(state, task, data.agent, data.role, data.leaseSeconds, metadata.now, { skipped });
    if (skipped.length < MAX_REPORTED) skipped.push(...conflicts.slice(0, MAX_REPORTED - skipped.length));
  }
  const why = skipped.length > 0 ? ` that other agents' files leave free (${skipped.length} skipped for their files)` : '';
  throw new DomainError('NO_READY_TASK', 404, `No ready task fits role ${data.role} in project ${state.projectId}${why}.`, {
    role: data.role,
    ...(skipped.length > 0 ? { skipped } : {}),
  });
};

export const heartbeat: Rule<Heartbeat> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTask(state, data.taskId);
  requireHolder(task, metadata.actor, data.agent, metadata.now);
  const leaseExpiresAt = plusSeconds(metadata.now, data.leaseSeconds);
  return [
    {
      type: 'LeaseExtended',
      data: {
        taskId: task.id,
        projectId: state.projectId,
        agent: data.agent,
        leaseExpiresAt,
        extendedAt: metadata.now,
        ...usageOf(data),
        ...(data.note === undefined ? {} : { note: data.note }),
      },
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
  requireChildrenClosed(state, task);
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
