import pg from 'pg';
import type { NewEvent, StoredEvent } from '../events/types.js';
import { ConcurrencyError, DomainError, EventStoreUnavailableError, redactUrl } from '../errors.js';
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
import { EVENT_COLUMNS, PG_QUERY_INDEX_DDL, pageResult, pgQueryPage, toStoredPg, type PgEventRow } from './postgresQuery.js';

export type PostgresEventStoreOptions = Readonly<{
  /** Connection string, e.g. `postgres://vespera:secret@127.0.0.1:5432/vespera`. */
  url: string;
  /** How often to look for appends made by other processes when no notification came (ms); 0 disables. */
  pollIntervalMs?: number;
  /** Connections in the pool (appends use one at a time; reads the rest). */
  poolSize?: number;
  /** How long a connection attempt may take before the store counts as unavailable (ms). */
  connectTimeoutMs?: number;
  /** Whether to LISTEN for other processes' appends (default true when polling is on). */
  listen?: boolean;
  now?: () => string;
}>;

/** What `vespera_append_batch` says of each append, in order. */
type BatchOutcome =
  | { revision: number; position: number }
  | { replay: number }
  | { error: 'conflict'; actual: number }
  | { error: 'reused'; stream: string }
  | { error: 'duplicate'; detail: string };

type PendingAppend = {
  streamId: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
};

/** The channel every append notifies on, with the new head position as payload. */
export const APPEND_CHANNEL = 'vespera_events';

/** Any fixed number: every node that starts at once creates the schema under this lock, one after the other. */
const SCHEMA_LOCK = 0x76657370;

/** Groups appends waiting together into one transaction, at most this many. */
const MAX_BATCH = 500;

