import Database from 'better-sqlite3';
import type { NewEvent, StoredEvent } from '../events/types.js';
import { ConcurrencyError, DomainError } from '../errors.js';
import {
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
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../util/worker.js';
import { QUERY_INDEX_DDL, READ_ALL_SQL, SqliteQueries, toStored, type EventRow } from './sqliteQuery.js';
import { batchWriter, EVENTS_DDL, openStoreConnection, type WriteBatch, type WriteOutcome, type WriteReply } from './sqliteWrite.js';

export type SqliteEventStoreOptions = Readonly<{
  /** File path, or ':memory:' for tests. */
  path: string;
  /** `full` (default) survives a power cut; `normal` survives a process crash only. */
  synchronous?: 'full' | 'normal';
  /** How often to look for appends made by another process (ms); 0 disables. */
  pollIntervalMs?: number;
  now?: () => string;
  /**
   * `thread`: a writer thread owns the write connection (sqliteWriter.ts), so a batch's transaction and fsync never
   * block this thread's event loop — the server's choice. `inline` (default): the caller's thread writes, as a CLI or
   * a test that opens the store for a moment wants. An in-memory database is always written inline.
   */
  writer?: 'thread' | 'inline';
}>;

type PendingAppend = {
  streamId: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
};

/**
 * Embedded event store. Appends that arrive while the previous batch is written (or in the same tick) share one
 * transaction (group commit, one fsync), each inside its own savepoint so one stale expected revision never fails its
 * neighbours (sqliteWrite.ts). Reads use this thread's connection; WAL lets them run beside the writer.
 */
export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly listeners = new Set<AppendListener>();
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  /** The batch the writer thread holds, answered by `id`. */
  private inFlight: { id: number; batch: PendingAppend[]; recordedAt: string } | undefined;
  private batches = 0;
  private worker: Worker | undefined;
  private readonly writeInline: ((batch: WriteBatch) => WriteReply) | undefined;
  private readonly writerData: { path: string; synchronous?: 'full' | 'normal' } | undefined;
  private lastSeenPosition = 0;
  /** Stream → its revision after this store's last append to it (ownRevision); cleared when another writer shows. */
  private readonly ownRevisions = new Map<string, number>();
  private readonly poller: NodeJS.Timeout | undefined;
  private readonly now: () => string;
  private readonly stmts;
  private readonly queries: SqliteQueries;

  constructor(options: SqliteEventStoreOptions) {
    this.db = openStoreConnection(new Database(options.path), options.synchronous);
    this.db.exec(EVENTS_DDL);
    this.db.exec(QUERY_INDEX_DDL);
    this.queries = new SqliteQueries(this.db);
    this.now = options.now ?? (() => new Date().toISOString());
    this.stmts = {
      revision: this.db.prepare<[string], { revision: number }>('SELECT revision FROM streams WHERE stream_id = ?'),
      readStream: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      readAll: this.db.prepare<[number, number], EventRow>(READ_ALL_SQL),
      head: this.db.prepare<[], { head: number | null }>('SELECT MAX(position) AS head FROM events'),
      counts: this.db.prepare<[], { events: number; streams: number }>(
        'SELECT (SELECT COUNT(*) FROM events) AS events, (SELECT COUNT(*) FROM streams) AS streams',
      ),
    };
    if (options.writer === 'thread' && options.path !== ':memory:') this.writerData = { path: options.path, synchronous: options.synchronous };
    else this.writeInline = batchWriter(this.db).write;
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

  ownRevision(streamId: string): number | undefined {
    return this.ownRevisions.get(streamId);
  }

  onAppended(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    while (this.pending.length > 0 || this.flushScheduled || this.inFlight) await new Promise((r) => setImmediate(r));
    this.listeners.clear();
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref();
      worker.postMessage({ close: true });
      await exited;
    }
    this.db.close();
  }

  private headSync(): number {
    return this.stmts.head.get()?.head ?? 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.inFlight || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const write: WriteBatch = {
      recordedAt: this.now(),
      appends: batch.map(({ streamId, events, expected }) => ({
        streamId,
        expected,
        // JSON text, not objects: a string crosses to the writer thread as a copy, where an object is serialized and rebuilt.
        events: events.map(({ id, type, data, metadata }) => ({ id, type, data: JSON.stringify(data), metadata: JSON.stringify(metadata) })),
      })),
    };
    if (this.writeInline) {
      this.settle(batch, write.recordedAt, this.writeInline(write));
      return;
    }
    const id = ++this.batches;
    this.inFlight = { id, batch, recordedAt: write.recordedAt };
    try {
      const worker = this.writerThread();
      // Held while a batch is out: a process with nothing else to do must not exit before its append is answered.
      worker.ref();
      worker.postMessage({ id, batch: write });
    } catch (error) {
      this.inFlight = undefined;
      for (const append of batch) append.reject(error);
    }
  }

  /** The writer thread, started on the first write (and again after it died). */
  private writerThread(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnModuleWorker(import.meta.url, 'sqliteWriter', this.writerData);
    worker.unref();
    worker.on('message', (message: { id?: number; reply?: WriteReply }) => {
      const inFlight = this.inFlight;
      if (message.id === undefined || !inFlight || inFlight.id !== message.id) return;
      this.inFlight = undefined;
      worker.unref();
      this.settle(inFlight.batch, inFlight.recordedAt, message.reply!);
      if (this.pending.length > 0) this.flush();
    });
    const died = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      const inFlight = this.inFlight;
      this.inFlight = undefined;
      // The batch may or may not have committed: its callers hear a failure (a retried command id replays, never doubles).
      for (const append of inFlight?.batch ?? []) append.reject(error);
      if (this.pending.length > 0) this.flush();
    };
    worker.on('error', died);
    worker.on('exit', (code) => {
      if (this.inFlight) died(new Error(`the event store's writer thread exited (${code}) before it answered`));
      else if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }

  /** Each append's result or refusal, then one notice of what the batch appended. */
  private settle(batch: readonly PendingAppend[], recordedAt: string, reply: WriteReply): void {
    if ('failed' in reply) {
      const error = new Error(`Appending to the event store failed: ${reply.failed}`);
      for (const append of batch) append.reject(error);
      return;
    }
    const previous = this.lastSeenPosition;
    const appended: StoredEvent[] = [];
    batch.forEach((append, i) => {
      const outcome = reply.outcomes[i]!;
      const result = this.resultOf(append, outcome, recordedAt);
      // The data dir has one owner (DESIGN.md §6a): after its own append a stream is where that append left it.
      if (outcome.kind === 'appended' || outcome.kind === 'empty') this.ownRevisions.set(append.streamId, outcome.nextRevision);
      else this.ownRevisions.delete(append.streamId);
      if (result instanceof Error) append.reject(result);
      else {
        for (const event of result.events) if (event.position > previous) appended.push(event);
        append.resolve(result);
      }
    });
    appended.sort((a, b) => a.position - b.position);
    const head = appended.at(-1)?.position ?? previous;
    if (head > previous) {
      this.lastSeenPosition = head;
      this.notify(head, appended);
    }
  }

  private resultOf(append: PendingAppend, outcome: WriteOutcome, recordedAt: string): AppendResult | Error {
    switch (outcome.kind) {
      case 'appended': {
        const events = append.events.map((event, i): StoredEvent => ({
          id: event.id,
          type: event.type,
          data: event.data as object,
          metadata: event.metadata,
          streamId: append.streamId,
          revision: outcome.firstRevision + i,
          position: outcome.positions[i]!,
          recordedAt,
        }));
        return { nextRevision: outcome.nextRevision, position: outcome.position, events };
      }
      case 'replayed': {
        const events = outcome.rows.map(toStored);
        return { nextRevision: events.at(-1)!.revision, position: events.at(-1)!.position, events };
      }
      case 'empty':
        return { nextRevision: outcome.nextRevision, position: outcome.position, events: [] };
      case 'concurrency':
        return new ConcurrencyError(outcome.streamId, outcome.expected, outcome.actual);
      case 'reused':
        return new DomainError(
          'IDEMPOTENCY_KEY_REUSED',
          422,
          `Event ${outcome.eventId} already belongs to stream ${outcome.streamId}: its command id was used before.`,
          { eventId: outcome.eventId },
        );
      case 'error':
        return new Error(outcome.message);
    }
  }

  private pollForeignAppends(): void {
    // While the writer thread holds a batch its commit may already show: that batch's reply tells of it, with its events.
    if ((this.listeners.size === 0 && this.ownRevisions.size === 0) || !this.db.open || this.inFlight) return;
    const head = this.headSync();
    if (head > this.lastSeenPosition) {
      // Another process appended: no stream's revision is vouched for any more.
      this.ownRevisions.clear();
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
