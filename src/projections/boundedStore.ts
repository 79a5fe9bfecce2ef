import type { StoredEvent } from '../events/types.js';
import type { EventStore } from '../eventstore/eventStore.js';

/**
 * A read-only view of `store` that ends at `until`: the log as it was when a read model's checkpoint was
 * taken, so a model rebuilt from it can be compared row for row with the live one. Appends are refused;
 * `signal` stops a long read between batches (a server shutting down).
 */
export const boundedStore = (
  store: EventStore,
  until: number,
  signal?: AbortSignal,
  /** Sees every batch `readAll` hands out: lets a second fold ride on one read of the log. */
  onRead?: (events: readonly StoredEvent[]) => void,
): EventStore => {
  const check = () => signal?.throwIfAborted();
  return {
    kind: `${store.kind} (up to position ${until})`,
    appendToStream: () => Promise.reject(new Error('a bounded view of the log is read-only')),
    readStream: async (streamId, options) => {
      check();
      return (await store.readStream(streamId, options)).filter((e) => e.position <= until);
    },
    readAll: async ({ fromPosition = 0, maxCount = 1000 } = {}) => {
      check();
      if (fromPosition >= until) return [];
      const events = (await store.readAll({ fromPosition, maxCount: Math.min(maxCount, until - fromPosition) })).filter((e) => e.position <= until);
      onRead?.(events);
      return events;
    },
    streamRevision: async (streamId) => {
      const events = await store.readStream(streamId);
      return events.filter((e) => e.position <= until).at(-1)?.revision ?? -1;
    },
    queryEvents: (query, page) => store.queryEvents({ ...query, toPosition: Math.min(query.toPosition ?? until, until) }, page),
    queryPage: (query, page) => store.queryPage({ ...query, toPosition: Math.min(query.toPosition ?? until, until) }, page),
    headPosition: async () => Math.min(until, await store.headPosition()),
    stats: async () => ({ ...(await store.stats()), headPosition: Math.min(until, await store.headPosition()) }),
    onAppended: () => () => {},
    close: async () => {},
  };
};
