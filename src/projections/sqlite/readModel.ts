import Database from 'better-sqlite3';

/** The read model is disposable (rebuilt from the log), so it trades durability for speed. */
export const openReadModel = (file: string): Database.Database => {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  return db;
};

/** SQLite's planner statistics and FTS5 segment merging: keeps keyword search fast as the index grows. */
export const optimizeReadModel = (db: Database.Database) => {
  const started = performance.now();
  db.pragma('optimize');
  db.prepare("INSERT INTO tasks_fts (tasks_fts, rank) VALUES ('merge', 500)").run();
  return { ms: Math.round(performance.now() - started) };
};

/** Every table of the read model with the columns that key its rows (and order a dump). */
export const READ_MODEL_KEYS: Readonly<Record<string, string>> = {
  projects: 'id',
  tasks: 'id',
  task_tags: 'tag, task_id',
  dependencies: 'task_id, depends_on',
  task_links: 'task_id, kind, target',
  task_history: 'task_id, position',
  tasks_fts: 'rowid',
  roles: 'name',
  plugins: 'id',
  plugin_tokens: 'jti',
  usage_reports: 'position',
  usage_open_claims: 'task_id',
};

/** Every row of the read model in a stable order, to compare a live model with a rebuild. */
export const dumpReadModel = (db: Database.Database): Record<string, unknown[]> =>
  Object.fromEntries(
    Object.entries(READ_MODEL_KEYS).map(([table, order]) => [
      table,
      db.prepare(`SELECT ${table === 'tasks_fts' ? 'rowid, *' : '*'} FROM ${table} ORDER BY ${order}`).all(),
    ]),
  );
