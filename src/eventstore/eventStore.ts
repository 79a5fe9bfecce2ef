import type { EventLogReader, EventQuery, EventQueryPage, EventQueryResult, NewEvent, StoredEvent } from '../events/types.js';

/** `any` skips the check, `no_stream` demands a new stream, a number demands that exact last revision. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export type AppendResult = Readonly<{
  /** Revision of the last event appended (the stream's new revision). */
  nextRevision: number;
  /** Global position of the last event appended. */
  position: number;
  events: readonly StoredEvent[];
}>;

export type { EventLogReader, EventQuery, EventQueryPage, EventQueryResult, ReadAllOptions, ReadStreamOptions } from '../events/types.js';

export type AppendListener = (position: number, events?: readonly StoredEvent[]) => void;

export type StoreStats = Readonly<{ events: number; streams: number; headPosition: number }>;

/**
 * The only source of truth. Implementations: `SqliteEventStore` (embedded default) and
 * `EventStoreDbEventStore` (KurrentDB/EventStoreDB). Both pass test/eventstore/contract.ts.
 */
export interface EventStore extends EventLogReader {
  readonly kind: string;
  appendToStream(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Current revision of a stream, or -1 when it does not exist. */
  streamRevision(streamId: string): Promise<number>;
  stats(): Promise<StoreStats>;
  /**
   * Called after every append this process makes (with the events, in log order, when the store has them
   * at hand), and whenever polling sees another process's appends (position only).
   */
  onAppended(listener: AppendListener): () => void;
  /**
   * A stream's revision as this store's own last append to it left it, while no other writer has been seen since;
   * undefined when the store cannot vouch for it (never appended here, or another process writes the log). A
   * command handler whose cached state is at that revision needs not read the stream before deciding. Optional: a
   * shared log (several nodes) never knows.
   */
  ownRevision?(streamId: string): number | undefined;
  close(): Promise<void>;
}

export const describeExpected = (expected: ExpectedRevision): string => (typeof expected === 'number' ? String(expected) : expected);

/** Whether one stored event satisfies every field of a query (for stores that cannot filter on the server). */
export const matchesQuery = (event: StoredEvent, query: EventQuery): boolean => {
  const data = event.data as { taskId?: unknown };
  const meta = event.metadata;
  return (
    (query.streamId === undefined || event.streamId === query.streamId) &&
    (query.taskId === undefined || data.taskId === query.taskId) &&
    (query.types === undefined || query.types.length === 0 || query.types.includes(event.type)) &&
    (query.actor === undefined || meta.actor === query.actor) &&
    (query.role === undefined || meta.role === query.role) &&
    (query.tool === undefined || meta.tool === query.tool) &&
    (query.correlationId === undefined || meta.correlationId === query.correlationId) &&
    (query.fromTime === undefined || event.recordedAt >= query.fromTime) &&
    (query.toTime === undefined || event.recordedAt <= query.toTime) &&
    (query.fromPosition === undefined || event.position >= query.fromPosition) &&
    (query.toPosition === undefined || event.position <= query.toPosition)
  );
};

/**
 * The audit filter by reading the global log forward and keeping what matches: for stores without secondary
 * indexes. One page reads at most `scanLimit` events (and never past `toPosition`); when that budget runs out
 * before the page is full, `nextAfter` is the last position read, so the next page goes on from there.
 */
export const scanQuery = async (
  read: (afterPosition: number, maxCount: number) => Promise<StoredEvent[]>,
  query: EventQuery,
  { afterPosition = 0, limit }: EventQueryPage,
  scanLimit = 100_000,
): Promise<EventQueryResult> => {
  const found: StoredEvent[] = [];
  let position = afterPosition;
  let scanned = 0;
  while (scanned < scanLimit) {
    const batch = await read(position, Math.min(1000, scanLimit - scanned));
    if (batch.length === 0) return { events: found, nextAfter: null };
    for (const event of batch) {
      if (query.toPosition !== undefined && event.position > query.toPosition) return { events: found, nextAfter: null };
      if (!matchesQuery(event, query)) continue;
      // One match past a full page proves there is a next page.
      if (found.length === limit) return { events: found, nextAfter: found.at(-1)!.position };
      found.push(event);
    }
    scanned += batch.length;
    position = batch.at(-1)!.position;
  }
  return { events: found, nextAfter: position };
};

/** Pages of `queryPage` followed until `limit` events are found or nothing more can match. */
export const collectQuery = async (
  queryPage: (query: EventQuery, page: EventQueryPage) => Promise<EventQueryResult>,
  query: EventQuery,
  { afterPosition = 0, limit }: EventQueryPage,
): Promise<StoredEvent[]> => {
  const found: StoredEvent[] = [];
  for (let after: number | null = afterPosition; after !== null && found.length < limit;) {
    const page = await queryPage(query, { afterPosition: after, limit: limit - found.length });
    found.push(...page.events);
    after = page.nextAfter;
  }
  return found;
};
