import type { Event } from './types.js';
import type { DependencyKind, LinkKind, Priority, TaskStatus } from './vocabulary.js';

/** Events of the Project aggregate (stream `project-<projectId>`): its tasks, their tree and dependencies. */

/** The fields a caller may set on a task (on create, and later through UpdateTask). */
export type TaskFields = {
  title: string;
  description: string;
  priority: Priority;
  tags: string[];
  estimate: number | null;
  files: string[];
  requiredCapabilities: string[];
  metadata: Record<string, unknown>;
};

/** The names of those fields, in the order the API lists them. */
export const TASK_FIELD_NAMES = [
  'title',
  'description',
  'priority',
  'tags',
  'estimate',
  'files',
  'requiredCapabilities',
  'metadata',
] as const satisfies readonly (keyof TaskFields)[];

export type ProjectCreated = Event<'ProjectCreated', { projectId: string; name: string; description: string; createdAt: string }>;

export type TaskCreated = Event<
  'TaskCreated',
  TaskFields & { taskId: string; projectId: string; parentId: string | null; status: 'pending'; createdAt: string }
>;

export type TaskUpdated = Event<'TaskUpdated', { taskId: string; projectId: string; changes: Partial<TaskFields>; updatedAt: string }>;

export type TaskMoved = Event<
  'TaskMoved',
  { taskId: string; projectId: string; fromParentId: string | null; toParentId: string | null; movedAt: string }
>;

export type TaskStatusChanged = Event<
  'TaskStatusChanged',
  { taskId: string; projectId: string; from: TaskStatus; to: TaskStatus; reason?: string; changedAt: string }
>;

export type TaskDeleted = Event<'TaskDeleted', { taskId: string; projectId: string; deletedAt: string }>;

export type DependencyAdded = Event<
  'DependencyAdded',
  { taskId: string; projectId: string; dependsOn: string; kind: DependencyKind; addedAt: string }
>;

export type DependencyRemoved = Event<'DependencyRemoved', { taskId: string; projectId: string; dependsOn: string; removedAt: string }>;

/** A typed, non-blocking link from `taskId` to `target` (same project); it never changes readiness or the schedule. */
export type TaskLinked = Event<'TaskLinked', { taskId: string; projectId: string; kind: LinkKind; target: string; linkedAt: string }>;
export type TaskUnlinked = Event<'TaskUnlinked', { taskId: string; projectId: string; kind: LinkKind; target: string; unlinkedAt: string }>;

export type RoleAssigned = Event<
  'RoleAssigned',
  { taskId: string; projectId: string; role: string; previousRole: string | null; assignedAt: string }
>;

export type RoleUnassigned = Event<'RoleUnassigned', { taskId: string; projectId: string; role: string; unassignedAt: string }>;

/**
 * Files a claim could not have because another agent holds them: under a live claim (`holderTaskId`, until
 * `leaseExpiresAt`) or an advisory mark (`holderTaskId` null; `leaseExpiresAt` the mark's end, null while it lasts
 * with the holder's lease).
 */
export type FileConflict = {
  taskId: string;
  files: string[];
  holder: string;
  holderTaskId: string | null;
  leaseExpiresAt: string | null;
};

/**
 * `skipped` (claim_next_task: better-ranked tasks passed over for their files) and `forcedOver` (an explicit claim
 * with `force: true` despite a file conflict) appear only when not empty, so older events read the same.
 */
export type TaskClaimed = Event<
  'TaskClaimed',
  {
    taskId: string;
    projectId: string;
    agent: string;
    role: string | null;
    from: TaskStatus;
    leaseExpiresAt: string;
    claimedAt: string;
    skipped?: FileConflict[];
    forcedOver?: FileConflict[];
  }
>;
/** What an agent reports it spent (heartbeat or completion); optional, so events logged before it fold unchanged. */
export type Usage = { inputTokens?: number; outputTokens?: number; costUsd?: number; model?: string };
/** `note`: the agent's status note ("writing the parser"), optional like `usage`, so older events fold unchanged. */
export type LeaseExtended = Event<
  'LeaseExtended',
  { taskId: string; projectId: string; agent: string; leaseExpiresAt: string; extendedAt: string; usage?: Usage; note?: string }
