import type { ProjectCommand } from '../../../src/commands/project/decider.js';
import type { AssignableRole } from '../../../src/commands/roles/assignment.js';
import type {
  ProjectCreated,
  ProjectEvent,
  TaskClaimed,
  TaskCompleted,
  TaskCreated,
  TaskFields,
  TaskStatusChanged,
} from '../../../src/events/project.js';
import type { TaskStatus } from '../../../src/events/vocabulary.js';

/** Events and commands for the claim rule specs (parent rules, per-agent limits, file-aware claims). */

export const P = 'p1';
export const T0 = '2026-01-01T00:00:00.000Z';
export const LEASE = 600;
export const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

export const coder: AssignableRole = {
  name: 'coder',
  description: 'Writes code.',
  capabilities: ['code_writing', 'code_analysis', 'testing'],
  filePatterns: ['src/**', 'test/**', 'docs/**', '*.md'],
  tools: ['read_file'],
  maxConcurrentTasks: null,
  maxConcurrentTasksPerAgent: 2,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 4, requireApproval: false, timeLimitMinutes: 120 },
};

export type When = { now?: string; as?: string };

export const metadata = (now = T0, actor = 'test') => ({ now, commandId: `c-${now}`, actor, tool: 'test' });

export const projectCreated = (): ProjectCreated => ({
  type: 'ProjectCreated',
  data: { projectId: P, name: 'Project one', description: '', createdAt: T0 },
});

export const taskCreated = (taskId: string, opts: Partial<TaskFields> & { parentId?: string | null; createdAt?: string } = {}): TaskCreated => {
  const { parentId = null, createdAt = T0, ...fields } = opts;
  return {
    type: 'TaskCreated',
    data: {
      taskId,
      projectId: P,
      parentId,
      title: `Task ${taskId}`,
      description: '',
      status: 'pending',
      priority: 'normal',
      tags: [],
      estimate: null,
      files: [],
      requiredCapabilities: [],
      metadata: {},
      ...fields,
      createdAt,
    },
  };
};

export const tasks = (...ids: string[]): ProjectEvent[] => [projectCreated(), ...ids.map((id) => taskCreated(id))];

export const statusChanged = (taskId: string, from: TaskStatus, to: TaskStatus): TaskStatusChanged => ({
  type: 'TaskStatusChanged',
  data: { taskId, projectId: P, from, to, changedAt: T0 },
});

export const taskClaimed = (
  taskId: string,
  agent: string,
  opts: { role?: string | null; at?: number; seconds?: number; extra?: Partial<TaskClaimed['data']> } = {},
): TaskClaimed => {
  const { role = null, at: start = 0, seconds = LEASE, extra = {} } = opts;
  return {
    type: 'TaskClaimed',
    data: { taskId, projectId: P, agent, role, from: 'pending', leaseExpiresAt: at(start + seconds), claimedAt: at(start), ...extra },
  };
};

export const taskCompleted = (taskId: string, agent: string, opts: { at?: number } = {}): TaskCompleted => ({
  type: 'TaskCompleted',
  data: {
    taskId,
    projectId: P,
    agent,
    status: 'completed',
    output: '',
    artifacts: [],
    changedFiles: [],
    warnings: [],
    completedAt: at(opts.at ?? 0),
  },
});

export const claim = (
  taskId: string,
  agent: string,
  opts: When & { role?: string; definition?: AssignableRole | null; inProgress?: number; force?: boolean } = {},
): ProjectCommand => {
  const { now, as, ...rest } = opts;
  return { type: 'ClaimTask', data: { taskId, agent, leaseSeconds: LEASE, ...rest }, metadata: metadata(now, as) };
};

export const claimNext = (
  agent: string,
  opts: When & { role?: string; definition?: AssignableRole | null; inProgress?: number; agentElsewhere?: number } = {},
): ProjectCommand => {
  const { now, as, role = 'coder', definition = coder, inProgress = 0, agentElsewhere } = opts;
  const elsewhere = agentElsewhere === undefined ? {} : { agentElsewhere };
  return { type: 'ClaimNextTask', data: { agent, leaseSeconds: LEASE, role, definition, inProgress, ...elsewhere }, metadata: metadata(now, as) };
};

export const complete = (taskId: string, agent: string, opts: When = {}): ProjectCommand => ({
  type: 'CompleteTask',
  data: { taskId, agent, output: '', artifacts: [], changedFiles: [] },
  metadata: metadata(opts.now, opts.as),
});

export const changeStatus = (taskId: string, status: TaskStatus, opts: When = {}): ProjectCommand => ({
  type: 'ChangeTaskStatus',
  data: { taskId, status },
  metadata: metadata(opts.now, opts.as),
});
