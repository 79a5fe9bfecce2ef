import type Database from 'better-sqlite3';

/** The SQLite projection's prepared statements: every write it makes to the read model, in one place. */
const RECOMPUTE_OPEN_DEPS = `
  UPDATE tasks SET open_hard_deps = (
    SELECT COUNT(*) FROM dependencies d JOIN tasks t ON t.id = d.depends_on
    WHERE d.task_id = tasks.id AND d.kind = 'hard' AND t.status <> 'completed')`;

export const statements = (db: Database.Database) => ({
  checkpoint: db.prepare<[string], { position: number; version: number }>('SELECT position, version FROM checkpoints WHERE projector = ?'),
  saveCheckpoint: db.prepare<[string, number, number]>(
    'INSERT INTO checkpoints (projector, position, version) VALUES (?, ?, ?) ON CONFLICT (projector) DO UPDATE SET position = excluded.position, version = excluded.version',
  ),
  insertProject: db.prepare(
    'INSERT OR REPLACE INTO projects (id, name, description, created_at, updated_at, revision) VALUES (@id, @name, @description, @at, @at, @revision)',
  ),
  touchProject: db.prepare('UPDATE projects SET updated_at = ?, revision = ? WHERE id = ?'),
  parent: db.prepare<[string], { path: string; depth: number }>('SELECT path, depth FROM tasks WHERE id = ?'),
  /** Bound by position (measured cheaper than by name for these 18 values). */
  insertTask: db.prepare<
    [
      string,
      string,
      string | null,
      string,
      number,
      string,
      string,
      string,
      number,
      string,
      number | null,
      string,
      string,
      string,
      number,
      string,
      string,
      number,
    ]
  >(`INSERT OR REPLACE INTO tasks (id, project_id, parent_id, path, depth, title, description, status, priority,
      priority_rank, role, tags, estimate, files, required_capabilities, metadata, open_hard_deps, version, created_at, updated_at, seq)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, NULL, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`),
  task: db.prepare<[string], { title: string; description: string; tags: string; seq: number }>(
    'SELECT title, description, tags, seq FROM tasks WHERE id = ?',
  ),
  deleteTags: db.prepare<[string]>('DELETE FROM task_tags WHERE task_id = ?'),
  insertTag: db.prepare<[string, string]>('INSERT OR IGNORE INTO task_tags (tag, task_id) VALUES (?, ?)'),
  deleteFts: db.prepare<[number]>('DELETE FROM tasks_fts WHERE rowid = ?'),
  insertFts: db.prepare<[number, string, string, string, string]>(
    'INSERT INTO tasks_fts (rowid, task_id, title, description, tags) VALUES (?, ?, ?, ?, ?)',
  ),
  setStatus: db.prepare<[string, number, string, string]>('UPDATE tasks SET status = ?, version = ?, updated_at = ? WHERE id = ?'),
  claim: db.prepare<[string, string, string | null, number, string, string]>(
    "UPDATE tasks SET status = 'in_progress', claimed_by = ?, lease_expires_at = ?, role = COALESCE(?, role), status_note = NULL, status_note_at = NULL, version = ?, updated_at = ? WHERE id = ?",
  ),
  extendLease: db.prepare<[string, number, string, string]>('UPDATE tasks SET lease_expires_at = ?, version = ?, updated_at = ? WHERE id = ?'),
  setNote: db.prepare<[string | null, string | null, string]>('UPDATE tasks SET status_note = ?, status_note_at = ? WHERE id = ?'),
  endClaim: db.prepare<[string, string | null, number, string, string]>(
    'UPDATE tasks SET status = ?, claimed_by = NULL, lease_expires_at = NULL, status_note = NULL, status_note_at = NULL, result = COALESCE(?, result), version = ?, updated_at = ? WHERE id = ?',
  ),
  setRole: db.prepare<[string | null, number, string, string]>('UPDATE tasks SET role = ?, version = ?, updated_at = ? WHERE id = ?'),
  touchTask: db.prepare<[number, string, string]>('UPDATE tasks SET version = ?, updated_at = ? WHERE id = ?'),
  moveSubtree: db.prepare(
    `UPDATE tasks SET path = @newPrefix || substr(path, length(@oldPrefix) + 1), depth = depth + @delta
       WHERE path >= @oldPrefix AND path < @oldPrefix || x'ff'`,
  ),
  setParent: db.prepare<[string | null, number, string, string]>('UPDATE tasks SET parent_id = ?, version = ?, updated_at = ? WHERE id = ?'),
  deleteTask: db.prepare<[string]>('DELETE FROM tasks WHERE id = ?'),
  deleteDepsOf: db.prepare<[string, string]>('DELETE FROM dependencies WHERE task_id = ? OR depends_on = ?'),
  insertDep: db.prepare(
    'INSERT OR REPLACE INTO dependencies (task_id, depends_on, kind, project_id, created_at) VALUES (@taskId, @dependsOn, @kind, @projectId, @at)',
  ),
  deleteDep: db.prepare<[string, string]>('DELETE FROM dependencies WHERE task_id = ? AND depends_on = ?'),
  insertLink: db.prepare(
    'INSERT OR REPLACE INTO task_links (task_id, kind, target, project_id, created_at) VALUES (@taskId, @kind, @target, @projectId, @at)',
  ),
  deleteLink: db.prepare<[string, string, string]>('DELETE FROM task_links WHERE task_id = ? AND kind = ? AND target = ?'),
  deleteLinksOf: db.prepare<[string, string]>('DELETE FROM task_links WHERE task_id = ? OR target = ?'),
  recomputeOne: db.prepare<[string]>(`${RECOMPUTE_OPEN_DEPS} WHERE id = ?`),
  recomputeDependents: db.prepare<[string]>(`${RECOMPUTE_OPEN_DEPS} WHERE id IN (SELECT task_id FROM dependencies WHERE depends_on = ?)`),
  /** Every task with dependencies at once: the end of a bulk rebuild, where the counts follow the final statuses. */
  recomputeAll: db.prepare(`${RECOMPUTE_OPEN_DEPS} WHERE id IN (SELECT DISTINCT task_id FROM dependencies)`),
  history: db.prepare<[number, string, string, number, string, string, string, string | null, string, string]>(
    `INSERT OR REPLACE INTO task_history (position, task_id, project_id, revision, event_type, at, actor, role, tool, changes)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  /** The full-text rows of every task at once, as the live projection writes them one by one (tags joined by spaces). */
  bulkFts: db.prepare(`INSERT INTO tasks_fts (rowid, task_id, title, description, tags)
      SELECT seq, id, title, description, COALESCE((SELECT group_concat(value, ' ' ORDER BY key) FROM json_each(tasks.tags)), '')
      FROM tasks ORDER BY seq`),
});

export type Statements = ReturnType<typeof statements>;
