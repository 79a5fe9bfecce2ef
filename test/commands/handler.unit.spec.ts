import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CommandHandler, type CommandResult } from '../../src/commands/handler.js';
import { conflict, DomainError } from '../../src/errors.js';
import type { Command, Decider, Event, NewEvent } from '../../src/events/types.js';
import type { EventStore, ExpectedRevision } from '../../src/eventstore/eventStore.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';

/**
 * The command handler over a real SQLite event store, with a tiny seat-reservation decider: per-stream
 * batching, idempotent replays by command id, and optimistic concurrency against another handler (standing
 * in for another process) on the same store.
 */

const STREAM = 'seats-1';

describe('CommandHandler', () => {
  let dir: string;
  let store: SqliteEventStore;
  let counting: CountingStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vespera-handler-'));
    store = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 0 });
    counting = new CountingStore(store);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const handlerOver = (eventStore: EventStore, maxAttempts?: number) =>
    new CommandHandler({ store: eventStore, decider: seats, ...(maxAttempts ? { maxAttempts } : {}) });

  describe('when commands are queued together', () => {
    it('decides them in order and appends them in one batch', async () => {
      const handler = handlerOver(counting);
      const first = handler.handle(STREAM, reserve('c1', '1'));
      // Pushed while the first batch is in flight: they form the next batch.
      const rest = [
        handler.handle(STREAM, reserve('c2', '2')),
        handler.handle(STREAM, reserve('c3', '3', '4')),
        handler.handle(STREAM, reserve('c4', '5')),
      ];
      const results = await Promise.all([first, ...rest]);

      expect(counting.appends.map((a) => a.events.length)).to.deep.equal([1, 4]);
      expect(counting.appends[1]!.expected).to.equal(0);
      expect(results.map((r) => r.events.map((e) => [e.revision, (e.data as { seat: string }).seat]))).to.deep.equal([
        [[0, '1']],
        [[1, '2']],
        [
          [2, '3'],
          [3, '4'],
        ],
        [[4, '5']],
      ]);
      expect(results.map((r) => r.nextRevision)).to.deep.equal([0, 1, 3, 4]);
      expect(results.map((r) => r.position)).to.deep.equal([1, 2, 4, 5]);
      expect(results.every((r) => !r.replayed)).to.equal(true);
    });

    it('decides each command against the state the earlier ones of its batch left', async () => {
      const handler = handlerOver(counting);
      const first = handler.handle(STREAM, reserve('c1', '1'));
      const second = handler.handle(STREAM, reserve('c2', '2'));
      const third = handler.handle(STREAM, reserve('c3', '2'));
      await first;
      await second;
      await expectRefusal(third, 'SEAT_TAKEN');
    });

    it('fails only the refused command of a batch', async () => {
      const handler = handlerOver(counting);
      const first = handler.handle(STREAM, reserve('c1', '1'));
      const batch = [reserve('c2', '2'), reserve('c3', '1'), reserve('c4', '3')].map((c) => handler.handle(STREAM, c));
      const outcomes = await Promise.allSettled([first, ...batch]);

      expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect(((outcomes[2] as PromiseRejectedResult).reason as DomainError).code).to.equal('SEAT_TAKEN');
      expect(counting.appends.map((a) => a.events.length)).to.deep.equal([1, 2]);
      expect((await store.readStream(STREAM)).map((e) => (e.data as { seat: string }).seat)).to.deep.equal(['1', '2', '3']);
    });

    it('answers a command that decides nothing with the current revision and appends nothing', async () => {
      const handler = handlerOver(counting);
      await handler.handle(STREAM, reserve('c1', '1'));
      const result = await handler.handle(STREAM, reserve('c2'));
      expect(result).to.deep.equal({ events: [], nextRevision: 0, position: 1, replayed: false });
      expect(counting.appends).to.have.length(1);
    });
  });

  describe('when a command id is sent again', () => {
    it('replays the original events and appends nothing', async () => {
      const handler = handlerOver(counting);
      const original = await handler.handle(STREAM, reserve('c1', '1', '2'));
      await handler.handle(STREAM, reserve('c2', '3'));
      const replay = await handler.handle(STREAM, reserve('c1', '1', '2'));

      expect(replay.replayed).to.equal(true);
      expect(replay.events).to.deep.equal(original.events);
      expect([replay.nextRevision, replay.position]).to.deep.equal([original.nextRevision, original.position]);
      expect(counting.appends).to.have.length(2);
      expect(await store.streamRevision(STREAM)).to.equal(2);
    });

    it('replays from the stored metadata after a restart', async () => {
      const original = await handlerOver(store).handle(STREAM, reserve('c1', '1'));
      const replay = await handlerOver(counting).handle(STREAM, reserve('c1', '1'));
      expect(replay.replayed).to.equal(true);
      expect(replay.events).to.deep.equal(original.events);
      expect(counting.appends).to.have.length(0);
    });

    it('replays when the request is the same (same requestHash)', async () => {
      const handler = handlerOver(counting);
      await handler.handle(STREAM, reserve('c1', '1', { requestHash: 'h1' }));
      expect((await handler.handle(STREAM, reserve('c1', '1', { requestHash: 'h1' }))).replayed).to.equal(true);
    });

    it('refuses the id for another command type with IDEMPOTENCY_KEY_REUSED', async () => {
      const handler = handlerOver(counting);
      await handler.handle(STREAM, reserve('c1', '1'));
      await expectRefusal(handler.handle(STREAM, release('c1', '1')), 'IDEMPOTENCY_KEY_REUSED', 422);
      expect(counting.appends).to.have.length(1);
    });

    it('refuses the id for another request (another requestHash) with IDEMPOTENCY_KEY_REUSED', async () => {
      const handler = handlerOver(counting);
      await handler.handle(STREAM, reserve('c1', '1', { requestHash: 'h1' }));
      await expectRefusal(handler.handle(STREAM, reserve('c1', '2', { requestHash: 'h2' })), 'IDEMPOTENCY_KEY_REUSED', 422);
      // After a restart the stored metadata still tells the two requests apart.
      await expectRefusal(handlerOver(store).handle(STREAM, reserve('c1', '2', { requestHash: 'h2' })), 'IDEMPOTENCY_KEY_REUSED', 422);
      expect(await store.streamRevision(STREAM)).to.equal(0);
    });
  });

  describe('when another process appends between our read and our append', () => {
    const other = () => handlerOver(store);

    it('reads the stream again, decides again and appends', async () => {
      const handler = handlerOver(counting);
      await handler.handle(STREAM, reserve('c1', '1'));
      counting.beforeAppend = once(() => other().handle(STREAM, reserve('x1', '9')));
      const result = await handler.handle(STREAM, reserve('c2', '2'));

      expect(counting.appends.map((a) => a.expected)).to.deep.equal(['no_stream', 0, 1]);
      expect(result.events.map((e) => e.revision)).to.deep.equal([2]);
      expect((await store.readStream(STREAM)).map((e) => (e.data as { seat: string }).seat)).to.deep.equal(['1', '9', '2']);
    });

    it("decides again against the other process's events", async () => {
      const handler = handlerOver(counting);
      await handler.handle(STREAM, reserve('c1', '1'));
      counting.beforeAppend = once(() => other().handle(STREAM, reserve('x1', '2')));
      await expectRefusal(handler.handle(STREAM, reserve('c2', '2')), 'SEAT_TAKEN');
      expect(await store.streamRevision(STREAM)).to.equal(1);
    });

    it('gives up with CONCURRENCY_CONFLICT after maxAttempts', async () => {
      const handler = handlerOver(counting, 3);
      await handler.handle(STREAM, reserve('c1', '1'));
      let n = 0;
      counting.beforeAppend = async () => {
        await other().handle(STREAM, reserve(`x${++n}`, `9${n}`));
      };
      await expectRefusal(handler.handle(STREAM, reserve('c2', '2')), 'CONCURRENCY_CONFLICT', 412);
      expect(counting.appends).to.have.length(1 + 3);
      expect(await store.streamRevision(STREAM)).to.equal(3);
    });
  });

  describe('when the store vouches for the stream (its own last append left it there)', () => {
    it('decides against the cached state without reading the stream', async () => {
      const vouching = new CountingStore(store, true);
      const handler = handlerOver(vouching);
      await handler.handle(STREAM, reserve('c1', '1'));
      await handler.handle(STREAM, reserve('c2', '2'));
      await handler.load(STREAM);

      expect(store.ownRevision(STREAM)).to.equal(1);
      expect(vouching.reads).to.equal(1); // the first load of the stream, before anything was appended
    });

    it("decides again against another instance's events it had not seen", async () => {
      const handler = handlerOver(new CountingStore(store, true));
      await handler.handle(STREAM, reserve('c1', '1'));
      const other = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 0 });
      try {
        await handlerOver(other).handle(STREAM, reserve('x1', '9'));
        // This store never polls, so it still vouches for revision 0: the stale append is refused and retried.
        expect(store.ownRevision(STREAM)).to.equal(0);
        await expectRefusal(handler.handle(STREAM, reserve('c2', '9')), 'SEAT_TAKEN');
        expect(store.ownRevision(STREAM)).to.equal(undefined);
        expect((await handler.handle(STREAM, reserve('c3', '3'))).nextRevision).to.equal(2);
      } finally {
        await other.close();
      }
    });

    it("vouches for no stream once polling sees another instance's append", async () => {
      const polling = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 20 });
      const other = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 0 });
      try {
        await handlerOver(polling).handle(STREAM, reserve('c1', '1'));
        expect(polling.ownRevision(STREAM)).to.equal(0);
        await handlerOver(other).handle(STREAM, reserve('x1', '9'));
        for (let i = 0; i < 100 && polling.ownRevision(STREAM) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
        expect(polling.ownRevision(STREAM)).to.equal(undefined);
        expect([...(await handlerOver(polling).load(STREAM))]).to.have.members(['1', '9']);
      } finally {
        await Promise.all([polling.close(), other.close()]);
      }
    });
  });
});

