import fs from 'node:fs';
import type { EventStore } from '../../eventstore/eventStore.js';
import { SqliteProjection } from './projection.js';
import { openReadModel } from './readModel.js';
import { QUERY_INDEXES, READ_MODEL_DDL } from './schema.js';

export type RebuildProgress = Readonly<{ position: number; head: number; events: number }>;
export type RebuildResult = Readonly<{ events: number; seconds: number; eventsPerSecond: number; position: number }>;

/**
 * Builds a fresh read model from the whole log beside the live file, then swaps it in (rename is atomic).
 * A server still running keeps its open copy until it restarts.
 */
export const rebuildReadModel = async (
  store: EventStore,
  file: string,
  onProgress: (progress: RebuildProgress) => void = () => {},
  batchSize = 5000,
): Promise<RebuildResult> => {
  const started = process.hrtime.bigint();
  const aside = `${file}.rebuild`;
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${aside}${suffix}`, { force: true });
  const db = openReadModel(aside);
  db.pragma('synchronous = OFF');
  const projection = new SqliteProjection(db);
  for (const index of QUERY_INDEXES) db.exec(`DROP INDEX IF EXISTS ${index}`);
  const head = await store.headPosition();
  let position = 0;
  let events = 0;
  for (;;) {
    const batch = await store.readAll({ fromPosition: position, maxCount: batchSize });
    if (batch.length === 0) break;
    projection.applyBatch(batch);
    position = batch.at(-1)!.position;
    events += batch.length;
    onProgress({ position, head, events });
  }
  db.exec(READ_MODEL_DDL);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
  fs.renameSync(aside, file);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, seconds, eventsPerSecond: Math.round(events / Math.max(seconds, 1e-9)), position };
};
