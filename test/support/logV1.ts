import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { StoredEvent } from '../../src/events/types.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** test/fixtures/log-v1.ndjson: every event type at schema version 1, as test/fixtures/makeLogV1.ts wrote it. */
export const LOG_V1: readonly StoredEvent[] = fs
  .readFileSync(path.join(fixtures, 'log-v1.ndjson'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as StoredEvent);

/** The read model version 1 projected from that log. */
export const LOG_V1_READ_MODEL = JSON.parse(fs.readFileSync(path.join(fixtures, 'log-v1.readmodel.json'), 'utf8')) as Record<string, unknown[]>;

/** Writes the fixture log into a new SQLite event store at `file`, byte for byte (positions, revisions, ids, times, metadata). */
export const writeLogV1 = (file: string): void => {
  new SqliteEventStore({ path: file, pollIntervalMs: 0 }).close();
  const raw = new Database(file);
  const insert = raw.prepare(
    'INSERT INTO events (position, id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const setRevision = raw.prepare(
    'INSERT INTO streams (stream_id, revision) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision',
  );
  raw.transaction(() => {
    for (const e of LOG_V1) {
      insert.run(e.position, e.id, e.streamId, e.revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), e.recordedAt);
      setRevision.run(e.streamId, e.revision);
    }
  })();
  raw.close();
};