>;
/** Schema version 2: `forced` says an administrator broke the holder's lease (`forcedBy`); v1 events are upcast (src/events/upcasters.ts). */
export type TaskReleased = Event<
  'TaskReleased',
  { taskId: string; projectId: string; agent: string; reason: string; releasedAt: string; forced: boolean; forcedBy: string | null }
>;
export type LeaseExpired = Event<'LeaseExpired', { taskId: string; projectId: string; agent: string; leaseExpiresAt: string; expiredAt: string }>;
export type TaskCompleted = Event<
  'TaskCompleted',
  {
    taskId: string;
    projectId: string;
    agent: string;
    /** `review` when the role requires approval of changes outside its patterns. */
    status: 'completed' | 'review';
    output: string;
    artifacts: string[];
    changedFiles: string[];
    warnings: string[];
    completedAt: string;
    usage?: Usage;
  }
>;

/** Advisory marks on files an agent edits outside a claimed task's list; `expiresAt` null: as long as the agent holds a lease here. */
export type FilesMarked = Event<
  'FilesMarked',
  { projectId: string; agent: string; files: string[]; expiresAt: string | null; overlaps: FileConflict[]; markedAt: string }
>;
/** `files` empty: every mark of the agent. */
export type FilesUnmarked = Event<'FilesUnmarked', { projectId: string; agent: string; files: string[]; unmarkedAt: string }>;

export type ProjectEvent =
  | ProjectCreated
  | TaskCreated
  | TaskUpdated
  | TaskMoved
  | TaskStatusChanged
  | TaskDeleted
  | DependencyAdded
  | DependencyRemoved
  | TaskLinked
  | TaskUnlinked
  | RoleAssigned
  | RoleUnassigned
  | TaskClaimed
  | LeaseExtended
  | TaskReleased
  | LeaseExpired
  | TaskCompleted
  | FilesMarked
  | FilesUnmarked;

export const PROJECT_EVENT_TYPES: ReadonlySet<string> = new Set<ProjectEvent['type']>([
  'ProjectCreated',
  'TaskCreated',
  'TaskUpdated',
  'TaskMoved',
  'TaskStatusChanged',
  'TaskDeleted',
  'DependencyAdded',
  'DependencyRemoved',
  'TaskLinked',
  'TaskUnlinked',
  'RoleAssigned',
  'RoleUnassigned',
  'TaskClaimed',
  'LeaseExtended',
  'TaskReleased',
  'LeaseExpired',
  'TaskCompleted',
  'FilesMarked',
  'FilesUnmarked',
]);

export const DEFAULT_PROJECT_ID = 'default';
export const projectStreamId = (projectId: string) => `project-${projectId}`;
export const projectIdFromStream = (streamId: string) => streamId.slice('project-'.length);

/**
 * Status transitions. `blocked` is a manual status; a task waiting on an open hard dependency is
 * *dependency-blocked* (computed) and stays `pending`. Reopening is explicit: completed → in_progress,
 * cancelled → pending.
 */
export const STATUS_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['in_progress', 'blocked', 'completed', 'cancelled'],
  in_progress: ['pending', 'blocked', 'review', 'completed', 'cancelled'],
  blocked: ['pending', 'in_progress', 'cancelled'],
  review: ['in_progress', 'completed', 'cancelled'],
  completed: ['in_progress'],
  cancelled: ['pending'],
};

/**
 * The status a task is left in by the events that move it without a TaskStatusChanged: claims, releases, lease
 * expiries and completions (a completion lands in `review` instead when its data says so). What the read models follow.
 */
export const STATUS_AFTER_EVENT: Readonly<Record<string, TaskStatus>> = {
  TaskClaimed: 'in_progress',
  TaskReleased: 'pending',
  LeaseExpired: 'pending',
  TaskCompleted: 'completed',
};

/** Statuses that require every hard dependency to be completed first. */
export const STATUSES_NEEDING_DEPENDENCIES: ReadonlySet<TaskStatus> = new Set(['in_progress', 'review', 'completed']);
