import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import type { Priority, TaskStatus } from '../events/vocabulary.js';
import { getTaskRow, type TaskRow } from './tasks.js';

/** The task hierarchy and the dependency graph as the read model holds them: subtrees, dependencies, dependents. */

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
    const root = getTaskRow(db, opts.taskId);
    rootDepth = root.depth;
    rows = prepared<[string, string, number, number], TaskRow>(
      db,
      `SELECT * FROM tasks WHERE path >= ? AND path < ? || x'ff' AND depth <= ? ORDER BY depth, seq LIMIT ?`,
    ).all(root.path, root.path, root.depth + maxDepth + 1, MAX_TREE_NODES * 4);
  } else {
    rootDepth = 0;
    rows = prepared<[string, number, number], TaskRow>(db, 'SELECT * FROM tasks WHERE project_id = ? AND depth <= ? ORDER BY depth, seq LIMIT ?').all(
      opts.projectId ?? 'default',
      maxDepth + 1,
      MAX_TREE_NODES * 4,
    );
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

/** The tasks that depend on `taskId` with a hard edge (ids only: what a completion may unblock). */
export const hardDependentIds = (db: Database.Database, taskId: string): string[] =>
  prepared<[string], { id: string }>(db, "SELECT task_id AS id FROM dependencies WHERE depends_on = ? AND kind = 'hard'")
    .all(taskId)
    .map((row) => row.id);

/** Direct (maxDepth 1) or transitive dependencies or dependents of a task, nearest first. */
export const getDependencies = (
  db: Database.Database,
  taskId: string,
  opts: { direction?: 'dependencies' | 'dependents'; maxDepth?: number; limit?: number } = {},
): DependencyListing => {
  getTaskRow(db, taskId);
  const direction = opts.direction ?? 'dependencies';
  const maxDepth = opts.maxDepth ?? 1;
  const limit = opts.limit ?? 500;
  const step = prepared<[string], { id: string; kind: 'hard' | 'soft' }>(
    db,
    direction === 'dependencies'
      ? 'SELECT depends_on AS id, kind FROM dependencies WHERE task_id = ?'
      : 'SELECT task_id AS id, kind FROM dependencies WHERE depends_on = ?',
  );
  const info = prepared<[string], { title: string; status: TaskStatus; priority: Priority }>(
    db,
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
