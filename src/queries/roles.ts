import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import { notFound } from '../errors.js';
import type { RoleSource, RoleSpec } from '../events/roles.js';

export type RoleView = RoleSpec & { maxConcurrentTasksPerAgent: number | null } & {
  source: RoleSource;
  retired: boolean;
  version: number;
  updatedAt: string;
};

type RoleRow = {
  name: string;
  description: string;
  capabilities: string;
  file_patterns: string;
  tools: string;
  max_concurrent_tasks: number | null;
  max_per_agent: number | null;
  restrictions: string;
  source: string;
  retired: number;
  version: number;
  updated_at: string;
};

const toView = (row: RoleRow): RoleView => ({
  name: row.name,
  description: row.description,
  capabilities: JSON.parse(row.capabilities) as string[],
  filePatterns: JSON.parse(row.file_patterns) as string[],
  tools: JSON.parse(row.tools) as string[],
  maxConcurrentTasks: row.max_concurrent_tasks,
  maxConcurrentTasksPerAgent: row.max_per_agent,
  restrictions: JSON.parse(row.restrictions) as RoleSpec['restrictions'],
  source: JSON.parse(row.source) as RoleSource,
  retired: row.retired === 1,
  version: row.version,
  updatedAt: row.updated_at,
});

export const listRoles = (db: Database.Database, opts: { includeRetired?: boolean } = {}): RoleView[] =>
  prepared<[], RoleRow>(db, `SELECT * FROM roles ${opts.includeRetired ? '' : 'WHERE retired = 0'} ORDER BY name`)
    .all()
    .map(toView);

export const getRole = (db: Database.Database, name: string): RoleView => {
  const row = prepared<[string], RoleRow>(db, 'SELECT * FROM roles WHERE name = ?').get(name);
  if (!row) throw notFound('ROLE_NOT_FOUND', `Role ${name} does not exist.`, { role: name });
  return toView(row);
};

/** `limit` null: no role-wide cap, and `utilisation` is null with it. */
export type RoleWorkload = {
  role: string;
  assigned: number;
  inProgress: number;
  limit: number | null;
  perAgentLimit: number | null;
  utilisation: number | null;
};

/** Per role: open tasks assigned to it, those in progress, its limit and how full it is. */
export const roleWorkload = (db: Database.Database, role?: string): RoleWorkload[] => {
  const rows = prepared<
    unknown[],
    { name: string; max_concurrent_tasks: number | null; max_per_agent: number | null; assigned: number; in_progress: number }
  >(
    db,
    `SELECT r.name, r.max_concurrent_tasks, r.max_per_agent,
         (SELECT COUNT(*) FROM tasks t WHERE t.role = r.name AND t.status NOT IN ('completed', 'cancelled')) AS assigned,
         (SELECT COUNT(*) FROM tasks t WHERE t.role = r.name AND t.status = 'in_progress') AS in_progress
       FROM roles r WHERE r.retired = 0 ${role === undefined ? '' : 'AND r.name = ?'} ORDER BY r.name`,
  ).all(...(role === undefined ? [] : [role]));
  return rows.map((r) => ({
    role: r.name,
    assigned: r.assigned,
    inProgress: r.in_progress,
    limit: r.max_concurrent_tasks,
    perAgentLimit: r.max_per_agent,
    utilisation: r.max_concurrent_tasks === null ? null : Math.round((r.in_progress / r.max_concurrent_tasks) * 1000) / 1000,
  }));
};

/** In-progress tasks of one role: the workload lookup the command side may use (DESIGN §5). */
export const inProgressOfRole = (db: Database.Database, role: string): number =>
  prepared<[string], { n: number }>(db, "SELECT COUNT(*) AS n FROM tasks WHERE role = ? AND status = 'in_progress'").get(role)!.n;

/** One agent's in-progress tasks of a role outside a project: the cross-project half of the per-agent cap (soft). */
export const inProgressOfAgent = (db: Database.Database, role: string, agent: string, exceptProjectId: string): number =>
  prepared<[string, string, string], { n: number }>(
    db,
    "SELECT COUNT(*) AS n FROM tasks WHERE role = ? AND claimed_by = ? AND project_id <> ? AND status = 'in_progress'",
  ).get(role, agent, exceptProjectId)!.n;

/** In-progress tasks per role. */
export const inProgressByRole = (db: Database.Database): Map<string, number> =>
  new Map(
    prepared<[], { role: string; n: number }>(
      db,
      "SELECT role, COUNT(*) AS n FROM tasks WHERE role IS NOT NULL AND status = 'in_progress' GROUP BY role",
    )
      .all()
      .map((r) => [r.role, r.n]),
  );

export type RoleStatus = 'live' | 'retired' | undefined;

/** Whether a role exists and is live: the per-request check behind `X-Vespera-Role` (one primary-key read). */
export const roleStatusOf = (db: Database.Database) => {
  const role = prepared<[string], { retired: number }>(db, 'SELECT retired FROM roles WHERE name = ?');
  return (name: string): RoleStatus => {
    const row = role.get(name);
    if (!row) return undefined;
    return row.retired === 1 ? 'retired' : 'live';
  };
};
