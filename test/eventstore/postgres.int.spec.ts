import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
import { PostgresEventStore } from '../../src/eventstore/postgres.js';
import { eventStoreContract, newEvent } from './contract.js';
import { freshDatabase, requirePostgres, startProxy } from '../support/postgres.js';

eventStoreContract('postgres', async () => {
  const { url, drop } = await freshDatabase();
  const store = new PostgresEventStore({ url, pollIntervalMs: 50 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await drop();
    },
  };
});

describe('PostgresEventStore', function () {
  this.timeout(30_000);
  let url: string;
  let drop: () => Promise<void>;
  const opened: PostgresEventStore[] = [];
  const open = (options: Partial<ConstructorParameters<typeof PostgresEventStore>[0]> = {}) => {
    const store = new PostgresEventStore({ url, pollIntervalMs: 50, ...options });
    opened.push(store);
    return store;
  };

  before(async () => {
    await requirePostgres();
  });

  beforeEach(async () => {
    ({ url, drop } = await freshDatabase());
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await drop();
  });

  describe('when several processes start on an empty database at once', () => {
    it('creates the schema once and every one of them appends', async () => {
      const stores = Array.from({ length: 4 }, () => open());
      await Promise.all(stores.map((s) => s.ready()));
      const results = await Promise.all(stores.map((s) => s.appendToStream(`test-${randomUUID()}`, [newEvent()], 'no_stream')));
      expect(results.map((r) => r.position).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4]);
    });
  });

  // Tried against positions taken from a sequence (and the head updated at commit): the follower missed most events.
  describe('when appenders on several pools race (late commits)', () => {
    it('hands out positions that a follower reading `position > checkpoint` never skips', async () => {
      const writers = Array.from({ length: 4 }, () => open({ listen: false, pollIntervalMs: 0 }));
      const follower = open({ listen: false, pollIntervalMs: 0 });
      const seen: number[] = [];
      let checkpoint = 0;
      let writing = true;
      const follow = (async () => {
        while (writing || checkpoint < (await follower.headPosition())) {
          const batch = await follower.readAll({ fromPosition: checkpoint, maxCount: 500 });
          for (const event of batch) seen.push(event.position);
          checkpoint = batch.at(-1)?.position ?? checkpoint;
        }
      })();
      const acknowledged = (
        await Promise.all(
          writers.map(async (writer) => {
            const positions: number[] = [];
            for (let round = 0; round < 25; round++) {
              const results = await Promise.all(
                Array.from({ length: 8 }, () => writer.appendToStream(`test-${randomUUID()}`, [newEvent(), newEvent()], 'no_stream')),
              );
              positions.push(...results.flatMap((r) => r.events.map((e) => e.position)));
            }
            return positions;
          }),
        )
      ).flat();
      writing = false;
      await follow;
      expect(acknowledged).to.have.length(4 * 25 * 8 * 2);
      // Followed in order, once each, and nothing acknowledged is missing: no position was passed before it committed.
      expect(seen).to.deep.equal([...acknowledged].sort((a, b) => a - b));
      expect(seen).to.deep.equal(Array.from({ length: seen.length }, (_, i) => i + 1));
    });
  });

  describe('when many appends arrive together (group commit)', () => {
    it('commits them and fails only the stale one', async () => {
      const store = open();
      const taken = `test-${randomUUID()}`;
      await store.appendToStream(taken, [newEvent()], 'no_stream');
      const streams = Array.from({ length: 200 }, (_, i) => (i === 100 ? taken : `test-${randomUUID()}`));
      const outcomes = await Promise.allSettled(streams.map((s) => store.appendToStream(s, [newEvent()], 'no_stream')));
      const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ i, reason: o.reason as unknown }] : []));
      expect(failed.map((f) => f.i)).to.deep.equal([100]);
      expect(failed[0]!.reason).to.have.property('code', 'CONCURRENCY_CONFLICT');
      expect(failed[0]!.reason).to.have.property('actual', 0);
      expect((await store.stats()).events).to.equal(200);
    });
  });

  describe('when an event is read back', () => {
    it('keeps the order of its keys (a rebuilt read model must equal the live one byte for byte)', async () => {
      const store = open();
      const stream = `test-${randomUUID()}`;
      const data = { zeta: 1, a: { yy: 2, b: 3 }, middle: [{ z: 1, aa: 2 }] };
      await store.appendToStream(stream, [newEvent('Ordered', data)], 'no_stream');
      const [read] = await store.readStream(stream);
      expect(JSON.stringify(read!.data)).to.equal(JSON.stringify(data));
    });
  });

  describe('when an append is retried with the same event ids', () => {
    it('returns the stored result in the same stream and refuses them in another', async () => {
      const store = open();
      const stream = `test-${randomUUID()}`;
      const events = [newEvent(), newEvent()];
      const first = await store.appendToStream(stream, events, 'no_stream');
      const again = await store.appendToStream(stream, events, 'no_stream');
      expect(again).to.deep.equal(first);
      expect(await store.readStream(stream)).to.have.length(2);
      const elsewhere = await store.appendToStream(`test-${randomUUID()}`, events, 'any').catch((e: unknown) => e);
      expect(elsewhere).to.include({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    });
  });

  describe('when another process appends to the same database', () => {
    it('wakes the listeners by NOTIFY, well before the poll would', async () => {
      const writer = open({ listen: false, pollIntervalMs: 0 });
      const watcher = open({ pollIntervalMs: 60_000 });
      await watcher.ready();
      const seen: number[] = [];
      watcher.onAppended((position) => seen.push(position));
      await sleep(200); // the LISTEN connection is up
      const { position } = await writer.appendToStream(`test-${randomUUID()}`, [newEvent()], 'no_stream');
      for (let i = 0; i < 100 && !seen.includes(position); i++) await sleep(10);
      expect(seen).to.include(position);
    });

    it('wakes them by polling when NOTIFY is off', async () => {
      const writer = open({ listen: false, pollIntervalMs: 0 });
      const watcher = open({ listen: false, pollIntervalMs: 50 });
      await watcher.ready();
      const seen: number[] = [];
      watcher.onAppended((position) => seen.push(position));
      const { position } = await writer.appendToStream(`test-${randomUUID()}`, [newEvent()], 'no_stream');
      for (let i = 0; i < 100 && !seen.includes(position); i++) await sleep(20);
      expect(seen).to.include(position);
    });
  });

  describe('when the LISTEN connection drops and the server is back', () => {
    it('LISTENs again, so other processes wake it without waiting for the poll', async () => {
      const { hostname, port } = new URL(url);
      const proxy = await startProxy({ host: hostname, port: Number(port || 5432) });
      try {
        const writer = open({ listen: false, pollIntervalMs: 0 });
        const watcher = open({ url: proxy.urlFor(url), pollIntervalMs: 60_000, connectTimeoutMs: 1000 });
        await watcher.ready();
        const seen: number[] = [];
        watcher.onAppended((position) => seen.push(position));
        await sleep(200);
        proxy.cut();
        await sleep(300);
        proxy.restore();
        await sleep(2500); // it retries a second after the drop
        const { position } = await writer.appendToStream(`test-${randomUUID()}`, [newEvent()], 'no_stream');
        for (let i = 0; i < 100 && !seen.includes(position); i++) await sleep(10);
        expect(seen).to.include(position);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('when PostgreSQL does not answer at start', () => {
    it('fails with EVENT_STORE_UNAVAILABLE naming the URL without its password', async () => {
      const proxy = await startProxy({ host: '127.0.0.1', port: 5432 });
      proxy.cut();
      const target = new URL(proxy.urlFor(url));
      target.password = 's3cret-pw';
      const store = open({ url: target.toString(), connectTimeoutMs: 1000 });
      const error = (await store.headPosition().catch((e: unknown) => e)) as Error & { code: string; status: number };
      await proxy.close();
      expect(error).to.include({ code: 'EVENT_STORE_UNAVAILABLE', status: 503 });
      expect(error.message).to.include(`127.0.0.1:${proxy.port}`);
      expect(error.message).not.to.include('s3cret-pw');
    });
  });

  describe('when PostgreSQL goes away mid-run and comes back', () => {
    it('fails appends with EVENT_STORE_UNAVAILABLE, writes nothing of them, and appends again once it is back', async () => {
      const { hostname, port } = new URL(url);
      const proxy = await startProxy({ host: hostname, port: Number(port || 5432) });
      try {
        const store = open({ url: proxy.urlFor(url), connectTimeoutMs: 1000 });
        const stream = `test-${randomUUID()}`;
        await store.appendToStream(stream, [newEvent()], 'no_stream');

        proxy.cut();
        const failed = await Promise.allSettled(
          Array.from({ length: 5 }, () => store.appendToStream(`test-${randomUUID()}`, [newEvent(), newEvent()], 'no_stream')),
        );
        for (const outcome of failed) {
          expect(outcome.status).to.equal('rejected');
          expect((outcome as PromiseRejectedResult).reason).to.include({ code: 'EVENT_STORE_UNAVAILABLE', status: 503 });
        }
        const direct = new pg.Client({ connectionString: url });
        await direct.connect();
        const { rows } = await direct.query<{ n: string }>('SELECT COUNT(*) AS n FROM events');
        await direct.end();
        expect(Number(rows[0]!.n), 'nothing of the failed appends was written').to.equal(1);

        proxy.restore();
        let resumed: number | undefined;
        for (let i = 0; i < 50 && resumed === undefined; i++) {
          resumed = await store.appendToStream(stream, [newEvent()], 0).then(
            (r) => r.nextRevision,
            () => undefined,
          );
          if (resumed === undefined) await sleep(100);
        }
        expect(resumed).to.equal(1);
        expect(await store.headPosition()).to.equal(2);
      } finally {
        await proxy.close();
      }
    });

    it('leaves every append whole or absent when the cut comes while transactions are in flight', async () => {
      const { hostname, port } = new URL(url);
      const proxy = await startProxy({ host: hostname, port: Number(port || 5432) });
      try {
        const store = open({ url: proxy.urlFor(url), connectTimeoutMs: 1000 });
        await store.ready();
        const streams = Array.from({ length: 300 }, () => `test-${randomUUID()}`);
        let acknowledged = 0;
        // Ten appends every 2 ms, so transactions are under way when the cut comes after the first thirty commits.
        const appends = streams.map(async (s, i) => {
          await sleep(Math.floor(i / 10) * 2);
          const result = await store.appendToStream(s, [newEvent(), newEvent(), newEvent()], 'no_stream');
          acknowledged += 1;
          return result;
        });
        for (let i = 0; i < 2000 && acknowledged < 30; i++) await sleep(1);
        proxy.cut();
        const outcomes = await Promise.allSettled(appends);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).to.have.property('code', 'EVENT_STORE_UNAVAILABLE');
        expect(
          outcomes.some((o) => o.status === 'rejected'),
          'the cut hit appends in flight',
        ).to.equal(true);
        console.error(`      (${outcomes.filter((o) => o.status === 'fulfilled').length} of ${outcomes.length} acknowledged before the cut)`);
        proxy.restore();

        const direct = new PostgresEventStore({ url, pollIntervalMs: 0 });
        try {
          const counts = await Promise.all(streams.map(async (s) => (await direct.readStream(s)).length));
          expect(
            counts.filter((n) => n !== 0 && n !== 3),
            'no append is half written',
          ).to.deep.equal([]);
          outcomes.forEach((o, i) => {
            if (o.status === 'fulfilled') expect(counts[i], 'an acknowledged append is stored').to.equal(3);
          });
          const head = await direct.headPosition();
          const counted = new pg.Client({ connectionString: url });
          await counted.connect();
          const { rows } = await counted.query<{ n: string; top: string | null }>('SELECT COUNT(*) AS n, MAX(position) AS top FROM events');
          await counted.end();
          expect([Number(rows[0]!.n), Number(rows[0]!.top ?? 0)], 'the head is the last of exactly that many events').to.deep.equal([head, head]);
        } finally {
          await direct.close();
        }
      } finally {
        await proxy.close();
      }
    });
  });
});