// ─── The seat decider ────────────────────────────────────────────────────────────────────────────

type SeatReserved = Event<'SeatReserved', { seat: string }>;
type SeatReleased = Event<'SeatReleased', { seat: string }>;
type SeatEvent = SeatReserved | SeatReleased;
type Reserve = Command<'Reserve', { seats: string[] }>;
type Release = Command<'Release', { seat: string }>;
type SeatCommand = Reserve | Release;
type SeatState = ReadonlySet<string>;

const seats: Decider<SeatState, SeatCommand, SeatEvent> = {
  decide: (command, taken) => {
    switch (command.type) {
      case 'Reserve': {
        const busy = command.data.seats.filter((seat) => taken.has(seat));
        if (busy.length > 0) throw conflict('SEAT_TAKEN', `Seats ${busy.join(', ')} are taken.`);
        return command.data.seats.map((seat) => ({ type: 'SeatReserved', data: { seat } }));
      }
      case 'Release':
        if (!taken.has(command.data.seat)) throw conflict('SEAT_FREE', `Seat ${command.data.seat} is free.`);
        return { type: 'SeatReleased', data: { seat: command.data.seat } };
      default: {
        const _exhaustive: never = command;
        throw new Error(`Unknown command ${(_exhaustive as Command).type}`);
      }
    }
  },
  evolve: (taken, event) => {
    const next = new Set(taken);
    if (event.type === 'SeatReserved') next.add(event.data.seat);
    else next.delete(event.data.seat);
    return next;
  },
  initialState: () => new Set(),
};

