import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import { notFound } from '../errors.js';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { ftsQuery } from './fts.js';
import { TASK_STATUSES, type LinkKind, type Priority, type TaskStatus } from '../events/vocabulary.js';
import { isForRole, isOpenStatus, isReady } from '../algorithms/readiness.js';

export type TaskRow = {
  id: string;
  project_id: string;
  parent_id: string | null;
  path: string;
  depth: number;
  title: string;
  description: string;
  status: TaskStatus;
  priority: Priority;
  priority_rank: number;
  role: string | null;
  tags: string;
  estimate: number | null;
  files: string;
  required_capabilities: string;
  metadata: string;
  open_hard_deps: number;
  claimed_by: string | null;
  lease_expires_at: string | null;
  result: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  seq: number;
  status_note: string | null;
  status_note_at: string | null;
  /** Children neither completed nor cancelled; selected (OPEN_CHILDREN) where readiness matters, absent elsewhere. */
  open_children?: number;
};

/**
 * The statuses of an open child (neither completed nor cancelled), spelled out so that the (parent_id, status) index
 * seeks them: `NOT IN ('completed', 'cancelled')` would walk past every finished child of a big parent first.
 */
const OPEN_STATUSES_SQL = TASK_STATUSES.filter(isOpenStatus)
  .map((s) => `'${s}'`)
  .join(', ');
/** The read side's facts for the shared readiness rule (algorithms/readiness.ts), as SQL over `tasks`. */
export const OPEN_CHILDREN = `(SELECT COUNT(*) FROM tasks c WHERE c.parent_id = tasks.id AND c.status IN (${OPEN_STATUSES_SQL}))`;
/** The same rule: NOT EXISTS stops at a parent's first open child, where counting them all would read every one. */
export const READY_SQL = `status = 'pending' AND open_hard_deps = 0 AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = tasks.id AND c.status IN (${OPEN_STATUSES_SQL}))`;
const TASK_COLUMNS = `*, ${OPEN_CHILDREN} AS open_children`;

export type TaskView = {
  id: string;
  projectId: string;
  parentId: string | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: Priority;
  role: string | null;
  tags: string[];
  estimate: number | null;
  files: string[];
  requiredCapabilities: string[];
  metadata: Record<string, unknown>;
  depth: number;
  /** True when pending, every hard dependency is completed and no child is open. */
  ready: boolean;
  /** Hard dependencies not yet completed. */
  openDependencies: number;
  /** The agent holding a live claim, and until when. */
  claimedBy: string | null;
  leaseExpiresAt: string | null;
  /** The claiming agent's last heartbeat note and when it was sent, while the claim lives. */
  statusNote: { note: string; at: string } | null;
  /** What the agent reported when it completed the task. */
  result: TaskResult | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Typed links to (`out`) and from (`in`) other tasks; only on a single task's answer (GET /tasks/:id and writes). */
  links?: TaskLink[];
};

/** A typed link as a task shows it: `out` from this task to `taskId`, `in` from `taskId` to this one. */
export type TaskLink = { kind: LinkKind; taskId: string; direction: 'out' | 'in'; createdAt: string };

export type TaskResult = { agent: string; output: string; artifacts: string[]; changedFiles: string[]; warnings: string[]; completedAt: string };

