import type Database from 'better-sqlite3';
import type { ExpectedRevision } from './eventStore.js';
import { describeExpected } from './eventStore.js';
import type { EventRow } from './sqliteQuery.js';

/**
 * The SQLite store's write path, shared by the two writers (sqlite.ts): inline on the caller's thread, or in the
 * writer thread (sqliteWriter.ts) that owns the write connection so no fsync ever blocks the API's event loop.
 * It speaks plain data only (what crosses a thread: no classes, no functions), and the store turns it back into
 * results and errors.
 */

/** An event as it is written: `data` and `metadata` as the JSON text stored, made on the appending thread, so a batch crosses to the writer thread as strings. */
export type WriteEvent = Readonly<{ id: string; type: string; data: string; metadata: string }>;

export type WriteAppend = Readonly<{ streamId: string; events: readonly WriteEvent[]; expected: ExpectedRevision }>;

export type WriteBatch = Readonly<{ appends: readonly WriteAppend[]; recordedAt: string }>;

/** One append's outcome: appended (its events' first revision and positions), a replay of stored events, or a refusal. */
export type WriteOutcome =
  | Readonly<{ kind: 'appended'; nextRevision: number; position: number; firstRevision: number; positions: readonly number[] }>
  | Readonly<{ kind: 'replayed'; rows: readonly EventRow[] }>
  | Readonly<{ kind: 'empty'; nextRevision: number; position: number }>
  | Readonly<{ kind: 'concurrency'; streamId: string; expected: string; actual: number }>
  | Readonly<{ kind: 'reused'; eventId: string; streamId: string }>
  | Readonly<{ kind: 'error'; message: string }>;

/** A whole batch either commits with one outcome per append, or fails as one (`failed`: the reason). */
export type WriteReply = Readonly<{ outcomes: readonly WriteOutcome[] }> | Readonly<{ failed: string }>;

export const EVENTS_DDL = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE,
  stream_id   TEXT NOT NULL,
  revision    INTEGER NOT NULL,
  type        TEXT NOT NULL,
  data        TEXT NOT NULL,
  metadata    TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  UNIQUE (stream_id, revision)
);
CREATE TABLE IF NOT EXISTS streams (
  stream_id TEXT PRIMARY KEY,
  revision  INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** The pragmas every connection of the store sets: WAL (readers never wait for the writer) and the durability asked for. */
export const openStoreConnection = (db: Database.Database, synchronous: 'full' | 'normal' | undefined): Database.Database => {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  return db;
};

/**
 * Appends that arrive together share one transaction (group commit, one fsync), each inside its own savepoint so one
 * stale expected revision never fails its neighbours.
 */
export const batchWriter = (db: Database.Database) => {
  const stmts = {
    revision: db.prepare<[string], { revision: number }>('SELECT revision FROM streams WHERE stream_id = ?'),
    setRevision: db.prepare<[string, number]>(
      'INSERT INTO streams (stream_id, revision) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision',
    ),
    insert: db.prepare<[string, string, number, string, string, string, string]>(
      'INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    readStream: db.prepare<[string, number, number], EventRow>(
      'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
    ),
    byId: db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ?'),
    head: db.prepare<[], { head: number | null }>('SELECT MAX(position) AS head FROM events'),
  };

  /** The same events appended again (same ids, same stream) succeed without appending: as EventStoreDB does. */
  const replayOf = (append: WriteAppend): WriteOutcome | undefined => {
    const first = append.events[0] && stmts.byId.get(append.events[0].id);
    if (!first) return undefined;
    if (first.stream_id !== append.streamId) return { kind: 'reused', eventId: first.id, streamId: first.stream_id };
    return { kind: 'replayed', rows: stmts.readStream.all(append.streamId, first.revision, append.events.length) };
  };

  const appendOne = (append: WriteAppend, recordedAt: string): WriteOutcome => {
    const replay = replayOf(append);
    if (replay) return replay;
    const { streamId, events, expected } = append;
    const current = stmts.revision.get(streamId)?.revision ?? -1;
    const ok =
      expected === 'any' || (expected === 'no_stream' && current === -1) || (expected === 'stream_exists' && current >= 0) || expected === current;
    if (!ok) return { kind: 'concurrency', streamId, expected: describeExpected(expected), actual: current };
    if (events.length === 0) return { kind: 'empty', nextRevision: current, position: stmts.head.get()?.head ?? 0 };
    const positions: number[] = [];
    let revision = current;
    for (const event of events) {
      revision += 1;
      const { lastInsertRowid } = stmts.insert.run(event.id, streamId, revision, event.type, event.data, event.metadata, recordedAt);
      positions.push(Number(lastInsertRowid));
    }
    stmts.setRevision.run(streamId, revision);
    return { kind: 'appended', nextRevision: revision, position: positions.at(-1)!, firstRevision: current + 1, positions };
  };

  const write = ({ appends, recordedAt }: WriteBatch): WriteReply => {
    const outcomes: WriteOutcome[] = [];
    try {
      db.exec('BEGIN IMMEDIATE');
      for (const append of appends) {
        db.exec('SAVEPOINT append');
        let outcome: WriteOutcome;
        try {
          outcome = appendOne(append, recordedAt);
        } catch (error) {
          outcome = { kind: 'error', message: error instanceof Error ? error.message : String(error) };
        }
        if (outcome.kind === 'concurrency' || outcome.kind === 'reused' || outcome.kind === 'error') db.exec('ROLLBACK TO append');
        db.exec('RELEASE append');
        outcomes.push(outcome);
      }
      db.exec('COMMIT');
      return { outcomes };
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      return { failed: error instanceof Error ? error.message : String(error) };
    }
  };

  return { write };
};
