import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { collectQuery, scanQuery, type EventQuery, type EventQueryPage, type EventQueryResult } from '../../src/eventstore/eventStore.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { eventStoreContract, newEvent } from './contract.js';

/**
 * The query path of stores without secondary indexes (KurrentDB): `scanQuery` over the store's own `readAll`.
 * A SQLite store answering through it, with a scan budget of a few events, must pass the whole contract: pages that
 * run out of budget before they fill must say where the next one starts, and lose nothing.
 */
class ScanningStore extends SqliteEventStore {
  constructor(
    path: string,
    private readonly budget: number,
  ) {
    super({ path, pollIntervalMs: 50 });
  }

  override async queryPage(query: EventQuery, page: EventQueryPage): Promise<EventQueryResult> {
    return scanQuery((fromPosition, maxCount) => this.readAll({ fromPosition, maxCount }), query, page, this.budget);
  }

  override async queryEvents(query: EventQuery, page: EventQueryPage) {
    return collectQuery((q, p) => this.queryPage(q, p), query, page);
  }
}

const open = async (budget: number) => {
  const dir = await mkdtemp(join(tmpdir(), 'vespera-scan-'));
  const store = new ScanningStore(join(dir, 'events.db'), budget);
  return { store, cleanup: async () => (await store.close(), rm(dir, { recursive: true, force: true })) };
};

eventStoreContract('scanning query path (scan budget 7)', () => open(7));

describe('scanQuery', () => {
  describe('when the scan budget runs out before the page is full', () => {
    it('answers a short page whose nextAfter is the last position read, and the next page goes on from there', async () => {
      const { store, cleanup } = await open(10);
      try {
        const actor = `actor-${randomUUID()}`;
        const stream = `test-${randomUUID()}`;
        const { events } = await store.appendToStream(
          stream,
          Array.from({ length: 30 }, (_, i) => newEvent('ThingHappened', { i }, i === 3 || i === 25 ? { actor } : {})),
          'no_stream',
        );
        const first = await store.queryPage({ actor }, { limit: 5 });
        expect(first.events.map((e) => e.id)).to.deep.equal([events[3]!.id]);
        expect(first.nextAfter).to.equal(events[9]!.position);
        const second = await store.queryPage({ actor }, { afterPosition: first.nextAfter!, limit: 5 });
        expect(second).to.deep.equal({ events: [], nextAfter: events[19]!.position });
        const third = await store.queryPage({ actor }, { afterPosition: second.nextAfter!, limit: 5 });
        expect(third.events.map((e) => e.id)).to.deep.equal([events[25]!.id]);
        expect(third.nextAfter, 'the budget ran out on the last event').to.equal(events[29]!.position);
        expect(await store.queryPage({ actor }, { afterPosition: third.nextAfter!, limit: 5 })).to.deep.equal({ events: [], nextAfter: null });
      } finally {
        await cleanup();
      }
    });
  });
});
