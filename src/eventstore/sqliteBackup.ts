import fs from 'node:fs';
import Database from 'better-sqlite3';
import { DomainError } from '../errors.js';
import { BackupWriter, readBackup, type BackupRow, type BackupSummary, type Trailer } from './backup.js';
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

export type ImportResult = Readonly<{ count: number; lastPosition: number; verifySeconds: number; importSeconds: number }>;

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/**
 * Restores a backup into an empty SQLite event log: first reads the whole file and checks every line and the
 * trailer (writing nothing), then writes the events as they were (id, stream, revision, position, recordedAt) in
 * one transaction per batch, without fsync and without the query indexes, which are built once at the end.
 * A failure half-way empties the log again.
 */
export const importBackup = async (
  db: Database.Database,
  file: string,
  onProgress: (p: BackupProgress) => void = () => {},
): Promise<ImportResult> => {
  const { events } = db.prepare<[], { events: number }>('SELECT COUNT(*) AS events FROM events').get()!;
  if (events > 0) {
    throw new DomainError(
      'STORE_NOT_EMPTY',
      409,
      `The event log already holds ${events} events: restore only into an empty data directory.`,
      { events },
      'Point VESPERA_DATA_DIR at a new directory, or move the old one aside.',
    );
  }
  const verifyStarted = process.hrtime.bigint();
  const trailer: Trailer = await readBackup(file);
  const verifySeconds = seconds(verifyStarted);

  const importStarted = process.hrtime.bigint();
  const insert = db.prepare<[number, string, string, number, string, string, string, string]>(
    'INSERT INTO events (position, id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertBatch = db.transaction((rows: readonly BackupRow[]) => {
    for (const r of rows) insert.run(r.position, r.id, r.streamId, r.revision, r.type, r.data, r.metadata, r.recordedAt);
  });
  const synchronous = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = OFF');
  for (const index of QUERY_INDEXES) db.exec(`DROP INDEX IF EXISTS ${index}`);
  let done = 0;
  try {
    await readBackup(file, (rows) => {
      insertBatch(rows);
      done += rows.length;
      onProgress({ done, total: trailer.count });
    });
    db.exec('INSERT INTO streams (stream_id, revision) SELECT stream_id, MAX(revision) FROM events GROUP BY stream_id');
  } catch (error) {
    db.exec('DELETE FROM events; DELETE FROM streams;');
    throw error;
  } finally {
    db.exec(QUERY_INDEX_DDL);
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  return { count: trailer.count, lastPosition: trailer.lastPosition, verifySeconds, importSeconds: seconds(importStarted) };
};
