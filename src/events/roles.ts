import type { Event } from './types.js';

/** Events of the RoleCatalog aggregate (stream `roles`). Definitions are camelCase on the wire. */
export type RoleRestrictions = {
  maxFileChanges: number;
  maxTaskDepth: number;
  requireApproval: boolean;
  timeLimitMinutes: number;
};

export type RoleSpec = {
  name: string;
  description: string;
  capabilities: string[];
  filePatterns: string[];
  tools: string[];
  /** In-progress tasks the role may hold at once across all its agents; null: no role-wide cap. */
  maxConcurrentTasks: number | null;
  /** In-progress tasks one agent of the role may hold at once; null or absent (events before it existed): no cap. */
  maxConcurrentTasksPerAgent?: number | null;
  restrictions: RoleRestrictions;
};

/** Where a role comes from: a shipped YAML file (read-only through the API) or the API itself. */
export type RoleSource = { kind: 'yaml'; file: string } | { kind: 'custom' };

export type RoleDefined = Event<'RoleDefined', { role: RoleSpec; source: RoleSource; definedAt: string }>;
export type RoleChanged = Event<'RoleChanged', { role: RoleSpec; source: RoleSource; changedAt: string }>;
export type RoleRetired = Event<'RoleRetired', { name: string; retiredAt: string }>;

export type RoleEvent = RoleDefined | RoleChanged | RoleRetired;

export const ROLES_STREAM = 'roles';
export const ROLE_EVENT_TYPES: ReadonlySet<string> = new Set<RoleEvent['type']>(['RoleDefined', 'RoleChanged', 'RoleRetired']);
