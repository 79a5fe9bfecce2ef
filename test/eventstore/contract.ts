import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { EventMetadata, NewEvent, StoredEvent } from '../../src/events/types.js';
import type { EventStore } from '../../src/eventstore/eventStore.js';
import { queryContract } from './queryContract.js';

export type EventStoreFactory = () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>;

const metadata = (overrides: Partial<EventMetadata> = {}): EventMetadata => ({
  actor: 'plugin:test',
  tool: 'rest',
  commandId: randomUUID(),
  correlationId: randomUUID(),
  schemaVersion: 1,
  ...overrides,
});

export const newEvent = (type = 'ThingHappened', data: object = { n: 1 }, meta?: Partial<EventMetadata>): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: metadata(meta),
});

/** Unique per test, so the suite can run against a shared server that already holds other events. */
const newStream = () => `test-${randomUUID()}`;

const expectConflict = async (attempt: Promise<unknown>): Promise<Error & { code: string; actual: number }> => {
  try {
    await attempt;
  } catch (error) {
    expect(error).to.have.property('code', 'CONCURRENCY_CONFLICT');
    return error as Error & { code: string; actual: number };
  }
  expect.fail('the append should have been refused with CONCURRENCY_CONFLICT');
};

const expectIncreasing = (positions: readonly number[]) =>
  positions.slice(1).forEach((position, i) => expect(position).to.be.greaterThan(positions[i]!));

