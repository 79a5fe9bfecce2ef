import type { TaskFields } from '../../events/project.js';

/** The SQLite read model: tasks, hierarchy, dependencies, projects, full-text index and per-task history. */
/** 4: roles.max_concurrent_tasks may be null and roles.max_per_agent exists (per-agent workload limits). */
/** 5: usage_reports and usage_open_claims (usage accounting). */
/** 6: task_links (typed links) and tasks.status_note / status_note_at (heartbeat notes). */
/**
 * 7: task_history is a rowid table keyed by the unique index task_history_key, so a bulk rebuild appends its rows in
 * log order and sorts the key once at the end, instead of copying every row into a clustered (task_id, position) tree.
 */
export const SQLITE_PROJECTION_VERSION = 7;

/** Subtree moves look paths up through it; a bulk rebuild creates it at the first move, or at the end. */
export const PATH_INDEX = 'CREATE INDEX IF NOT EXISTS tasks_path ON tasks (path);';

export const READ_MODEL_DDL = `
CREATE TABLE IF NOT EXISTS checkpoints (
  projector TEXT PRIMARY KEY,
  position  INTEGER NOT NULL,
  version   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  revision    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
  id                    TEXT PRIMARY KEY,
  project_id            TEXT NOT NULL,
  parent_id             TEXT,
  path                  TEXT NOT NULL,
  depth                 INTEGER NOT NULL,
  title                 TEXT NOT NULL,
  description           TEXT NOT NULL,
  status                TEXT NOT NULL,
  priority              TEXT NOT NULL,
  priority_rank         INTEGER NOT NULL,
  role                  TEXT,
  tags                  TEXT NOT NULL,
  estimate              REAL,
  files                 TEXT NOT NULL,
  required_capabilities TEXT NOT NULL,
  metadata              TEXT NOT NULL,
  open_hard_deps        INTEGER NOT NULL DEFAULT 0,
  claimed_by            TEXT,
  lease_expires_at      TEXT,
  result                TEXT,
  version               INTEGER NOT NULL,
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL,
  seq                   INTEGER NOT NULL,
  status_note           TEXT,
  status_note_at        TEXT
);
${PATH_INDEX}
CREATE INDEX IF NOT EXISTS tasks_project ON tasks (project_id, seq);
CREATE INDEX IF NOT EXISTS tasks_parent ON tasks (parent_id, seq);
CREATE INDEX IF NOT EXISTS tasks_parent_status ON tasks (parent_id, status);
CREATE INDEX IF NOT EXISTS tasks_ready ON tasks (project_id, status, open_hard_deps);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, open_hard_deps);
CREATE INDEX IF NOT EXISTS tasks_role ON tasks (role, status);
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS task_tags (
  tag     TEXT NOT NULL,
  task_id TEXT NOT NULL,
  PRIMARY KEY (tag, task_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_tags_task ON task_tags (task_id);
CREATE TABLE IF NOT EXISTS dependencies (
  task_id    TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  kind       TEXT NOT NULL,
  project_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (task_id, depends_on)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dependencies_target ON dependencies (depends_on, task_id);
CREATE TABLE IF NOT EXISTS task_links (
  task_id    TEXT NOT NULL,
  kind       TEXT NOT NULL,
  target     TEXT NOT NULL,
  project_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (task_id, kind, target)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_links_target ON task_links (target, kind, task_id);
CREATE VIRTUAL TABLE IF NOT EXISTS tasks_fts USING fts5 (
  task_id UNINDEXED, title, description, tags, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS task_history (
  position   INTEGER NOT NULL,
  task_id    TEXT NOT NULL,
  project_id TEXT NOT NULL,
  revision   INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  at         TEXT NOT NULL,
  actor      TEXT NOT NULL,
  role       TEXT,
  tool       TEXT NOT NULL,
  changes    TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS task_history_key ON task_history (task_id, position);
`;

/** Indexes a bulk rebuild builds once at the end (the path index earlier if the log moves a subtree). */
export const QUERY_INDEXES = [
  'tasks_project',
  'tasks_parent',
  'tasks_parent_status',
  'tasks_ready',
  'tasks_status',
  'tasks_role',
  'tasks_lease',
  'tasks_path',
  'task_history_key',
];

/** Every table and index of the read model, dropped when a new projector version rebuilds it. */
export const READ_MODEL_TABLES = [
  'projects',
  'tasks',
  'task_tags',
  'dependencies',
  'task_links',
  'tasks_fts',
  'task_history',
  'roles',
  'plugins',
  'plugin_tokens',
  'usage_reports',
  'usage_open_claims',
];

export const PRIORITY_RANK = { low: 0, normal: 1, high: 2, critical: 3 } as const;

/** The task fields a TaskUpdated may change → their column (a fixed map: column names never come from input). */
export const COLUMN: Partial<Record<string, string>> & Record<keyof TaskFields, string> = {
  title: 'title',
  description: 'description',
  priority: 'priority',
  tags: 'tags',
  estimate: 'estimate',
  files: 'files',
  requiredCapabilities: 'required_capabilities',
  metadata: 'metadata',
};
