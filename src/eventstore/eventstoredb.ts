import {
  ANY,
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  DeadlineExceededError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AppendStreamState,
  type JSONType,
  type Position,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import type { EventMetadata, NewEvent, StoredEvent } from '../events/types.js';
import { upcast } from '../events/upcasters.js';
import { ConcurrencyError, EventStoreUnavailableError, redactUrl } from '../errors.js';
import {
  type AppendListener,
  describeExpected,
  type AppendResult,
  type EventQuery,
  type EventQueryPage,
  type EventQueryResult,
  collectQuery,
  type EventStore,
  scanQuery,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoreStats,
} from './eventStore.js';

export type EventStoreDbEventStoreOptions = Readonly<{
  /** Connection string, e.g. `esdb://localhost:2113?tls=false` (kurrentdb:// works too). */
  url: string;
  /** How often to look for appends made by other processes (ms); 0 disables. */
  pollIntervalMs?: number;
}>;

type Recorded = NonNullable<ResolvedEvent['event']>;

const toStreamState = (expected: ExpectedRevision): AppendStreamState => {
  if (expected === 'any') return ANY;
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  return BigInt(expected);
};

const parseJson = (value: unknown): unknown => (value instanceof Uint8Array ? JSON.parse(Buffer.from(value).toString('utf8')) : value);

/** Every event leaves the store at its type's current schema version (src/events/upcasters.ts). */
const toStored = (event: Recorded, commitPosition?: bigint): StoredEvent =>
  upcast({
    id: event.id,
    type: event.type,
    data: parseJson(event.data) as object,
    metadata: parseJson(event.metadata) as EventMetadata,
    streamId: event.streamId,
    revision: Number(event.revision),
    // Since 20.x every gRPC append is an implicit transaction, so each event has its own commit position.
    position: Number(event.position?.commit ?? commitPosition ?? 0n),
    recordedAt: event.created.toISOString(),
  });

/**
 * EventStore over KurrentDB/EventStoreDB through the official client. The server enforces expected
 * revisions and orders `$all`; this adapter only translates shapes and errors.
 */
export class EventStoreDbEventStore implements EventStore {
  readonly kind = 'eventstoredb';
  private readonly client: KurrentDBClient;
  private readonly listeners = new Set<AppendListener>();
  private readonly poller: NodeJS.Timeout | undefined;
  private lastSeenPosition = 0;
  private polling = false;
  private readonly url: string;

  constructor(options: EventStoreDbEventStoreOptions) {
    this.url = redactUrl(options.url);
    this.client = KurrentDBClient.connectionString(options.url);
    const poll = options.pollIntervalMs ?? 200;
    // Polling the head rather than subscribing to $all: nothing to resubscribe after a dropped connection.
    if (poll > 0) {
      this.poller = setInterval(() => void this.pollForeignAppends(), poll);
      this.poller.unref();
    }
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) return this.appendNothing(streamId, expected);
    const data = events.map(({ id, type, data, metadata }) =>
      jsonEvent({ id, type, data: data as JSONType, metadata: metadata as unknown as JSONType }),
    );
    try {
      const result = await this.client.appendToStream(streamId, data, { streamState: toStreamState(expected) });
      // `throwOnAppendFailure=false` in the URL turns the refusal into a reply (whose revision is unreliable).
      if (!result.success) throw new ConcurrencyError(streamId, describeExpected(expected), await this.streamRevision(streamId));
      const nextRevision = Number(result.nextExpectedRevision);
      // The reply carries only the last position; reading the range back gives each event's own.
      const stored = await this.readStream(streamId, { fromRevision: nextRevision - events.length + 1, maxCount: events.length });
      // Prefer the read-back position: it is by construction the one readAll will report for this event.
      const position = stored.at(-1)?.position ?? Number(result.position?.commit ?? 0n);
      this.notify(position);
      return { nextRevision, position, events: stored };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualState === NO_STREAM ? -1 : Number(error.actualState);
        throw new ConcurrencyError(streamId, describeExpected(expected), actual);
      }
      throw this.unavailable(error);
    }
  }

  async readStream(streamId: string, { fromRevision = 0, maxCount }: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    const stored: StoredEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: BigInt(fromRevision),
        ...(maxCount === undefined ? {} : { maxCount }),
      });
      for await (const resolved of read) {
        if (resolved.event) stored.push(toStored(resolved.event, resolved.commitPosition));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw this.unavailable(error);
    }
    return stored;
  }

  /** No secondary indexes on the server side: a bounded forward scan of $all (see `scanQuery`). */
  async queryPage(query: EventQuery, page: EventQueryPage): Promise<EventQueryResult> {
    return scanQuery((fromPosition, maxCount) => this.readAll({ fromPosition, maxCount }), query, page);
  }

  async queryEvents(query: EventQuery, page: EventQueryPage): Promise<StoredEvent[]> {
    return collectQuery((q, p) => this.queryPage(q, p), query, page);
  }

  async readAll({ fromPosition = 0, maxCount = 1000 }: ReadAllOptions = {}): Promise<StoredEvent[]> {
    const from: Position | typeof START = fromPosition > 0 ? { commit: BigInt(fromPosition), prepare: BigInt(fromPosition) } : START;
    // The read starts at `from` inclusively, so one extra event covers the one we drop.
    const read = this.client.readAll({ direction: FORWARDS, fromPosition: from, maxCount: maxCount + 1, filter: excludeSystemEvents() });
    const stored: StoredEvent[] = [];
    try {
      for await (const resolved of read) {
        if (!resolved.event) continue;
        const event = toStored(resolved.event, resolved.commitPosition);
        if (event.position > fromPosition) stored.push(event);
        if (stored.length === maxCount) break;
      }
    } catch (error) {
      throw this.unavailable(error);
    }
    return stored;
  }

  async streamRevision(streamId: string): Promise<number> {
    try {
      for await (const resolved of this.client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        if (resolved.event) return Number(resolved.event.revision);
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw this.unavailable(error);
    }
    return -1;
  }

  async headPosition(): Promise<number> {
    try {
      const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, filter: excludeSystemEvents() });
      for await (const resolved of read) {
        if (resolved.event) return toStored(resolved.event, resolved.commitPosition).position;
      }
      return 0;
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** The client's "no connection" errors as EVENT_STORE_UNAVAILABLE (503, the URL without its password); others as they are. */
  private unavailable(error: unknown): unknown {
    return error instanceof UnavailableError || error instanceof DeadlineExceededError
      ? new EventStoreUnavailableError(this.url, error.message)
      : error;
  }

  async stats(): Promise<StoreStats> {
    // Counting events and streams means scanning $all over the network, so they are reported as unknown (-1).
    return { events: -1, streams: -1, headPosition: await this.headPosition() };
  }

  onAppended(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.listeners.clear();
    await this.client.dispose();
  }

  private async appendNothing(streamId: string, expected: ExpectedRevision): Promise<AppendResult> {
    const current = await this.streamRevision(streamId);
    const ok =
      expected === 'any' || (expected === 'no_stream' && current === -1) || (expected === 'stream_exists' && current >= 0) || expected === current;
    if (!ok) throw new ConcurrencyError(streamId, describeExpected(expected), current);
    return { nextRevision: current, position: await this.headPosition(), events: [] };
  }

  private async pollForeignAppends(): Promise<void> {
    if (this.listeners.size === 0 || this.polling) return;
    this.polling = true;
    try {
      this.notify(await this.headPosition());
    } catch {
      // A missed poll only delays projectors until the next tick; the client reconnects on its own.
    } finally {
      this.polling = false;
    }
  }

  private notify(position: number): void {
    if (position <= this.lastSeenPosition) return;
    this.lastSeenPosition = position;
    for (const listener of this.listeners) listener(position);
  }
}
