import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { StoredEvent } from '../../src/events/types.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { readAheadSqlite } from '../../src/eventstore/sqliteReadAhead.js';
import { dumpReadModel, openReadModel } from '../../src/projections/sqlite/readModel.js';
import { buildReadModelAt, buildReadModelInWorker } from '../../src/projections/sqlite/rebuild.js';
import { LOG_V1, writeLogV1 } from '../support/logV1.js';

/**
 * readAheadSqlite: a bulk rebuild's reader on a thread of its own. It must hand over exactly what `readAll` gives
 * (same events, same order, upcast to today's versions), in bounded batches, stop its thread when the caller stops
 * early, and say so when the log cannot be read; a rebuild fed by it builds the same read model.
 */
describe('Reading a SQLite log ahead in a worker thread (bulk rebuilds)', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  let store: SqliteEventStore;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-read-ahead-'));
    file = path.join(dir, 'events.db');
    writeLogV1(file);
    store = new SqliteEventStore({ path: file, pollIntervalMs: 0 });
  });

  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const collect = async (batches: AsyncIterable<StoredEvent[]>) => {
    const sizes: number[] = [];
    const events: StoredEvent[] = [];
    for await (const batch of batches) {
      sizes.push(batch.length);
      events.push(...batch);
    }
    return { sizes, events };
  };

  it('given the version-1 fixture log, yields every event as readAll does, upcast, in batches of at most batchSize', async () => {
    const { sizes, events } = await collect(readAheadSqlite(file, { batchSize: 7 }));
    expect(events).to.deep.equal(await store.readAll({ fromPosition: 0, maxCount: 100_000 }));
    expect(events).to.have.length(LOG_V1.length);
    expect(sizes.slice(0, -1).every((n) => n === 7)).to.equal(true);
    expect(sizes.at(-1)).to.be.within(1, 7);
  });

  it('from a position, yields only the events after it', async () => {
    const from = LOG_V1[Math.floor(LOG_V1.length / 2)]!.position;
    const { events } = await collect(readAheadSqlite(file, { fromPosition: from, batchSize: 5, window: 1 }));
    expect(events).to.deep.equal(await store.readAll({ fromPosition: from, maxCount: 100_000 }));
    expect(events[0]!.position).to.equal(from + 1);
  });

  it('when the caller stops after the first batch, the reader stops too and a new read starts afresh', async () => {
    for await (const batch of readAheadSqlite(file, { batchSize: 3 })) {
      expect(batch.map((e) => e.position)).to.deep.equal([1, 2, 3]);
      break;
    }
    const { events } = await collect(readAheadSqlite(file, { batchSize: 50 }));
    expect(events).to.have.length(LOG_V1.length);
  });

  it('when the log is not there, fails saying the read-ahead could not read it', async () => {
    let failure: Error | undefined;
    try {
      await collect(readAheadSqlite(path.join(dir, 'missing.db')));
    } catch (error) {
      failure = error as Error;
    }
    expect(failure?.message).to.match(/^reading the log ahead failed: /);
    expect(fs.existsSync(path.join(dir, 'missing.db'))).to.equal(false);
  });

  it('a rebuild in the worker fed by the read-ahead builds the same read model as one reading inline', async () => {
    const inline = path.join(dir, 'inline.db');
    const ahead = path.join(dir, 'ahead.db');
    const a = await buildReadModelAt(store, inline, () => {}, 6);
    const b = await buildReadModelInWorker({ kind: 'sqlite', path: file }, ahead, { batchSize: 6, readAheadFrom: 0 });
    expect(b.events).to.equal(a.events).and.to.equal(LOG_V1.length);
    expect(b.position).to.equal(a.position);
    const [x, y] = [openReadModel(inline), openReadModel(ahead)];
    try {
      expect(dumpReadModel(y)).to.deep.equal(dumpReadModel(x));
    } finally {
      x.close();
      y.close();
    }
  });
});
