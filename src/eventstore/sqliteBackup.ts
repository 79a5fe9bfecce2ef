import fs from 'node:fs';
import Database from 'better-sqlite3';
import { DomainError } from '../errors.js';
import { BackupWriter, type BackupRow, type BackupSummary } from './backup.js';
import { readBackupInWorker } from './backupReader.js';
import { SqliteEventStore } from './sqlite.js';
import { QUERY_INDEXES, QUERY_INDEX_DDL, type EventRow } from './sqliteQuery.js';

export type BackupProgress = Readonly<{ done: number; total: number }>;

const PAGE = 5000;

const rowOf = (r: EventRow): BackupRow => ({
  position: r.position,
  id: r.id,
  streamId: r.stream_id,
  revision: r.revision,
  type: r.type,
  data: r.data,
  metadata: r.metadata,
  recordedAt: r.recorded_at,
});

/**
 * Backs up a SQLite event log, even while a server appends to it: a read-only connection, one read transaction
 * (WAL gives it a snapshot), and everything up to the head it saw first. Progress goes to `onProgress`.
 */
export const backupSqliteLog = async (
  eventsFile: string,
  file: string,
  onProgress: (p: BackupProgress) => void = () => {},
): Promise<BackupSummary> => {
  if (!fs.existsSync(eventsFile)) throw new DomainError('EVENT_LOG_NOT_FOUND', 404, `There is no event log at ${eventsFile}.`, { file: eventsFile });
  const db = new Database(eventsFile, { readonly: true, fileMustExist: true });
  const writer = await BackupWriter.open(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN');
    const { head, total } = db
      .prepare<[], { head: number | null; total: number }>('SELECT MAX(position) AS head, COUNT(*) AS total FROM events')
      .get()!;
    const page = db.prepare<[number, number, number], EventRow>(
      'SELECT * FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?',
    );
    let done = 0;
    for (let after = 0; ;) {
      const rows = page.all(after, head ?? 0, PAGE);
      if (rows.length === 0) break;
      await writer.write(rows.map(rowOf));
      after = rows.at(-1)!.position;
      done += rows.length;
      onProgress({ done, total });
    }
    db.exec('COMMIT');
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    db.close();
  }
};

export type RestoreResult = Readonly<{ count: number; lastPosition: number; seconds: number }>;

const removeDb = (file: string) => {
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${file}${suffix}`, { force: true });
};

/** Events in an existing log file (0 when there is none), read without writing to it. */
const eventsIn = (eventsFile: string): number => {
  if (!fs.existsSync(eventsFile)) return 0;
  const db = new Database(eventsFile, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'events'").get();
    return table ? db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM events').get()!.n : 0;
  } finally {
    db.close();
  }
};

/**
 * Restores a backup as the SQLite event log at `eventsFile`, which must be absent or empty. The events are written
 * into a new file beside it (`.restore`) while every line is checked, keeping id, stream, revision, position and
 * recordedAt; only when the whole file, its trailer included, has checked out is that file renamed over the log.
 * So a bad line leaves the log exactly as it was. The query indexes are built once, at the end.
 * No server may run on the data directory meanwhile.
 */
export const restoreSqliteLog = async (
  eventsFile: string,
  file: string,
  onProgress: (p: BackupProgress) => void = () => {},
): Promise<RestoreResult> => {
  const started = process.hrtime.bigint();
  const events = eventsIn(eventsFile);
  if (events > 0) {
    throw new DomainError(
      'STORE_NOT_EMPTY',
      409,
      `The event log already holds ${events} events: restore only into an empty data directory.`,
      { events },
      'Point VESPERA_DATA_DIR at a new directory, or move the old one aside.',
    );
  }
  if (!fs.existsSync(file)) throw new DomainError('BACKUP_NOT_FOUND', 404, `There is no backup file at ${file}.`, { file });
  const aside = `${eventsFile}.restore`;
  removeDb(aside);
  await new SqliteEventStore({ path: aside, pollIntervalMs: 0 }).close();
  const db = new Database(aside);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    db.pragma('temp_store = MEMORY');
    db.pragma('threads = 2');
    for (const index of QUERY_INDEXES) db.exec(`DROP INDEX IF EXISTS ${index}`);
    const insert = db.prepare<[number, string, string, number, string, string, string, string]>(
      'INSERT INTO events (position, id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertBatch = db.transaction((rows: readonly BackupRow[]) => {
      for (const r of rows) insert.run(r.position, r.id, r.streamId, r.revision, r.type, r.data, r.metadata, r.recordedAt);
    });
    // Lines are read and checked in a worker thread while this one writes the batches already checked.
    const trailer = await readBackupInWorker(file, (rows, progress) => {
      insertBatch(rows);
      onProgress(progress);
    });
    db.exec('INSERT INTO streams (stream_id, revision) SELECT stream_id, MAX(revision) FROM events GROUP BY stream_id');
    db.exec(QUERY_INDEX_DDL);
    db.pragma('journal_mode = WAL');
    db.close();
    removeDb(eventsFile);
    fs.renameSync(aside, eventsFile);
    return { count: trailer.count, lastPosition: trailer.lastPosition, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (error) {
    if (db.open) db.close();
    removeDb(aside);
    throw error;
  }
};
