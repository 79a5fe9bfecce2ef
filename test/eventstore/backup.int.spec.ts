import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { StoredEvent } from '../../src/events/types.js';
import { readBackup } from '../../src/eventstore/backup.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { backupSqliteLog, restoreSqliteLog } from '../../src/eventstore/sqliteBackup.js';
import { newEvent } from './contract.js';

const readWholeLog = async (store: SqliteEventStore): Promise<StoredEvent[]> => {
  const all: StoredEvent[] = [];
  for (let batch = await store.readAll(); batch.length > 0; batch = await store.readAll({ fromPosition: batch.at(-1)!.position })) all.push(...batch);
  return all;
};

/** Backup and restore of the SQLite event log (`vespera backup` / `vespera restore` below the CLI). */
describe('Backup and restore of the SQLite event log', function () {
  this.timeout(30_000);
  let dir: string;
  let source: SqliteEventStore;
  let original: StoredEvent[];
  let file: string;
  const stores: SqliteEventStore[] = [];
  const openStore = (file: string) => {
    const store = new SqliteEventStore({ path: file, pollIntervalMs: 0 });
    stores.push(store);
    return store;
  };
  const freshLog = () => path.join(dir, `restored-${randomUUID()}.db`);
  /** Events in a log file, or 0 when the restore left no file at all. */
  const eventsAt = async (file: string) => (fs.existsSync(file) ? (await openStore(file).stats()).events : 0);
  /** The backup with one change made to its text. */
  const variant = (name: string, change: (lines: string[]) => string[]) => {
    const target = path.join(dir, name);
    const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
    fs.writeFileSync(
      target,
      change(lines)
        .map((l) => `${l}\n`)
        .join(''),
    );
    return target;
  };
  const refusal = async (attempt: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> => {
    try {
      await attempt;
    } catch (error) {
      return error as { code: string; message: string; details: Record<string, unknown> };
    }
    return expect.fail('the restore should have been refused');
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-backup-'));
    source = new SqliteEventStore({ path: path.join(dir, 'events.db'), pollIntervalMs: 0 });
    const streams = Array.from({ length: 5 }, () => `project-${randomUUID()}`);
    for (let i = 0; i < 300; i++) {
      const stream = streams[i % streams.length]!;
      await source.appendToStream(
        stream,
        [newEvent('TaskCreated', { taskId: `t${i}`, title: `Zürich → 東京 "${i}"\n` }, { actor: `a${i % 3}` })],
        'any',
      );
    }
    original = await readWholeLog(source);
    file = path.join(dir, 'log.ndjson');
  });

  after(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await source.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('when the whole log is backed up and restored into an empty store', () => {
    it('writes one checksummed line per event and a trailer, and the restored log is the same, position for position', async () => {
      const summary = await backupSqliteLog(path.join(dir, 'events.db'), file);
      expect(summary).to.include({ count: 300, lastPosition: original.at(-1)!.position });
      expect(fs.existsSync(`${file}.tmp`), 'the temporary file is renamed away').to.equal(false);
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      expect(lines).to.have.length(302);
      expect(JSON.parse(lines[300]!).trailer).to.include({ format: 'vespera-backup/1', count: 300, lastPosition: summary.lastPosition });

      const target = freshLog();
      const result = await restoreSqliteLog(target, file);
      expect(result).to.include({ count: 300, lastPosition: summary.lastPosition });
      expect(fs.existsSync(`${target}.restore`), 'the file built aside is renamed away').to.equal(false);
      const restored = openStore(target);
      expect(await readWholeLog(restored)).to.deep.equal(original);
      const stream = original[0]!.streamId;
      expect(await restored.streamRevision(stream)).to.equal(await source.streamRevision(stream));
      expect(await restored.queryEvents({ actor: 'a1' }, { limit: 1000 })).to.deep.equal(await source.queryEvents({ actor: 'a1' }, { limit: 1000 }));
    });

    it('lets the restored store go on appending after the last position', async () => {
      const target = freshLog();
      await restoreSqliteLog(target, file);
      const restored = openStore(target);
      const stream = original[0]!.streamId;
      const { events } = await restored.appendToStream(stream, [newEvent()], await source.streamRevision(stream));
      expect(events[0]!.position).to.equal(original.at(-1)!.position + 1);
    });
  });

  describe('when the backup is damaged', () => {
    it('refuses a bit flipped in an event, naming its line, and writes nothing', async () => {
      const flipped = path.join(dir, 'flipped.ndjson');
      const bytes = fs.readFileSync(file);
      let at = 0;
      for (let line = 1; line < 42; line++) at = bytes.indexOf(0x0a, at) + 1;
      bytes[at + 150]! ^= 0x02;
      fs.writeFileSync(flipped, bytes);
      const target = freshLog();
      const error = await refusal(restoreSqliteLog(target, flipped));
      expect(error.code).to.equal('BACKUP_INVALID');
      expect(error.details.line).to.equal(42);
      expect(error.message).to.match(/line 42: its checksum does not match/);
      expect(
        fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(target))),
        'nothing written, nothing left aside',
      ).to.deep.equal([]);
    });

    it('refuses a file cut before its trailer, and one that lost lines before it, writing nothing', async () => {
      for (const [name, change] of [
        ['no-trailer.ndjson', (lines: string[]) => lines.slice(0, -1)],
        ['short.ndjson', (lines: string[]) => [...lines.slice(0, 250), lines.at(-1)!]],
        ['half-line.ndjson', (lines: string[]) => [...lines.slice(0, 120), lines[120]!.slice(0, 60)]],
      ] as const) {
        const target = freshLog();
        const error = await refusal(restoreSqliteLog(target, variant(name, change)));
        expect(error.code, name).to.equal('BACKUP_INVALID');
        expect(await eventsAt(target), name).to.equal(0);
      }
    });

    it('refuses lines swapped in order (the positions no longer follow)', async () => {
      const swapped = variant('swapped.ndjson', (lines) => [lines[1]!, lines[0]!, ...lines.slice(2)]);
      const error = await refusal(restoreSqliteLog(freshLog(), swapped));
      expect(error.message).to.match(/line 2: position \d+ does not follow/);
    });

    it('verifies without writing: readBackup alone answers the trailer of a sound file', async () => {
      expect(await readBackup(file)).to.include({ count: 300 });
    });
  });

  describe('when the store already holds events', () => {
    it('refuses with STORE_NOT_EMPTY and leaves it as it was', async () => {
      const target = freshLog();
      const store = openStore(target);
      await store.appendToStream('test-x', [newEvent()], 'no_stream');
      const error = await refusal(restoreSqliteLog(target, file));
      expect(error.code).to.equal('STORE_NOT_EMPTY');
      expect((await store.stats()).events).to.equal(1);
    });
  });

  describe('when appends go on during the backup', () => {
    it('backs up a consistent prefix of the log: every event up to one position, nothing after it', async () => {
      const live = new SqliteEventStore({ path: path.join(dir, 'live.db'), pollIntervalMs: 0 });
      stores.push(live);
      for (let i = 0; i < 40; i++)
        await live.appendToStream(
          `s-${i % 4}`,
          Array.from({ length: 250 }, () => newEvent()),
          'any',
        );
      let appending = true;
      const appender = (async () => {
        for (let i = 0; appending; i++) await live.appendToStream(`s-${i % 4}`, [newEvent(), newEvent()], 'any');
      })();
      const target = path.join(dir, 'live.ndjson');
      const summary = await backupSqliteLog(path.join(dir, 'live.db'), target);
      appending = false;
      await appender;
      const head = await live.headPosition();
      expect(head, 'appends went on while the backup ran').to.be.greaterThan(summary.lastPosition);
      const restoredFile = freshLog();
      await restoreSqliteLog(restoredFile, target);
      const restored = openStore(restoredFile);
      const all = await readWholeLog(live);
      expect(await readWholeLog(restored)).to.deep.equal(all.filter((e) => e.position <= summary.lastPosition));
      expect(summary.count).to.equal(summary.lastPosition);
    });
  });
});