export const toTaskView = (row: TaskRow): TaskView => ({
  id: row.id,
  projectId: row.project_id,
  parentId: row.parent_id,
  title: row.title,
  description: row.description,
  status: row.status,
  priority: row.priority,
  role: row.role,
  tags: JSON.parse(row.tags) as string[],
  estimate: row.estimate,
  files: JSON.parse(row.files) as string[],
  requiredCapabilities: JSON.parse(row.required_capabilities) as string[],
  metadata: JSON.parse(row.metadata) as Record<string, unknown>,
  depth: row.depth,
  ready: isReady({ status: row.status, openHardDependencies: row.open_hard_deps, openChildren: row.open_children ?? 0 }),
  openDependencies: row.open_hard_deps,
  claimedBy: row.claimed_by,
  leaseExpiresAt: row.lease_expires_at,
  statusNote: row.status_note === null || row.status_note_at === null ? null : { note: row.status_note, at: row.status_note_at },
  result: row.result === null ? null : (JSON.parse(row.result) as TaskResult),
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Keeps only the requested fields (always with `id`). */
export const pickFields = <T extends { id: string }>(item: T, fields?: readonly string[]): Partial<T> & Pick<T, 'id'> => {
  if (!fields || fields.length === 0) return item;
  const out: Record<string, unknown> = { id: item.id };
  for (const field of fields) if (field in item) out[field] = (item as Record<string, unknown>)[field];
  return out as Partial<T> & Pick<T, 'id'>;
};

export const findTaskRow = (db: Database.Database, id: string): TaskRow | undefined =>
  prepared<[string], TaskRow>(db, `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`).get(id);

/** The task's row, or TASK_NOT_FOUND (getTask without the view and its links, for a command's own checks). */
export const getTaskRow = (db: Database.Database, id: string): TaskRow => {
  const row = findTaskRow(db, id);
  if (!row) throw notFound('TASK_NOT_FOUND', `Task ${id} does not exist.`, { taskId: id });
  return row;
};

export const getTask = (db: Database.Database, id: string): TaskView => ({ ...toTaskView(getTaskRow(db, id)), links: getTaskLinks(db, id) });

/** Those of `ids` that are ready now (the shared rule), in the order given, without reading the tasks whole. */
export const readyAmong = (db: Database.Database, ids: readonly string[]): string[] => {
  const ready = prepared<[string], { id: string }>(db, `SELECT id FROM tasks WHERE id = ? AND ${READY_SQL}`);
  return ids.filter((id) => ready.get(id) !== undefined);
};

/** A task's typed links, outgoing first, each direction by kind then task id. */
export const getTaskLinks = (db: Database.Database, id: string): TaskLink[] =>
  prepared<[string, string], TaskLink>(
    db,
    `SELECT kind, target AS taskId, 'out' AS direction, created_at AS createdAt FROM task_links WHERE task_id = ?
     UNION ALL
     SELECT kind, task_id AS taskId, 'in' AS direction, created_at AS createdAt FROM task_links WHERE target = ?
     ORDER BY direction DESC, kind, taskId`,
  ).all(id, id);

/** Task id → project id; the only read-model lookup the command side uses (ids never change project). */
export const projectOfTask = (db: Database.Database, id: string): string | undefined =>
  prepared<[string], { project_id: string }>(db, 'SELECT project_id FROM tasks WHERE id = ?').get(id)?.project_id;

// ─── Listing ────────────────────────────────────────────────────────────────────────────────────

export type TaskSort = 'createdAt' | '-createdAt' | 'updatedAt' | '-updatedAt' | 'priority' | '-priority' | 'title' | '-title';

export type TaskFilter = {
  projectId?: string;
  status?: TaskStatus[];
  priority?: Priority[];
  /** A task id, or `null` for top-level tasks only. */
  parentId?: string | null;
  role?: string;
  tag?: string;
  q?: string;
  ready?: boolean;
  /** Tasks assigned to this role or to none. */
  roleOrUnassigned?: string;
  /** A check SQL cannot make (a role's globs): rows it refuses are skipped, and the page is filled from further rows. */
  accept?: (task: TaskView) => boolean;
  sort?: TaskSort;
  limit?: number;
  cursor?: string;
};

/** Sort column and direction; ties always break on creation order (oldest first unless reversed). */
const SORTS: Record<string, { column: string; desc: boolean; seqDesc: boolean }> = {
  createdAt: { column: 'seq', desc: false, seqDesc: false },
  updatedAt: { column: 'updated_at', desc: false, seqDesc: false },
  priority: { column: 'priority_rank', desc: true, seqDesc: false },
  title: { column: 'title', desc: false, seqDesc: false },
};

export const listTasks = (db: Database.Database, filter: TaskFilter): Page<TaskView> => {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (filter.projectId !== undefined) add('project_id = ?', filter.projectId);
  if (filter.status?.length) add(`status IN (${filter.status.map(() => '?').join(',')})`, ...filter.status);
  if (filter.priority?.length) add(`priority IN (${filter.priority.map(() => '?').join(',')})`, ...filter.priority);
  if (filter.parentId === null) where.push('parent_id IS NULL');
  else if (filter.parentId !== undefined) add('parent_id = ?', filter.parentId);
  if (filter.role !== undefined) add('role = ?', filter.role);
  if (filter.roleOrUnassigned !== undefined) add('(role = ? OR role IS NULL)', filter.roleOrUnassigned);
  if (filter.tag !== undefined) add('id IN (SELECT task_id FROM task_tags WHERE tag = ?)', filter.tag);
  if (filter.q !== undefined) add('seq IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)', ftsQuery(filter.q));
  if (filter.ready === true) where.push(READY_SQL);
  if (filter.ready === false) where.push(`NOT (${READY_SQL})`);

  const sortName = filter.sort ?? 'createdAt';
  const base = SORTS[sortName.replace(/^-/, '')]!;
  const reversed = sortName.startsWith('-');
  const desc = reversed !== base.desc;
  const seqDesc = base.column === 'seq' ? desc : reversed !== base.seqDesc;
  const [dir, cmp] = desc ? ['DESC', '<'] : ['ASC', '>'];
  const [seqDir, seqCmp] = seqDesc ? ['DESC', '<'] : ['ASC', '>'];
  if (filter.cursor) {
    const [value, seq] = decodeCursor(filter.cursor, 2);
    if (base.column === 'seq') add(`seq ${seqCmp} ?`, seq);
    else add(`(${base.column} ${cmp} ? OR (${base.column} = ? AND seq ${seqCmp} ?))`, value, value, seq);
  }
  const limit = filter.limit ?? 20;
  const sortValue = (row: TaskRow) => (row as unknown as Record<string, unknown>)[base.column];
  const after = (row: TaskRow): [string, unknown[]] =>
    base.column === 'seq'
      ? [`seq ${seqCmp} ?`, [row.seq]]
      : [`(${base.column} ${cmp} ? OR (${base.column} = ? AND seq ${seqCmp} ?))`, [sortValue(row), sortValue(row), row.seq]];
  const select = (extra?: [string, unknown[]], n = limit + 1) => {
    const clauses = extra ? [...where, extra[0]] : where;
    const sql = `SELECT ${TASK_COLUMNS} FROM tasks ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
      ORDER BY ${base.column === 'seq' ? '' : `${base.column} ${dir}, `}seq ${seqDir} LIMIT ?`;
    return prepared<unknown[], TaskRow>(db, sql).all(...params, ...(extra?.[1] ?? []), n);
  };
  const page: TaskRow[] = [];
  let more = false;
  if (!filter.accept) {
    const rows = select();
    more = rows.length > limit;
    page.push(...rows.slice(0, limit));
  } else {
    const batchSize = Math.max(100, limit * 2);
    for (let rows = select(undefined, batchSize); ; rows = select(after(rows.at(-1)!), batchSize)) {
      for (const row of rows) {
        if (!filter.accept(toTaskView(row))) continue;
        if (page.length === limit) more = true;
        else page.push(row);
        if (more) break;
      }
      if (more || rows.length < batchSize) break;
    }
  }
  const last = page.at(-1);
  return { items: page.map(toTaskView), nextCursor: more && last ? encodeCursor([sortValue(last), last.seq]) : null };
};

/** Projects holding a ready task this role could take, best priority first (where claim_next_task looks). */
export const projectsWithReadyWork = (db: Database.Database, role: string): string[] =>
  prepared<[string], { project_id: string }>(
    db,
    `SELECT project_id FROM tasks WHERE ${READY_SQL} AND (role = ? OR role IS NULL)
       GROUP BY project_id ORDER BY MAX(priority_rank) DESC, MIN(seq) LIMIT 20`,
  )
    .all(role)
    .map((r) => r.project_id);

/** Tasks whose lease ran out, for the sweeper. */
export const expiredLeases = (db: Database.Database, now: string, limit = 500): { id: string; leaseExpiresAt: string }[] =>
  prepared<[string, number], { id: string; leaseExpiresAt: string }>(
    db,
    'SELECT id, lease_expires_at AS leaseExpiresAt FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?',
  ).all(now, limit);

export type ReadyFilter = {
  projectId?: string;
  /** With `fits`: tasks assigned to the role, or unassigned ones it fits — the rule claim_next_task applies. */
  role?: string;
  /** Whether the role could take an unassigned task (capabilities, file patterns, depth); without it, only assigned tasks match. */
  fits?: (task: TaskView) => boolean;
  limit?: number;
  cursor?: string;
};

/** Ready tasks, best priority first; for a role, the tasks its claim_next_task could hand out (algorithms/readiness.ts). */
export const listReadyTasks = (db: Database.Database, opts: ReadyFilter): Page<TaskView> => {
  const { role, fits, ...rest } = opts;
  const base = { ...rest, ready: true, sort: 'priority' } as const;
  if (role === undefined) return listTasks(db, base);
  if (fits === undefined) return listTasks(db, { ...base, role });
  return listTasks(db, { ...base, roleOrUnassigned: role, accept: (task) => isForRole(task.role, role, () => fits(task)) });
};

/** Tasks held under a lease now (in progress, lease not yet returned), for `vespera_active_leases`. */
export const activeLeaseCount = (db: Database.Database): number =>
  prepared<[], { n: number }>(db, 'SELECT COUNT(*) AS n FROM tasks WHERE lease_expires_at IS NOT NULL').get()!.n;
