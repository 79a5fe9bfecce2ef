import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { StoredEvent } from '../../src/events/types.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { createLogger } from '../../src/logger.js';
import { Projector, type Projection } from '../../src/projections/projector.js';
import { newEvent } from '../eventstore/contract.js';
import { eventually } from '../queries/search/support.js';

/** Remembers the positions it was given, batch by batch. */
class Recording implements Projection {
  readonly name = 'recording';
  readonly version = 1;
  readonly batches: number[][] = [];
  checkpoint(): number {
    return this.batches.at(-1)?.at(-1) ?? 0;
  }
  applyBatch(events: readonly StoredEvent[]): void {
    this.batches.push(events.map((e) => e.position));
  }
  reset(): void {
    this.batches.length = 0;
  }
}

describe('Projector', () => {
  let dir: string;
  let store: SqliteEventStore;
  let reads: number;
  const stores: SqliteEventStore[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vespera-projector-'));
    store = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 20 });
    stores.push(store);
    reads = 0;
    const readAll = store.readAll.bind(store);
    store.readAll = (options) => {
      reads += 1;
      return readAll(options);
    };
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  const follow = async () => {
    const projection = new Recording();
    const projector = new Projector(store, projection, createLogger('silent'));
    await projector.start();
    return { projection, projector };
  };

  describe("when this process's own appends follow on", () => {
    it('applies the events the store hands over without reading the log back', async () => {
      await store.appendToStream('s-1', [newEvent()], 'no_stream');
      const { projection, projector } = await follow();
      const readsAtStart = reads;
      for (let revision = 0; revision < 20; revision++) {
        const { position } = await store.appendToStream('s-1', [newEvent()], revision);
        await projector.waitFor(position, 5000);
      }

      expect(projection.batches.flat()).to.deep.equal(Array.from({ length: 21 }, (_, i) => i + 1));
      expect(reads - readsAtStart).to.equal(0);
      await projector.stop();
    });
  });

  describe('when another instance appends to the same log', () => {
    it('reads what polling announced', async () => {
      const { projection, projector } = await follow();
      const other = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 0 });
      stores.push(other);
      const { position } = await other.appendToStream('s-2', [newEvent(), newEvent()], 'no_stream');
      await eventually(() => projection.checkpoint() === position, 5000);

      expect(projection.batches.flat()).to.deep.equal([1, 2]);
      expect(reads).to.be.greaterThan(0);
      await projector.stop();
    });
  });
});
