import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Feed, type FeedSink } from '../../../src/api/feed/feed.js';
import type { NewEvent, StoredEvent } from '../../../src/events/types.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite.js';

/** The transport seam of the hub, kept in memory: what a socket would have been sent, in order. */
class RecordingSink implements FeedSink {
  readonly events: StoredEvent[] = [];
  readonly caughtUpAt: number[] = [];
  event(_sub: string, event: StoredEvent): void {
    this.events.push(event);
  }
  caughtUp(_sub: string, position: number): void {
    this.caughtUpAt.push(position);
  }
  buffered(): number {
    return 0;
  }
  async drained(): Promise<void> {}
  async end(): Promise<void> {}
}

const newEvent = (n: number, label: string): NewEvent => ({
  id: `${label}-${n}`,
  type: 'TaskNoted',
  data: { taskId: `t-${n}`, n },
  metadata: { actor: label, tool: 'spec', commandId: `${label}-${n}`, correlationId: label, schemaVersion: 1 },
});

describe('Live feed hub over the SQLite log', () => {
  let dir: string;
  let local: SqliteEventStore;
  let foreign: SqliteEventStore;
  let feed: Feed;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-feed-hub-'));
    const file = path.join(dir, 'events.sqlite');
    local = new SqliteEventStore({ path: file, synchronous: 'normal', pollIntervalMs: 20 });
    // Another process writing the same log (the CLI, a second node): its appends are announced by position only.
    foreign = new SqliteEventStore({ path: file, synchronous: 'normal', pollIntervalMs: 0 });
    feed = new Feed(local, { bufferBytes: 1 << 20, stallMs: 1000 });
    await feed.start();
  });
  afterEach(async () => {
    await feed.close();
    await foreign.close();
    await local.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const until = async (test: () => boolean) => {
    for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(test(), 'condition not reached in 2 s').to.equal(true);
  };

  describe('when another process appends', () => {
    it('reads what the announcement did not carry from the log, in order, interleaved with local appends', async () => {
      const sink = new RecordingSink();
      const connection = feed.connect({ actor: 'admin', capabilities: ['admin'] }, sink);
      await connection.subscribe('all', {});
      for (let round = 0; round < 5; round++) {
        await foreign.appendToStream('project-x', [newEvent(round * 2, 'foreign'), newEvent(round * 2 + 1, 'foreign')], 'any');
        await local.appendToStream('project-x', [newEvent(round, 'local')], 'any');
      }
      const head = await local.headPosition();
      await until(() => sink.events.length >= head);
      expect(sink.events.map((e) => e.position)).to.deep.equal(Array.from({ length: head }, (_, i) => i + 1));
      expect(sink.events.filter((e) => e.metadata.actor === 'foreign')).to.have.length(10);
    });
  });

  describe('when a subscription starts in the past while appends go on', () => {
    it('hands over from the log to live without a gap or a duplicate', async () => {
      for (let i = 0; i < 3000; i += 100) {
        await local.appendToStream(
          'project-y',
          Array.from({ length: 100 }, (_, j) => newEvent(i + j, 'before')),
          'any',
        );
      }
      const sink = new RecordingSink();
      const connection = feed.connect({ actor: 'reader', capabilities: ['task_reading'] }, sink);
      const subscribed = connection.subscribe('all', { projectId: 'y' }, 1);
      const writes = (async () => {
        for (let i = 0; i < 50; i++) await local.appendToStream('project-y', [newEvent(i, 'during')], 'any');
      })();
      await Promise.all([subscribed, writes]);
      const head = await local.headPosition();
      await until(() => sink.events.length >= head);
      expect(sink.events.map((e) => e.position)).to.deep.equal(Array.from({ length: head }, (_, i) => i + 1));
      expect(sink.caughtUpAt).to.have.length(1);
    });
  });
});