/** Every EventStore implementation must pass this suite unchanged. */
export function eventStoreContract(name: string, factory: EventStoreFactory): void {
  describe(`EventStore contract: ${name}`, function () {
    let store: EventStore;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ store, cleanup } = await factory());
    });

    after(async () => {
      await cleanup();
    });

    /**
     * Our own events of the global log after `from`, read in batches until the log is exhausted. `from` is
     * always a real event's position (a prior head): reading $all from inside a record is undefined in ESDB.
     */
    const readAllOf = async (streams: readonly string[], from: number, maxCount = 1000): Promise<StoredEvent[]> => {
      const found: StoredEvent[] = [];
      for (let position = from; ;) {
        const batch = await store.readAll({ fromPosition: position, maxCount });
        if (batch.length === 0) return found;
        expect(batch.length).to.be.at.most(maxCount);
        expectIncreasing([position, ...batch.map((e) => e.position)]);
        found.push(...batch.filter((e) => streams.includes(e.streamId)));
        position = batch.at(-1)!.position;
      }
    };

    describe('when appending to a new stream', () => {
      it("accepts 'no_stream' and numbers revisions from 0 without gaps", async () => {
        const stream = newStream();
        const result = await store.appendToStream(stream, [newEvent(), newEvent(), newEvent()], 'no_stream');
        expect(result.nextRevision).to.equal(2);
        expect(result.events.map((e) => e.revision)).to.deep.equal([0, 1, 2]);
        const more = await store.appendToStream(stream, [newEvent(), newEvent()], 2);
        expect(more.events.map((e) => e.revision)).to.deep.equal([3, 4]);
        expect((await store.readStream(stream)).map((e) => e.revision)).to.deep.equal([0, 1, 2, 3, 4]);
      });

      it('reports the global position of its last event', async () => {
        const result = await store.appendToStream(newStream(), [newEvent(), newEvent()], 'no_stream');
        expect(result.position).to.equal(result.events.at(-1)!.position);
        expectIncreasing(result.events.map((e) => e.position));
      });

      it("refuses 'stream_exists'", async () => {
        const stream = newStream();
        const error = await expectConflict(store.appendToStream(stream, [newEvent()], 'stream_exists'));
        expect(error.actual).to.equal(-1);
        expect(await store.readStream(stream)).to.deep.equal([]);
      });
    });

    describe('when the stream already exists', () => {
      let stream: string;
      beforeEach(async () => {
        stream = newStream();
        await store.appendToStream(stream, [newEvent(), newEvent()], 'no_stream');
      });

      it('appends with the exact last revision', async () => {
        const result = await store.appendToStream(stream, [newEvent()], 1);
        expect(result.nextRevision).to.equal(2);
        expect(await store.streamRevision(stream)).to.equal(2);
      });

      it('refuses a stale revision and appends nothing', async () => {
        const error = await expectConflict(store.appendToStream(stream, [newEvent()], 0));
        expect(error.actual).to.equal(1);
        expect(await store.readStream(stream)).to.have.length(2);
      });

      it("refuses 'no_stream'", async () => {
        await expectConflict(store.appendToStream(stream, [newEvent()], 'no_stream'));
        expect(await store.readStream(stream)).to.have.length(2);
      });

      it("accepts 'stream_exists'", async () => {
        expect((await store.appendToStream(stream, [newEvent()], 'stream_exists')).nextRevision).to.equal(2);
      });
    });

    describe("when the expected revision is 'any'", () => {
      it('appends to a missing stream and to an existing one', async () => {
        const stream = newStream();
        expect((await store.appendToStream(stream, [newEvent()], 'any')).nextRevision).to.equal(0);
        expect((await store.appendToStream(stream, [newEvent()], 'any')).nextRevision).to.equal(1);
      });
    });

    describe('when reading a stream', () => {
      it('starts at a revision and stops after maxCount events', async () => {
        const stream = newStream();
        const { events } = await store.appendToStream(
          stream,
          Array.from({ length: 6 }, () => newEvent()),
          'no_stream',
        );
        const read = await store.readStream(stream, { fromRevision: 2, maxCount: 3 });
        expect(read.map((e) => e.revision)).to.deep.equal([2, 3, 4]);
        expect(read.map((e) => e.id)).to.deep.equal(events.slice(2, 5).map((e) => e.id));
      });

      it('returns nothing for a stream that does not exist', async () => {
        const stream = newStream();
        expect(await store.readStream(stream)).to.deep.equal([]);
        expect(await store.streamRevision(stream)).to.equal(-1);
      });
    });

    describe('when reading the global log', () => {
      it('returns the events of every stream in position order, strictly after fromPosition', async () => {
        const [a, b] = [newStream(), newStream()];
        const before = await store.headPosition();
        const first = await store.appendToStream(a, [newEvent()], 'no_stream');
        const second = await store.appendToStream(b, [newEvent(), newEvent()], 'no_stream');
        const third = await store.appendToStream(a, [newEvent()], 0);
        const appended = [...first.events, ...second.events, ...third.events];

        const all = await readAllOf([a, b], before);
        expect(all.map((e) => e.id)).to.deep.equal(appended.map((e) => e.id));
        expect(all.map((e) => e.position)).to.deep.equal(appended.map((e) => e.position));

        const after = await readAllOf([a, b], first.position);
        expect(after.map((e) => e.id)).to.deep.equal(appended.slice(1).map((e) => e.id));
      });

      it('hands out at most maxCount events per batch', async () => {
        const stream = newStream();
        const before = await store.headPosition();
        const { events } = await store.appendToStream(
          stream,
          Array.from({ length: 5 }, () => newEvent()),
          'no_stream',
        );
        const batch = await store.readAll({ fromPosition: before, maxCount: 2 });
        expect(batch).to.have.length(2);
        const all = await readAllOf([stream], before, 2);
        expect(all.map((e) => e.id)).to.deep.equal(events.map((e) => e.id));
      });

      it('has its head at the last appended position', async () => {
        const { position } = await store.appendToStream(newStream(), [newEvent(), newEvent()], 'no_stream');
        expect(await store.headPosition()).to.equal(position);
        expect((await store.stats()).headPosition).to.equal(position);
      });
    });

    describe('when a listener watches appends', () => {
      it('is called with a position at least that of the append, until it unsubscribes', async () => {
        const seen: number[] = [];
        const unsubscribe = store.onAppended((position) => seen.push(position));
        const { position } = await store.appendToStream(newStream(), [newEvent()], 'no_stream');
        for (let i = 0; i < 100 && !seen.some((p) => p >= position); i++) await sleep(20);
        expect(seen.some((p) => p >= position)).to.equal(true);

        unsubscribe();
        const count = seen.length;
        await store.appendToStream(newStream(), [newEvent()], 'no_stream');
        await sleep(200);
        expect(seen).to.have.length(count);
      });
    });

    describe('when events carry rich payloads', () => {
      it('returns data and metadata exactly as appended', async () => {
        const data = {
          title: 'Zürich → 東京 🚀',
          nested: { list: [1, 2.5, -3, null, true, 'x'], deep: { empty: {}, none: [] as unknown[] } },
          quote: 'she said "hi"\n\ttab\\slash',
        };
        const meta = { role: 'reviewer', causationId: randomUUID() };
        const event = newEvent('PayloadRecorded', data, meta);
        const stream = newStream();
        const before = await store.headPosition();
        const { position } = await store.appendToStream(stream, [event], 'no_stream');

        const [fromStream] = await store.readStream(stream);
        const [fromAll] = await readAllOf([stream], before);
        for (const read of [fromStream!, fromAll!]) {
          expect(read).to.include({ id: event.id, type: 'PayloadRecorded', streamId: stream, revision: 0, position });
          expect(read.data).to.deep.equal(data);
          expect(read.metadata).to.deep.equal(event.metadata);
          expect(Number.isNaN(Date.parse(read.recordedAt))).to.equal(false);
        }
      });
    });

    queryContract(() => store);

    describe('when appends race', () => {
      it('accepts 50 concurrent appends to different streams, each at its own position', async () => {
        const streams = Array.from({ length: 50 }, newStream);
        const before = await store.headPosition();
        const results = await Promise.all(streams.map((s) => store.appendToStream(s, [newEvent()], 'no_stream')));
        const positions = results.map((r) => r.position);
        expect(new Set(positions).size).to.equal(50);
        positions.forEach((p) => expect(p).to.be.greaterThan(before));
        const logged = await readAllOf(streams, before);
        expect(logged.map((e) => e.position)).to.deep.equal([...positions].sort((x, y) => x - y));
      });

      it('lets exactly one of several appends with the same expected revision win', async () => {
        const stream = newStream();
        await store.appendToStream(stream, [newEvent()], 'no_stream');
        const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => store.appendToStream(stream, [newEvent()], 0)));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).to.have.property('code', 'CONCURRENCY_CONFLICT');
        expect(await store.readStream(stream)).to.have.length(2);
      });
    });
  });
}
