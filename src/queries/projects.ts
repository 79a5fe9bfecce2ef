import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import { OPEN_CHILDREN, READY_SQL } from './tasks.js';
import { notFound } from '../errors.js';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { PRIORITIES, type Priority, TASK_STATUSES, type TaskStatus } from '../events/vocabulary.js';

export type ProjectView = {
  id: string;
  name: string;
  description: string;
  taskCount: number;
  createdAt: string;
  updatedAt: string;
};

type ProjectRow = { id: string; name: string; description: string; created_at: string; updated_at: string; task_count: number };

const toView = (row: ProjectRow): ProjectView => ({
  id: row.id,
  name: row.name,
  description: row.description,
  taskCount: row.task_count,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const SELECT = 'SELECT p.*, (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id) AS task_count FROM projects p';

export const getProject = (db: Database.Database, id: string): ProjectView => {
  const row = prepared<[string], ProjectRow>(db, `${SELECT} WHERE p.id = ?`).get(id);
  if (!row) throw notFound('PROJECT_NOT_FOUND', `Project ${id} does not exist.`, { projectId: id });
  return toView(row);
};

export const projectExists = (db: Database.Database, id: string): boolean =>
  prepared<[string], { id: string }>(db, 'SELECT id FROM projects WHERE id = ?').get(id) !== undefined;

export const listProjects = (db: Database.Database, opts: { limit?: number; cursor?: string } = {}): Page<ProjectView> => {
  const limit = opts.limit ?? 20;
  const after = opts.cursor ? String(decodeCursor(opts.cursor, 1)[0]) : '';
  const rows = prepared<[string, number], ProjectRow>(db, `${SELECT} WHERE p.id > ? ORDER BY p.id LIMIT ?`).all(after, limit + 1);
  const page = rows.slice(0, limit);
  return { items: page.map(toView), nextCursor: rows.length > limit ? encodeCursor([page.at(-1)!.id]) : null };
};

/** Row counts of the read model, for `vespera stats`. */
export const readModelCounts = (db: Database.Database): { tasks: number; dependencies: number; projects: number } =>
  prepared<[], { tasks: number; dependencies: number; projects: number }>(
    db,
    'SELECT (SELECT COUNT(*) FROM tasks) AS tasks, (SELECT COUNT(*) FROM dependencies) AS dependencies, (SELECT COUNT(*) FROM projects) AS projects',
  ).get()!;

export type Dashboard = {
  projectId: string | null;
  total: number;
  byStatus: Record<TaskStatus, number>;
  byPriority: Record<Priority, number>;
  ready: number;
  /** Pending tasks waiting on at least one open hard dependency. */
  dependencyBlocked: number;
  dependencies: number;
  completion: number;
  topReady: { id: string; title: string; priority: Priority }[];
};

/** Counts for a project (or everything): small by design, whatever the project's size. */
export const getDashboard = (db: Database.Database, projectId?: string): Dashboard => {
  const scope = projectId === undefined ? '' : 'WHERE project_id = ?';
  const args = projectId === undefined ? [] : [projectId];
  if (projectId !== undefined) getProject(db, projectId);
  const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  const byPriority = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
  let total = 0;
  let ready = 0;
  let dependencyBlocked = 0;
  // `parent`: pending with an open child, so not ready (the rule of algorithms/readiness.ts); counted only for pending rows.
  const rows = prepared<unknown[], { status: TaskStatus; priority: Priority; waiting: number; parent: number; n: number }>(
    db,
    `SELECT status, priority, open_hard_deps > 0 AS waiting, (status = 'pending' AND ${OPEN_CHILDREN} > 0) AS parent, COUNT(*) AS n
       FROM tasks ${scope} GROUP BY status, priority, waiting, parent`,
  ).all(...args);
  for (const row of rows) {
    total += row.n;
    byStatus[row.status] += row.n;
    byPriority[row.priority] += row.n;
    if (row.status === 'pending') {
      if (row.waiting) dependencyBlocked += row.n;
      else if (!row.parent) ready += row.n;
    }
  }
  const dependencies = prepared<unknown[], { n: number }>(db, `SELECT COUNT(*) AS n FROM dependencies ${scope}`).get(...args)!.n;
  const topReady = prepared<unknown[], { id: string; title: string; priority: Priority }>(
    db,
    `SELECT id, title, priority FROM tasks WHERE ${projectId === undefined ? '' : 'project_id = ? AND '}${READY_SQL}
       ORDER BY priority_rank DESC, seq LIMIT 5`,
  )
    .all(...args)
    .map((t) => ({ ...t, title: t.title.length > 80 ? `${t.title.slice(0, 77)}...` : t.title }));
  const done = byStatus.completed + byStatus.cancelled;
  return {
    projectId: projectId ?? null,
    total,
    byStatus,
    byPriority,
    ready,
    dependencyBlocked,
    dependencies,
    completion: total === 0 ? 0 : Math.round((done / total) * 1000) / 10,
    topReady,
  };
};

export type HistoryEntry = {
  position: number;
  revision: number;
  type: string;
  at: string;
  actor: string;
  role: string | null;
  tool: string;
  changes: Record<string, unknown>;
};

/** What happened to a task, oldest first: who, through which tool, and which fields changed. */
export const getTaskHistory = (
  db: Database.Database,
  taskId: string,
  opts: { limit?: number; cursor?: string } = {},
): Page<HistoryEntry> & { taskId: string } => {
  const limit = opts.limit ?? 20;
  const after = opts.cursor ? Number(decodeCursor(opts.cursor, 1)[0]) : 0;
  const rows = prepared<[string, number, number], Omit<HistoryEntry, 'changes' | 'type'> & { changes: string; event_type: string }>(
    db,
    'SELECT position, revision, event_type, at, actor, role, tool, changes FROM task_history WHERE task_id = ? AND position > ? ORDER BY position LIMIT ?',
  ).all(taskId, after, limit + 1);
  if (rows.length === 0 && after === 0) throw notFound('TASK_NOT_FOUND', `Task ${taskId} has no history.`, { taskId });
  const page = rows.slice(0, limit);
  return {
    taskId,
    items: page.map(({ event_type, changes, ...rest }) => ({ ...rest, type: event_type, changes: JSON.parse(changes) as Record<string, unknown> })),
    nextCursor: rows.length > limit ? encodeCursor([page.at(-1)!.position]) : null,
  };
};