type Extra = { requestHash?: string };

function metadata(commandId: string, extra: Extra = {}) {
  return { now: '2026-01-01T00:00:00.000Z', commandId, actor: 'test', tool: 'test', ...extra };
}

function reserve(commandId: string, ...rest: Array<string | Extra>): SeatCommand {
  const extra = rest.find((r): r is Extra => typeof r === 'object');
  return { type: 'Reserve', data: { seats: rest.filter((r): r is string => typeof r === 'string') }, metadata: metadata(commandId, extra) };
}

function release(commandId: string, seat: string): SeatCommand {
  return { type: 'Release', data: { seat }, metadata: metadata(commandId) };
}

async function expectRefusal(promise: Promise<CommandResult>, code: string, status?: number): Promise<void> {
  let result: CommandResult;
  try {
    result = await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(DomainError);
    expect((error as DomainError).code).to.equal(code);
    if (status !== undefined) expect((error as DomainError).status).to.equal(status);
    return;
  }
  expect.fail(`expected ${code}, got ${JSON.stringify(result)}`);
}

function once(action: () => Promise<unknown>): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await action();
  };
}

/** Records every append (and lets a test run something just before it, like another process appending). */
class CountingStore implements EventStore {
  readonly appends: Array<{ events: readonly NewEvent[]; expected: ExpectedRevision }> = [];
  beforeAppend?: () => Promise<void>;
  /** readStream calls. */
  reads = 0;
  readonly ownRevision?: (streamId: string) => number | undefined;

  /** `vouching`: passes the inner store's ownRevision on (by default a wrapper cannot vouch, so every load reads). */
  constructor(
    private readonly inner: EventStore,
    vouching = false,
  ) {
    if (vouching && inner.ownRevision) this.ownRevision = (streamId) => inner.ownRevision!(streamId);
  }

  get kind() {
    return this.inner.kind;
  }

  async appendToStream(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision) {
    this.appends.push({ events, expected });
    await this.beforeAppend?.();
    return this.inner.appendToStream(streamId, events, expected);
  }

  readStream: EventStore['readStream'] = (...args) => {
    this.reads += 1;
    return this.inner.readStream(...args);
  };
  readAll: EventStore['readAll'] = (...args) => this.inner.readAll(...args);
  streamRevision: EventStore['streamRevision'] = (...args) => this.inner.streamRevision(...args);
  queryPage: EventStore['queryPage'] = (...args) => this.inner.queryPage(...args);
  queryEvents: EventStore['queryEvents'] = (...args) => this.inner.queryEvents(...args);
  headPosition: EventStore['headPosition'] = () => this.inner.headPosition();
  stats: EventStore['stats'] = () => this.inner.stats();
  onAppended: EventStore['onAppended'] = (listener) => this.inner.onAppended(listener);
  close: EventStore['close'] = () => this.inner.close();
}