/**
 * `event_head` holds one row: the last position handed out. Why not a sequence: positions taken from a sequence are
 * handed out when a transaction *starts* inserting but become visible when it *commits*, so transaction A can take
 * position 10, B take 11 and commit first; a follower reading `position > 9` sees 11, moves its checkpoint to 11 and
 * never sees 10 once A commits (the "skipped late commit"). Taking positions from this row under `FOR UPDATE` inside
 * the append transaction serialises appenders (across every process on the database): the next one cannot allocate
 * until the previous one committed or rolled back, so positions become visible in order and without holes.
 * Group commit (a batch of appends in one call of `vespera_append_batch`, one statement) keeps that serial section cheap.
 *
 * `data` and `metadata` are `json`, not `jsonb`: jsonb reorders object keys, and an event must read back byte for
 * byte as it was appended (a read model rebuilt from the log must equal the live one, which saw the original order).
 * The audit indexes are expression indexes on `->>`, which work on `json` as well.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS events (
  position    bigint PRIMARY KEY,
  id          text NOT NULL UNIQUE,
  stream_id   text NOT NULL,
  revision    integer NOT NULL,
  type        text NOT NULL,
  data        json NOT NULL,
  metadata    json NOT NULL,
  recorded_at timestamptz NOT NULL,
  UNIQUE (stream_id, revision)
);
CREATE TABLE IF NOT EXISTS streams (
  stream_id text PRIMARY KEY,
  revision  integer NOT NULL
);
CREATE TABLE IF NOT EXISTS event_head (
  one      boolean PRIMARY KEY DEFAULT true CHECK (one),
  position bigint NOT NULL
);
INSERT INTO event_head (one, position) VALUES (true, 0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION vespera_append_batch(batch json, recorded timestamptz) RETURNS json
LANGUAGE plpgsql AS $fn$
DECLARE
  head bigint;
  start_head bigint;
  a json;
  s text;
  n int;
  cur int;
  owner text;
  first_rev int;
  ok boolean;
  results json[] := '{}';
BEGIN
  SELECT position INTO head FROM event_head FOR UPDATE;
  start_head := head;
  FOR a IN SELECT value FROM json_array_elements(batch) LOOP
    s := a->>'stream';
    n := json_array_length(a->'events');
    BEGIN
      owner := NULL;
      IF n > 0 THEN
        SELECT stream_id, revision INTO owner, first_rev FROM events WHERE id = a->'events'->0->>'id';
      END IF;
      IF owner IS NOT NULL AND owner <> s THEN
        results := results || json_build_object('error', 'reused', 'stream', owner);
      ELSIF owner IS NOT NULL THEN
        results := results || json_build_object('replay', first_rev);
      ELSE
        SELECT revision INTO cur FROM streams WHERE stream_id = s;
        IF NOT FOUND THEN cur := -1; END IF;
        ok := CASE a->>'expected'
          WHEN 'any' THEN true
          WHEN 'no_stream' THEN cur = -1
          WHEN 'stream_exists' THEN cur >= 0
          ELSE cur = (a->>'revision')::int END;
        IF NOT ok THEN
          results := results || json_build_object('error', 'conflict', 'actual', cur);
        ELSE
          IF n > 0 THEN
            INSERT INTO events (position, id, stream_id, revision, type, data, metadata, recorded_at)
            SELECT head + t.o, t.ev->>'id', s, cur + t.o, t.ev->>'type', t.ev->'data', t.ev->'metadata', recorded
            FROM json_array_elements(a->'events') WITH ORDINALITY AS t(ev, o);
            INSERT INTO streams (stream_id, revision) VALUES (s, cur + n)
            ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision;
          END IF;
          head := head + n;
          results := results || json_build_object('revision', cur + n, 'position', head);
        END IF;
      END IF;
    EXCEPTION WHEN unique_violation THEN
      results := results || json_build_object('error', 'duplicate', 'detail', SQLERRM);
    END;
  END LOOP;
  IF head > start_head THEN
    UPDATE event_head SET position = head;
    PERFORM pg_notify('vespera_events', head::text);
  END IF;
  RETURN array_to_json(results);
END
$fn$;
`;

/** SQLSTATE classes and driver codes that mean "the server is not there", not "the statement is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
]);

const isUnavailable = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection closed/i.test(
    error.message,
  );
};

/**
 * EventStore over PostgreSQL (the `pg` driver). Several processes may share one database: the schema is created
 * under an advisory lock, appends serialise on `event_head`, and every append notifies `vespera_events` so the other
 * processes' listeners wake at once (polling stays as the fallback when the LISTEN connection is down).
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres';
  /** The connection string without its password, for messages and logs. */
  readonly url: string;
  private readonly pool: pg.Pool;
  private readonly listeners = new Set<AppendListener>();
  private readonly now: () => string;
  private readonly pollIntervalMs: number;
  private readonly listen: boolean;
  private readiness: Promise<void> | undefined;
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private lastSeenPosition = 0;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private heldNotification = 0;
  private listener: pg.Client | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.url = redactUrl(options.url);
    this.now = options.now ?? (() => new Date().toISOString());
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.listen = options.listen ?? this.pollIntervalMs > 0;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 8,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      application_name: 'vespera',
    });
    // An idle connection that dies (server restart) must not crash the process: the next checkout opens a new one.
    this.pool.on('error', () => {});
    // Nor one that dies while checked out: the query it was running rejects, which is where the error is handled.
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  appendToStream(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(this.unavailable(new Error('the store is closed')));
    return new Promise((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  async readStream(streamId: string, { fromRevision = 0, maxCount = Number.MAX_SAFE_INTEGER }: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    const rows = await this.query<PgEventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
      [streamId, fromRevision, Math.min(maxCount, Number.MAX_SAFE_INTEGER)],
    );
    return rows.map(toStoredPg);
  }

  async readAll({ fromPosition = 0, maxCount = 1000 }: ReadAllOptions = {}): Promise<StoredEvent[]> {
    const rows = await this.query<PgEventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2`, [
      fromPosition,
      maxCount,
    ]);
    return rows.map(toStoredPg);
  }

  async queryPage(query: EventQuery, page: EventQueryPage): Promise<EventQueryResult> {
    const { text, values } = pgQueryPage(query, page);
    return pageResult(await this.query<PgEventRow>(text, values), page.limit);
  }

  async queryEvents(query: EventQuery, page: EventQueryPage): Promise<StoredEvent[]> {
    return collectQuery((q, p) => this.queryPage(q, p), query, page);
  }

  async streamRevision(streamId: string): Promise<number> {
    const [row] = await this.query<{ revision: number }>('SELECT revision FROM streams WHERE stream_id = $1', [streamId]);
    return row?.revision ?? -1;
  }

  /** The last committed position: `event_head` only moves when an append commits. */
  async headPosition(): Promise<number> {
    const [row] = await this.query<{ position: string }>('SELECT position FROM event_head');
    return Number(row?.position ?? 0);
  }

  /** Positions have no holes (1, 2, 3, … from `event_head`), so the head is also the number of events: no count of the log. */
  async stats(): Promise<StoreStats> {
    const [row] = await this.query<{ streams: string; head: string }>(
      'SELECT (SELECT COUNT(*) FROM streams) AS streams, (SELECT position FROM event_head) AS head',
    );
    const head = Number(row!.head ?? 0);
    return { events: head, streams: Number(row!.streams), headPosition: head };
  }

  onAppended(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects, creates the schema when missing and starts following: every other method waits for it. */
  ready(): Promise<void> {
    this.readiness ??= this.start().catch((error: unknown) => {
      this.readiness = undefined;
      throw isUnavailable(error) ? this.unavailable(error) : error;
    });
    return this.readiness;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    if (this.relisten) clearTimeout(this.relisten);
    while (this.flushing) await this.flushing;
    this.listeners.clear();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    await this.pool.end();
  }

  private async start(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Several nodes starting at once would race on CREATE TABLE IF NOT EXISTS (it is not atomic in PostgreSQL).
      await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
      try {
        await client.query(DDL);
        await client.query(PG_QUERY_INDEX_DDL);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]);
      }
      const { rows } = await client.query<{ position: string }>('SELECT position FROM event_head');
      this.lastSeenPosition = Math.max(this.lastSeenPosition, Number(rows[0]?.position ?? 0));
    } finally {
      client.release();
    }
    if (this.pollIntervalMs > 0 && !this.poller) {
      this.poller = setInterval(() => void this.pollForeignAppends(), this.pollIntervalMs);
      this.poller.unref();
    }
    if (this.listen && !this.listener) void this.startListening();
  }

  /** One dedicated connection LISTENs; when it drops it reconnects (and LISTENs again) a second later. */
  private async startListening(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000 });
    this.listener = client;
    const retry = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.relisten = setTimeout(() => void this.startListening(), 1000);
      this.relisten.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      const position = Number(message.payload);
      if (!Number.isFinite(position)) return;
      // Our own batch's NOTIFY may overtake its reply: held until the batch settles, so listeners get its events.
      if (this.flushing) this.heldNotification = Math.max(this.heldNotification, position);
      else this.announce(position);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${APPEND_CHANNEL}`);
      // Appends made while the connection was down were not announced.
      await this.pollForeignAppends();
    } catch {
      retry();
    }
  }

  private async query<Row extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
    await this.ready();
    try {
      return (await this.pool.query<Row>(text, values)).rows;
    } catch (error) {
      throw isUnavailable(error) ? this.unavailable(error) : error;
    }
  }

  private unavailable(error: unknown): EventStoreUnavailableError {
    if (error instanceof EventStoreUnavailableError) return error;
    const reason = error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
    return new EventStoreUnavailableError(this.url, reason);
  }

  /** One transaction at a time from this process; appends that arrive meanwhile wait and go together into the next. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        await this.flush(batch);
      }
    } finally {
      this.flushing = undefined;
      this.announce(this.heldNotification);
    }
  }

  /** Another process's appends up to `position` (from NOTIFY), when listeners have not seen them yet. */
  private announce(position: number): void {
    if (position > this.lastSeenPosition) {
      this.lastSeenPosition = position;
      this.notify(position);
    }
  }

  /**
   * Group commit: the whole batch is one call of `vespera_append_batch`, one statement and so one transaction and one
   * round trip; inside it each append runs in its own exception block (a savepoint), so a stale expected revision
   * fails alone. A lost connection rolls the whole statement back: every append of the batch fails with
   * EVENT_STORE_UNAVAILABLE and nothing of it is written.
   */
  private async flush(batch: readonly PendingAppend[]): Promise<void> {
    const recordedAt = this.now();
    const payload = JSON.stringify(
      batch.map(({ streamId, events, expected }) => ({
        stream: streamId,
        expected: typeof expected === 'number' ? 'exact' : expected,
        revision: typeof expected === 'number' ? expected : null,
        events: events.map(({ id, type, data, metadata }) => ({ id, type, data, metadata })),
      })),
    );
    let outcomes: BatchOutcome[];
    try {
      const [row] = await this.query<{ outcomes: BatchOutcome[] }>('SELECT vespera_append_batch($1::json, $2::timestamptz) AS outcomes', [
        payload,
        recordedAt,
      ]);
      outcomes = row!.outcomes;
    } catch (error) {
      for (const append of batch) append.reject(error);
      return;
    }
    const previous = this.lastSeenPosition;
    const appended: StoredEvent[] = [];
    let head = previous;
    await Promise.all(
      batch.map(async (append, i) => {
        try {
          const result = await this.settle(append, outcomes[i]!, recordedAt);
          for (const event of result.events) if (event.position > previous) appended.push(event);
          head = Math.max(head, result.position);
          append.resolve(result);
        } catch (error) {
          append.reject(error);
        }
      }),
    );
    appended.sort((a, b) => a.position - b.position);
    if (head > this.lastSeenPosition) {
      // Only when they follow on from what listeners saw last; otherwise the position alone (they read the log).
      const contiguous = appended[0]?.position === previous + 1 && appended.at(-1)!.position === head && this.lastSeenPosition === previous;
      this.lastSeenPosition = head;
      this.notify(head, contiguous ? appended : undefined);
    }
  }

  /** One append's outcome in the batch as its result or its error. */
  private async settle({ streamId, events, expected }: PendingAppend, outcome: BatchOutcome, recordedAt: string): Promise<AppendResult> {
    if ('error' in outcome) {
      if (outcome.error === 'conflict') throw new ConcurrencyError(streamId, describeExpected(expected), outcome.actual);
      const owner = outcome.error === 'reused' ? outcome.stream : undefined;
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        422,
        owner
          ? `Event ${events[0]!.id} already belongs to stream ${owner}: its command id was used before.`
          : `An event id of this append is already in the log: its command id was used before.`,
        { eventId: events[0]!.id },
      );
    }
    if ('replay' in outcome) {
      // The same events appended again (same ids, same stream) succeed without appending: as the SQLite store does.
      const stored = await this.readStream(streamId, { fromRevision: outcome.replay, maxCount: events.length });
      return { nextRevision: stored.at(-1)!.revision, position: stored.at(-1)!.position, events: stored };
    }
    const stored: StoredEvent[] = events.map((event, i) => ({
      id: event.id,
      type: event.type,
      data: event.data as object,
      metadata: event.metadata,
      streamId,
      revision: outcome.revision - events.length + 1 + i,
      position: outcome.position - events.length + 1 + i,
      recordedAt,
    }));
    return { nextRevision: outcome.revision, position: outcome.position, events: stored };
  }

  private async pollForeignAppends(): Promise<void> {
    if (this.polling || this.closed || this.listeners.size === 0) return;
    this.polling = true;
    try {
      const head = await this.headPosition();
      if (head > this.lastSeenPosition) {
        this.lastSeenPosition = head;
        this.notify(head);
      }
    } catch {
      // down for now: the next tick tries again
    } finally {
      this.polling = false;
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
