/**
 * The domain's closed vocabularies, in one place: events carry them, deciders check them, the API's JSON Schemas
 * enumerate them. Adding a value here is a domain change (and usually a new event schema version).
 */

export const TASK_STATUSES = ['pending', 'in_progress', 'blocked', 'review', 'completed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const DEPENDENCY_KINDS = ['hard', 'soft'] as const;
export type DependencyKind = (typeof DEPENDENCY_KINDS)[number];

/**
 * Typed links between tasks of one project, beside dependencies and never blocking: `discovered_from` (work found
 * while doing the target), `duplicates` (the same work as the target), `related`.
 */
export const LINK_KINDS = ['discovered_from', 'duplicates', 'related'] as const;
export type LinkKind = (typeof LINK_KINDS)[number];

/** What a role can do (its capabilities) and what a task needs (its required capabilities). */
export const TOOL_GROUPS = [
  'code_writing',
  'code_analysis',
  'testing',
  'deployment',
  'documentation',
  'project_management',
  'data_analysis',
  'design',
] as const;
export type ToolGroup = (typeof TOOL_GROUPS)[number];

/** What a plugin's token may do; every operation names the one it needs. */
export const CAPABILITIES = [
  'task_creation',
  'task_reading',
  'task_modification',
  'task_deletion',
  'search',
  'role_management',
  'file_context',
  /** Ask the graph read model read-only Cypher (`POST /graph/query`): every project's tasks, whatever else the token may read. */
  'graph_query',
  /** Read the whole event log and the state as of any point (`/audit/*`). */
  'audit_reading',
  /** Undo a request, verify and rebuild read models, back up and restore (`audit_reading` included). */
  'audit_admin',
  'admin',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Capabilities that hold others: `admin` holds every capability, `audit_admin` holds `audit_reading`. */
export const IMPLIED_CAPABILITIES: Readonly<Partial<Record<Capability, readonly Capability[]>>> = {
  admin: CAPABILITIES,
  audit_admin: ['audit_reading'],
};

/** Whether a token carrying `granted` may do what `required` names. */
export const holdsCapability = (granted: readonly string[], required: Capability): boolean =>
  granted.some((g) => g === required || (IMPLIED_CAPABILITIES[g as Capability] ?? []).includes(required));
