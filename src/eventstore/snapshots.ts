import Database from 'better-sqlite3';

/**
 * Snapshots of folded stream state: a disposable cache beside the log, never a source of truth. A snapshot names the
 * stream revision it reflects and the id of the event at that revision, so a reader can tell it still belongs to the
 * log it reads (a restored or replaced log makes it useless, not wrong), and the version of the code that folded it,
 * so a changed decider never reads an old shape.
 */
export type Snapshot = Readonly<{
  streamId: string;
  /** Stream revision of the last event folded in. */
  revision: number;
  /** Global position of that event. */
  position: number;
  /** Id of that event: checked against the log before the snapshot is used. */
  eventId: string;
  /** The folding code's version (the decider's snapshot codec). */
  version: number;
  /** The encoded state (JSON text). */
  state: string;
  takenAt: string;
}>;

export interface SnapshotStore {
  load(streamId: string): Snapshot | undefined;
  save(snapshot: Snapshot): void;
  /** Forgets every snapshot (the log was replaced). */
  clear(): void;
  close(): void;
}

const DDL = `
CREATE TABLE IF NOT EXISTS snapshots (
  stream_id TEXT PRIMARY KEY,
  revision  INTEGER NOT NULL,
  position  INTEGER NOT NULL,
  event_id  TEXT NOT NULL,
  version   INTEGER NOT NULL,
  state     TEXT NOT NULL,
  taken_at  TEXT NOT NULL
) WITHOUT ROWID;
`;

type Row = { stream_id: string; revision: number; position: number; event_id: string; version: number; state: string; taken_at: string };

/**
 * Snapshots in their own SQLite file (one per process's data directory, also beside a shared PostgreSQL log: each node
 * keeps its own). Written without fsync: a snapshot lost in a crash is taken again from the log.
 */
export class SqliteSnapshotStore implements SnapshotStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(DDL);
    this.stmts = {
      load: this.db.prepare<[string], Row>('SELECT * FROM snapshots WHERE stream_id = ?'),
      save: this.db.prepare<[string, number, number, string, number, string, string]>(
        `INSERT INTO snapshots (stream_id, revision, position, event_id, version, state, taken_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, position = excluded.position, event_id = excluded.event_id,
           version = excluded.version, state = excluded.state, taken_at = excluded.taken_at`,
      ),
      clear: this.db.prepare('DELETE FROM snapshots'),
    };
  }

  load(streamId: string): Snapshot | undefined {
    const row = this.stmts.load.get(streamId);
    return row
      ? {
          streamId: row.stream_id,
          revision: row.revision,
          position: row.position,
          eventId: row.event_id,
          version: row.version,
          state: row.state,
          takenAt: row.taken_at,
        }
      : undefined;
  }

  save(s: Snapshot): void {
    this.stmts.save.run(s.streamId, s.revision, s.position, s.eventId, s.version, s.state, s.takenAt);
  }

  clear(): void {
    this.stmts.clear.run();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
