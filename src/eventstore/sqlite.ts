import Database from 'better-sqlite3';
import type { NewEvent, StoredEvent } from '../events/types.js';
import { ConcurrencyError, DomainError } from '../errors.js';
import {
  describeExpected,
  type AppendListener,
  type AppendResult,
  collectQuery,
  type EventQuery,
  type EventQueryPage,
  type EventQueryResult,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoreStats,
} from './eventStore.js';
import { QUERY_INDEX_DDL, SqliteQueries, toStored, type EventRow } from './sqliteQuery.js';

export type SqliteEventStoreOptions = Readonly<{
  /** File path, or ':memory:' for tests. */
  path: string;
  /** `full` (default) survives a power cut; `normal` survives a process crash only. */
  synchronous?: 'full' | 'normal';
  /** How often to look for appends made by another process (ms); 0 disables. */
  pollIntervalMs?: number;
  now?: () => string;
}>;

type PendingAppend = {
  streamId: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
};

const DDL = `
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

/**
 * Embedded event store. Appends that arrive in the same tick share one transaction (group commit, one
 * fsync), each inside its own savepoint so one stale expected revision never fails its neighbours.
 */
export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly listeners = new Set<AppendListener>();
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private lastSeenPosition = 0;
  private readonly poller: NodeJS.Timeout | undefined;
  private readonly now: () => string;
  private readonly stmts;
  private readonly queries: SqliteQueries;

  constructor(options: SqliteEventStoreOptions) {
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(DDL);
    this.db.exec(QUERY_INDEX_DDL);
    this.queries = new SqliteQueries(this.db);
    this.now = options.now ?? (() => new Date().toISOString());
    this.stmts = {
      revision: this.db.prepare<[string], { revision: number }>('SELECT revision FROM streams WHERE stream_id = ?'),
      setRevision: this.db.prepare<[string, number]>(
        'INSERT INTO streams (stream_id, revision) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision',
      ),
      insert: this.db.prepare<[string, string, number, string, string, string, string]>(
        'INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      readStream: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      readAll: this.db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      byId: this.db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ?'),
      head: this.db.prepare<[], { head: number | null }>('SELECT MAX(position) AS head FROM events'),
      counts: this.db.prepare<[], { events: number; streams: number }>(
        'SELECT (SELECT COUNT(*) FROM events) AS events, (SELECT COUNT(*) FROM streams) AS streams',
      ),
    };
    this.lastSeenPosition = this.headSync();
    const poll = options.pollIntervalMs ?? 200;
    if (poll > 0) {
      this.poller = setInterval(() => this.pollForeignAppends(), poll);
      this.poller.unref();
    }
  }

  appendToStream(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    return this.readStreamSync(streamId, options);
  }

  readStreamSync(streamId: string, { fromRevision = 0, maxCount = Number.MAX_SAFE_INTEGER }: ReadStreamOptions = {}) {
    return this.stmts.readStream.all(streamId, fromRevision, maxCount).map(toStored);
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    return this.readAllSync(options);
  }

  readAllSync({ fromPosition = 0, maxCount = 1000 }: ReadAllOptions = {}): StoredEvent[] {
    return this.stmts.readAll.all(fromPosition, maxCount).map(toStored);
  }

  async queryPage(query: EventQuery, page: EventQueryPage): Promise<EventQueryResult> {
    return this.queries.page(query, page);
  }

  async queryEvents(query: EventQuery, page: EventQueryPage): Promise<StoredEvent[]> {
    return collectQuery(async (q, p) => this.queries.page(q, p), query, page);
  }

  async streamRevision(streamId: string): Promise<number> {
    return this.stmts.revision.get(streamId)?.revision ?? -1;
  }

  async headPosition(): Promise<number> {
    return this.headSync();
  }

  async stats(): Promise<StoreStats> {
    const { events, streams } = this.stmts.counts.get()!;
    return { events, streams, headPosition: this.headSync() };
  }

  onAppended(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    while (this.pending.length > 0 || this.flushScheduled) await new Promise((r) => setImmediate(r));
    this.listeners.clear();
    this.db.close();
  }

  private headSync(): number {
    return this.stmts.head.get()?.head ?? 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const outcomes: Array<AppendResult | Error> = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const append of batch) {
        this.db.exec('SAVEPOINT append');
        try {
          outcomes.push(this.appendOne(append));
          this.db.exec('RELEASE append');
        } catch (error) {
          this.db.exec('ROLLBACK TO append');
          this.db.exec('RELEASE append');
          outcomes.push(error as Error);
        }
      }
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const append of batch) append.reject(error);
      return;
    }
    const previous = this.lastSeenPosition;
    const appended: StoredEvent[] = [];
    batch.forEach((append, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) append.reject(outcome);
      else {
        for (const event of outcome.events) if (event.position > previous) appended.push(event);
        append.resolve(outcome);
      }
    });
    appended.sort((a, b) => a.position - b.position);
    const head = appended.at(-1)?.position ?? previous;
    if (head > previous) {
      this.lastSeenPosition = head;
      this.notify(head, appended);
    }
  }

  private appendOne({ streamId, events, expected }: PendingAppend): AppendResult {
    const replay = this.replayOf(streamId, events);
    if (replay) return replay;
    const current = this.stmts.revision.get(streamId)?.revision ?? -1;
    const ok =
      expected === 'any' || (expected === 'no_stream' && current === -1) || (expected === 'stream_exists' && current >= 0) || expected === current;
    if (!ok) throw new ConcurrencyError(streamId, describeExpected(expected), current);
    const recordedAt = this.now();
    const stored: StoredEvent[] = [];
    let revision = current;
    for (const event of events) {
      revision += 1;
      const data = JSON.stringify(event.data);
      const metadata = JSON.stringify(event.metadata);
      const { lastInsertRowid } = this.stmts.insert.run(event.id, streamId, revision, event.type, data, metadata, recordedAt);
      stored.push({
        id: event.id,
        type: event.type,
        data: event.data as object,
        metadata: event.metadata,
        streamId,
        revision,
        position: Number(lastInsertRowid),
        recordedAt,
      });
    }
    if (events.length > 0) this.stmts.setRevision.run(streamId, revision);
    const position = stored.at(-1)?.position ?? this.headSync();
    return { nextRevision: revision, position, events: stored };
  }

  /** The same events appended again (same ids, same stream) succeed without appending: as EventStoreDB does. */
  private replayOf(streamId: string, events: readonly NewEvent[]): AppendResult | undefined {
    const first = events[0] && this.stmts.byId.get(events[0].id);
    if (!first) return undefined;
    if (first.stream_id !== streamId) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        422,
        `Event ${first.id} already belongs to stream ${first.stream_id}: its command id was used before.`,
        {
          eventId: first.id,
        },
      );
    }
    const stored = this.stmts.readStream.all(streamId, first.revision, events.length).map(toStored);
    return { nextRevision: stored.at(-1)!.revision, position: stored.at(-1)!.position, events: stored };
  }

  private pollForeignAppends(): void {
    if (this.listeners.size === 0 || !this.db.open) return;
    const head = this.headSync();
    if (head > this.lastSeenPosition) {
      this.lastSeenPosition = head;
      this.notify(head);
    }
  }

  private notify(position: number, events?: readonly StoredEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(position, events);
      } catch {
        // a listener's failure is its own; the append has already succeeded
      }
    }
  }
}
