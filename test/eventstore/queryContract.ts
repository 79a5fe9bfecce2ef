import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { EventMetadata, StoredEvent } from '../../src/events/types.js';
import type { EventQuery, EventStore } from '../../src/eventstore/eventStore.js';
import { newEvent } from './contract.js';

/**
 * The audit filters (`queryPage`, `queryEvents`) as every store must answer them. Each test writes to streams and
 * metadata values of its own, and filters on them, so the suite also runs against a shared server.
 */
export function queryContract(getStore: () => EventStore): void {
  describe('when querying the log (audit browser)', () => {
    let store: EventStore;
    before(() => {
      store = getStore();
    });

    /** Every page of a query, followed by `nextAfter` until null; each page within its limit. */
    const allPages = async (query: EventQuery, limit: number): Promise<StoredEvent[][]> => {
      const pages: StoredEvent[][] = [];
      for (let after: number | null = 0; after !== null;) {
        const page = await store.queryPage(query, { afterPosition: after, limit });
        expect(page.events.length).to.be.at.most(limit);
        if (page.nextAfter !== null) expect(page.nextAfter).to.be.greaterThan(after);
        pages.push(page.events);
        after = page.nextAfter;
        expect(pages.length, 'paging must end').to.be.below(10_000);
      }
      return pages;
    };
    const ids = (events: readonly StoredEvent[]) => events.map((e) => e.id);
    const found = async (query: EventQuery, limit = 1000) => ids(await store.queryEvents(query, { limit }));

    /** A stream of events with types and metadata chosen per event. */
    const appendMixed = async (stream: string, specs: ReadonlyArray<{ type?: string; data?: object; meta?: Partial<EventMetadata> }>) =>
      (
        await store.appendToStream(
          stream,
          specs.map((s) => newEvent(s.type ?? 'ThingHappened', s.data ?? { n: 1 }, s.meta)),
          'any',
        )
      ).events;

    it('filters by stream, in position order', async () => {
      const [a, b] = [`test-${randomUUID()}`, `test-${randomUUID()}`];
      const first = await appendMixed(a, [{}, {}]);
      await appendMixed(b, [{}]);
      const second = await appendMixed(a, [{}]);
      expect(await found({ streamId: a })).to.deep.equal(ids([...first, ...second]));
    });

    it('filters by the task an event names (data.taskId)', async () => {
      const stream = `test-${randomUUID()}`;
      const [taskId, other] = [randomUUID(), randomUUID()];
      const events = await appendMixed(stream, [{ data: { taskId } }, { data: { taskId: other } }, { data: { n: 2 } }, { data: { taskId, x: 1 } }]);
      expect(await found({ streamId: stream, taskId })).to.deep.equal(ids([events[0]!, events[3]!]));
      expect(await found({ taskId: other })).to.deep.equal(ids([events[1]!]));
    });

    it('filters by any of several types, a repeated type counting once', async () => {
      const stream = `test-${randomUUID()}`;
      const events = await appendMixed(stream, [{ type: 'Alpha' }, { type: 'Beta' }, { type: 'Gamma' }, { type: 'Alpha' }]);
      expect(await found({ streamId: stream, types: ['Alpha', 'Gamma'] })).to.deep.equal(ids([events[0]!, events[2]!, events[3]!]));
      expect(await found({ streamId: stream, types: ['Beta', 'Beta'] })).to.deep.equal(ids([events[1]!]));
      expect(await found({ streamId: stream, types: [] }), 'no type means every type').to.have.length(4);
    });

    it('filters by actor, role, tool and correlation id, alone and together', async () => {
      const stream = `test-${randomUUID()}`;
      const [actor, role, tool, correlationId] = [`actor-${randomUUID()}`, `role-${randomUUID()}`, `tool-${randomUUID()}`, randomUUID()];
      const events = await appendMixed(stream, [
        { meta: { actor } },
        { meta: { actor, role } },
        { meta: { role, tool } },
        { meta: { actor, role, tool, correlationId } },
        { meta: { correlationId } },
      ]);
      const pick = (...at: number[]) => ids(at.map((i) => events[i]!));
      expect(await found({ actor })).to.deep.equal(pick(0, 1, 3));
      expect(await found({ role })).to.deep.equal(pick(1, 2, 3));
      expect(await found({ tool })).to.deep.equal(pick(2, 3));
      expect(await found({ correlationId })).to.deep.equal(pick(3, 4));
      expect(await found({ actor, role })).to.deep.equal(pick(1, 3));
      expect(await found({ actor, role, tool, correlationId, streamId: stream, types: ['ThingHappened'] })).to.deep.equal(pick(3));
      expect(await found({ actor, streamId: `test-${randomUUID()}` })).to.deep.equal([]);
    });

    it('bounds by position, both ends inclusive', async () => {
      const stream = `test-${randomUUID()}`;
      const events = await appendMixed(stream, [{}, {}, {}, {}, {}]);
      const [from, to] = [events[1]!.position, events[3]!.position];
      expect(await found({ streamId: stream, fromPosition: from, toPosition: to })).to.deep.equal(ids(events.slice(1, 4)));
      expect(await found({ streamId: stream, fromPosition: to })).to.deep.equal(ids(events.slice(3)));
      expect(await found({ streamId: stream, toPosition: from })).to.deep.equal(ids(events.slice(0, 2)));
    });

    it('bounds by the time an event was recorded, both ends inclusive', async () => {
      const stream = `test-${randomUUID()}`;
      const before = await appendMixed(stream, [{}]);
      await sleep(15);
      const during = await appendMixed(stream, [{}, {}]);
      await sleep(15);
      const after = await appendMixed(stream, [{}]);
      const [fromTime, toTime] = [during[0]!.recordedAt, during.at(-1)!.recordedAt];
      expect(fromTime > before[0]!.recordedAt && toTime < after[0]!.recordedAt, 'the three appends are apart in time').to.equal(true);
      expect(await found({ streamId: stream, fromTime, toTime })).to.deep.equal(ids(during));
      expect(await found({ streamId: stream, fromTime })).to.deep.equal(ids([...during, ...after]));
      expect(await found({ streamId: stream, toTime })).to.deep.equal(ids([...before, ...during]));
    });

    it('pages without a gap or a duplicate until nextAfter is null', async () => {
      const stream = `test-${randomUUID()}`;
      const actor = `actor-${randomUUID()}`;
      const mine = await appendMixed(
        stream,
        Array.from({ length: 25 }, (_, i) => ({ meta: i % 3 === 0 ? { actor } : {} })),
      );
      const pages = await allPages({ streamId: stream }, 7);
      expect(ids(pages.flat())).to.deep.equal(ids(mine));
      const filtered = await allPages({ streamId: stream, actor }, 3);
      expect(ids(filtered.flat())).to.deep.equal(ids(mine.filter((_, i) => i % 3 === 0)));
      expect(await store.queryEvents({ streamId: stream }, { limit: 10 }), 'queryEvents stops at its limit').to.have.length(10);
    });

    it('returns events exactly as readStream does', async () => {
      const stream = `test-${randomUUID()}`;
      await appendMixed(stream, [{ type: 'PayloadRecorded', data: { taskId: 't', nested: { a: [1, null] } }, meta: { role: 'r' } }]);
      expect(await store.queryEvents({ streamId: stream }, { limit: 10 })).to.deep.equal(await store.readStream(stream));
    });
  });
}
