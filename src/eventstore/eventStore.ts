import type { NewEvent, StoredEvent } from '../events/types.js';

/** `any` skips the check, `no_stream` demands a new stream, a number demands that exact last revision. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export type AppendResult = Readonly<{
  /** Revision of the last event appended (the stream's new revision). */
  nextRevision: number;
  /** Global position of the last event appended. */
  position: number;
  events: readonly StoredEvent[];
}>;

export type ReadStreamOptions = Readonly<{ fromRevision?: number; maxCount?: number }>;
export type ReadAllOptions = Readonly<{ fromPosition?: number; maxCount?: number }>;

export type AppendListener = (position: number, events?: readonly StoredEvent[]) => void;

export type StoreStats = Readonly<{ events: number; streams: number; headPosition: number }>;

/**
 * The only source of truth. Implementations: `SqliteEventStore` (embedded default) and
 * `EventStoreDbEventStore` (KurrentDB/EventStoreDB). Both pass test/eventstore/contract.ts.
 */
export interface EventStore {
  readonly kind: string;
  appendToStream(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Events of one stream, oldest first, from a revision (inclusive). Empty for a stream that does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  /** The global log after a position (exclusive), oldest first, in batches of at most `maxCount`. */
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  /** Current revision of a stream, or -1 when it does not exist. */
  streamRevision(streamId: string): Promise<number>;
  headPosition(): Promise<number>;
  stats(): Promise<StoreStats>;
  /**
   * Called after every append this process makes (with the events, in log order, when the store has them
   * at hand), and whenever polling sees another process's appends (position only).
   */
  onAppended(listener: AppendListener): () => void;
  close(): Promise<void>;
}

export const describeExpected = (expected: ExpectedRevision): string => (typeof expected === 'number' ? String(expected) : expected);
