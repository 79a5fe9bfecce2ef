import type { EventStore } from './eventStore.js';
import { EventStoreDbEventStore } from './eventstoredb.js';
import { PostgresEventStore } from './postgres.js';
import { SqliteEventStore } from './sqlite.js';

/** Where a worker thread finds the log: it opens its own connection (a store object cannot cross threads). */
export type EventStoreSpec = Readonly<{ kind: 'sqlite'; path: string } | { kind: 'eventstoredb'; url: string } | { kind: 'postgres'; url: string }>;

/** A reading connection to the log for a worker thread; `pollIntervalMs` 0 when it never follows appends. */
export const openStoreFromSpec = (spec: EventStoreSpec, pollIntervalMs = 0): EventStore => {
  if (spec.kind === 'sqlite') return new SqliteEventStore({ path: spec.path, pollIntervalMs });
  // A reader needs few connections; it LISTENs only when it follows appends.
  if (spec.kind === 'postgres') return new PostgresEventStore({ url: spec.url, pollIntervalMs, poolSize: 2 });
  return new EventStoreDbEventStore({ url: spec.url, pollIntervalMs });
};
