import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import { notFound } from '../errors.js';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { ftsQuery } from './fts.js';
import type { Priority, TaskStatus } from '../events/vocabulary.js';

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
};

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
  /** True when pending and every hard dependency is completed. */
  ready: boolean;
  /** Hard dependencies not yet completed. */
  openDependencies: number;
  /** The agent holding a live claim, and until when. */
  claimedBy: string | null;
  leaseExpiresAt: string | null;
  /** What the agent reported when it completed the task. */
  result: TaskResult | null;
  version: number;
  createdAt: string;
  updatedAt: string;
};

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
  ready: row.status === 'pending' && row.open_hard_deps === 0,
  openDependencies: row.open_hard_deps,
  claimedBy: row.claimed_by,
  leaseExpiresAt: row.lease_expires_at,
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
  prepared<[string], TaskRow>(db, 'SELECT * FROM tasks WHERE id = ?').get(id);

export const getTask = (db: Database.Database, id: string): TaskView => {
  const row = findTaskRow(db, id);
  if (!row) throw notFound('TASK_NOT_FOUND', `Task ${id} does not exist.`, { taskId: id });
  return toTaskView(row);
};

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
  if (filter.tag !== undefined) add('id IN (SELECT task_id FROM task_tags WHERE tag = ?)', filter.tag);
  if (filter.q !== undefined) add('seq IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)', ftsQuery(filter.q));
  if (filter.ready === true) where.push("status = 'pending' AND open_hard_deps = 0");
  if (filter.ready === false) where.push("NOT (status = 'pending' AND open_hard_deps = 0)");

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
  const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${base.column === 'seq' ? '' : `${base.column} ${dir}, `}seq ${seqDir} LIMIT ?`;
  const rows = prepared<unknown[], TaskRow>(db, sql).all(...params, limit + 1);
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const sortValue = (row: TaskRow) => (row as unknown as Record<string, unknown>)[base.column];
  return { items: page.map(toTaskView), nextCursor: more && last ? encodeCursor([sortValue(last), last.seq]) : null };
};

// ─── Tree ───────────────────────────────────────────────────────────────────────────────────────

export type TreeNode = {
  id: string;
  title: string;
  status: TaskStatus;
  priority: Priority;
  ready: boolean;
  children: TreeNode[];
  /** Subtasks left out because of the depth limit. */
  hiddenChildren: number;
};

export type TaskTree = { roots: TreeNode[]; nodes: number; truncated: boolean; maxDepth: number };

const MAX_TREE_NODES = 2000;

/** The subtree under a task (or every root of a project), `maxDepth` levels deep. */
export const getTaskTree = (db: Database.Database, opts: { taskId?: string; projectId?: string; maxDepth?: number }): TaskTree => {
  const maxDepth = opts.maxDepth ?? 3;
  let rows: TaskRow[];
  let rootDepth: number;
  if (opts.taskId !== undefined) {
    const root = findTaskRow(db, opts.taskId);
    if (!root) throw notFound('TASK_NOT_FOUND', `Task ${opts.taskId} does not exist.`, { taskId: opts.taskId });
    rootDepth = root.depth;
    rows = prepared<[string, string, number, number], TaskRow>(db, 
        `SELECT * FROM tasks WHERE path >= ? AND path < ? || x'ff' AND depth <= ? ORDER BY depth, seq LIMIT ?`,
      )
      .all(root.path, root.path, root.depth + maxDepth + 1, MAX_TREE_NODES * 4);
  } else {
    rootDepth = 0;
    rows = prepared<[string, number, number], TaskRow>(db, 'SELECT * FROM tasks WHERE project_id = ? AND depth <= ? ORDER BY depth, seq LIMIT ?')
      .all(opts.projectId ?? 'default', maxDepth + 1, MAX_TREE_NODES * 4);
  }
  const byId = new Map<string, TreeNode>();
  const roots: TreeNode[] = [];
  let nodes = 0;
  let truncated = false;
  for (const row of rows) {
    const parent = row.parent_id ? byId.get(row.parent_id) : undefined;
    const isRoot = row.depth === rootDepth;
    if (!isRoot && !parent) continue;
    if (row.depth > rootDepth + maxDepth || nodes >= MAX_TREE_NODES) {
      if (parent) parent.hiddenChildren += 1;
      truncated ||= nodes >= MAX_TREE_NODES;
      continue;
    }
    const node: TreeNode = {
      id: row.id,
      title: row.title,
      status: row.status,
      priority: row.priority,
      ready: row.status === 'pending' && row.open_hard_deps === 0,
      children: [],
      hiddenChildren: 0,
    };
    nodes += 1;
    byId.set(row.id, node);
    (parent ? parent.children : roots).push(node);
  }
  return { roots, nodes, truncated, maxDepth };
};

// ─── Dependencies ───────────────────────────────────────────────────────────────────────────────

export type DependencyView = {
  id: string;
  title: string;
  status: TaskStatus;
  priority: Priority;
  kind: 'hard' | 'soft';
  /** 1 for a direct edge, 2 for one step further, and so on. */
  distance: number;
};

export type DependencyListing = { taskId: string; direction: 'dependencies' | 'dependents'; items: DependencyView[]; truncated: boolean };

/** Direct (maxDepth 1) or transitive dependencies or dependents of a task, nearest first. */
export const getDependencies = (
  db: Database.Database,
  taskId: string,
  opts: { direction?: 'dependencies' | 'dependents'; maxDepth?: number; limit?: number } = {},
): DependencyListing => {
  if (!findTaskRow(db, taskId)) throw notFound('TASK_NOT_FOUND', `Task ${taskId} does not exist.`, { taskId });
  const direction = opts.direction ?? 'dependencies';
  const maxDepth = opts.maxDepth ?? 1;
  const limit = opts.limit ?? 500;
  const step = prepared<[string], { id: string; kind: 'hard' | 'soft' }>(db, 
    direction === 'dependencies'
      ? 'SELECT depends_on AS id, kind FROM dependencies WHERE task_id = ?'
      : 'SELECT task_id AS id, kind FROM dependencies WHERE depends_on = ?',
  );
  const info = prepared<[string], { title: string; status: TaskStatus; priority: Priority }>(db, 
    'SELECT title, status, priority FROM tasks WHERE id = ?',
  );
  const seen = new Set([taskId]);
  const items: DependencyView[] = [];
  let frontier = [taskId];
  let truncated = false;
  for (let distance = 1; distance <= maxDepth && frontier.length > 0 && !truncated; distance++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const edge of step.all(id)) {
        if (seen.has(edge.id)) continue;
        if (items.length >= limit) {
          truncated = true;
          break;
        }
        seen.add(edge.id);
        const task = info.get(edge.id);
        if (task) items.push({ id: edge.id, ...task, kind: edge.kind, distance });
        next.push(edge.id);
      }
    }
    frontier = next;
  }
  return { taskId, direction, items, truncated };
};

/** Projects holding a ready task this role could take, best priority first (where claim_next_task looks). */
export const projectsWithReadyWork = (db: Database.Database, role: string): string[] =>
  prepared<[string], { project_id: string }>(db, 
      `SELECT project_id FROM tasks WHERE status = 'pending' AND open_hard_deps = 0 AND (role = ? OR role IS NULL)
       GROUP BY project_id ORDER BY MAX(priority_rank) DESC, MIN(seq) LIMIT 20`,
    )
    .all(role)
    .map((r) => r.project_id);

/** Tasks whose lease ran out, for the sweeper. */
export const expiredLeases = (db: Database.Database, now: string, limit = 500): { id: string; leaseExpiresAt: string }[] =>
  prepared<[string, number], { id: string; leaseExpiresAt: string }>(db, 
      'SELECT id, lease_expires_at AS leaseExpiresAt FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?',
    )
    .all(now, limit);

export const listReadyTasks = (
  db: Database.Database,
  opts: { projectId?: string; role?: string; limit?: number; cursor?: string },
): Page<TaskView> => listTasks(db, { ...opts, ready: true, sort: 'priority' });
