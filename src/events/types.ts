/** The message vocabulary shared by every aggregate, store and projector. */

export type EventMetadata = Readonly<{
  /** Plugin or user id that caused the event. */
  actor: string;
  /** Role the actor was acting for, when any. */
  role?: string | undefined;
  /** Surface the command came through: `rest`, `mcp:<tool>`, `cli`. */
  tool: string;
  commandId: string;
  /** The command that caused the event, so a reused idempotency key for another command is refused. */
  commandType?: string;
  /** Hash of the request behind an Idempotency-Key (absent for commands sent without one). */
  requestHash?: string;
  correlationId: string;
  causationId?: string | undefined;
  /** W3C traceparent of the request that caused the event (the active span's when tracing is on), when it sent one. */
  traceparent?: string | undefined;
  schemaVersion: number;
}>;

export type Event<Type extends string = string, Data extends object = object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;

export type Command<Type extends string = string, Data extends object = object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
  metadata: CommandMetadata;
}>;

/** Everything a decider may know about the outside world arrives here: time, ids and who asks. */
export type CommandMetadata = Readonly<{
  now: string;
  commandId: string;
  requestHash?: string | undefined;
  actor: string;
  role?: string | undefined;
  tool: string;
  correlationId?: string | undefined;
  /** The request this command answers (an undo names the request it reverses). */
  causationId?: string | undefined;
  /** W3C traceparent of the request, copied into the events' metadata. */
  traceparent?: string | undefined;
  /** Ids the decider may hand out, in order (task ids for a tree, for example). */
  newIds?: readonly string[];
}>;

/** An event about to be appended. */
export type NewEvent = Readonly<{
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}>;

/** An event as the store returns it. */
export type StoredEvent<E extends Event = Event> = Readonly<{
  id: string;
  type: E['type'];
  data: E['data'];
  metadata: EventMetadata;
  streamId: string;
  /** 0-based position of the event inside its stream. */
  revision: number;
  /** Global, monotonic position in the whole log (1-based). */
  position: number;
  recordedAt: string;
}>;

export type Decider<State, C extends Command, E extends Event> = Readonly<{
  decide: (command: C, state: State) => E | readonly E[];
  evolve: (state: State, event: StoredEvent<E>) => State;
  initialState: () => State;
}>;

// ─── Reading the log ───────────────────────────────────────────────────────────────────────────

export type ReadStreamOptions = Readonly<{ fromRevision?: number; maxCount?: number }>;
export type ReadAllOptions = Readonly<{ fromPosition?: number; maxCount?: number }>;

/**
 * A filter over the whole log, for the audit browser. Every given field must match; positions and times are
 * inclusive bounds; times are ISO-8601 instants in UTC (`recordedAt`).
 */
export type EventQuery = Readonly<{
  streamId?: string;
  /** Events whose data names this task (`data.taskId`). */
  taskId?: string;
  /** Any of these types. */
  types?: readonly string[];
  actor?: string;
  role?: string;
  tool?: string;
  correlationId?: string;
  fromTime?: string;
  toTime?: string;
  fromPosition?: number;
  toPosition?: number;
}>;

export type EventQueryPage = Readonly<{
  /** Start strictly after this position (the cursor of the previous page); 0 from the start. */
  afterPosition?: number;
  limit: number;
}>;

/** One page of a query: at most `limit` events, and where the next page starts. */
export type EventQueryResult = Readonly<{
  events: StoredEvent[];
  /**
   * Ask the next page with `afterPosition: nextAfter`; null when nothing after this page can match. It can be set
   * while the page is short (even empty): a store that scans stops after a bounded read and says how far it got.
   */
  nextAfter: number | null;
}>;

/**
 * The read side of the event store: what projections, the audit queries and the event browser read. Every
 * `EventStore` is one; layers that may not know the store take this instead.
 */
export interface EventLogReader {
  /** Events of one stream, oldest first, from a revision (inclusive). Empty for a stream that does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  /** The global log after a position (exclusive), oldest first, in batches of at most `maxCount`. */
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  /** One page of the events matching every field of the query, in position order after `afterPosition` (a bounded read). */
  queryPage(query: EventQuery, page: EventQueryPage): Promise<EventQueryResult>;
  /** Every event matching the query after `afterPosition`, up to `limit` (follows pages until full or at the end). */
  queryEvents(query: EventQuery, page: EventQueryPage): Promise<StoredEvent[]>;
  headPosition(): Promise<number>;
}
