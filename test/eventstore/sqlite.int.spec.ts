import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { eventStoreContract, newEvent } from './contract.js';

const tempDatabase = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vespera-es-'));
  return { path: join(dir, 'events.db'), remove: () => rm(dir, { recursive: true, force: true }) };
};

eventStoreContract('sqlite', async () => {
  const { path, remove } = await tempDatabase();
  const store = new SqliteEventStore({ path, pollIntervalMs: 50 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
});

// The server's writer: a thread owns the write connection (the same contract, every append through it).
eventStoreContract('sqlite, writer thread', async () => {
  const { path, remove } = await tempDatabase();
  const store = new SqliteEventStore({ path, pollIntervalMs: 50, writer: 'thread' });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
});

describe('SqliteEventStore', () => {
  let path: string;
  let remove: () => Promise<void>;
  const opened: SqliteEventStore[] = [];
  const open = () => {
    const store = new SqliteEventStore({ path, pollIntervalMs: 50 });
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    ({ path, remove } = await tempDatabase());
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await remove();
  });

  describe('when another instance appends to the same file', () => {
    it('wakes its listeners by polling', async () => {
      const [writer, watcher] = [open(), open()];
      const seen: number[] = [];
      watcher.onAppended((position) => seen.push(position));
      const { position } = await writer.appendToStream(`test-${randomUUID()}`, [newEvent()], 'no_stream');
      for (let i = 0; i < 100 && !seen.includes(position); i++) await sleep(20);
      expect(seen).to.include(position);
    });
  });

  describe('when a query page holds the rest of the matches', () => {
    it('says there is no next page (it reads one row past the page to know)', async () => {
      const store = open();
      const stream = `test-${randomUUID()}`;
      const { events } = await store.appendToStream(stream, [newEvent(), newEvent(), newEvent()], 'no_stream');
      expect(await store.queryPage({ streamId: stream }, { limit: 3 })).to.deep.include({ nextAfter: null });
      const short = await store.queryPage({ streamId: stream }, { limit: 2 });
      expect(short.nextAfter).to.equal(events[1]!.position);
      expect(await store.queryPage({ streamId: stream }, { afterPosition: short.nextAfter!, limit: 2 })).to.deep.include({ nextAfter: null });
    });
  });

  describe('when many appends arrive in the same tick', () => {
    it('commits them together and fails only the stale one', async () => {
      const store = open();
      const taken = `test-${randomUUID()}`;
      await store.appendToStream(taken, [newEvent()], 'no_stream');
      const streams = Array.from({ length: 200 }, (_, i) => (i === 100 ? taken : `test-${randomUUID()}`));
      const outcomes = await Promise.allSettled(streams.map((s) => store.appendToStream(s, [newEvent()], 'no_stream')));

      const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ i, reason: o.reason as unknown }] : []));
      expect(failed.map((f) => f.i)).to.deep.equal([100]);
      expect(failed[0]!.reason).to.have.property('code', 'CONCURRENCY_CONFLICT');
      expect(await store.readStream(taken)).to.have.length(1);
      expect((await store.stats()).events).to.equal(200);
    });
  });

  describe('when the writing process is killed mid-stream', function () {
    this.timeout(60_000);

    it('keeps every append it acknowledged', async () => {
      const fixture = fileURLToPath(new URL('./fixtures/appendUntilKilled.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, path], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acknowledged: number[] = [];
      let partial = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        acknowledged.push(...lines.map(Number));
        if (acknowledged.length >= 500 && child.exitCode === null) child.kill('SIGKILL');
      });
      const [, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once('exit', (code, sig) => resolve([code, sig])),
      );
      expect(signal, 'the child must die by SIGKILL, not exit on its own').to.equal('SIGKILL');

      const store = open();
      const stored = new Set<number>();
      for (let batch = await store.readAll(); batch.length > 0; batch = await store.readAll({ fromPosition: batch.at(-1)!.position })) {
        for (const event of batch) stored.add(event.position);
      }
      expect(acknowledged.length).to.be.at.least(500);
      expect(acknowledged.filter((p) => !stored.has(p))).to.deep.equal([]);
    });
  });
});
