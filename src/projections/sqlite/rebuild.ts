import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { StoredEvent } from '../../events/types.js';
import type { EventStore } from '../../eventstore/eventStore.js';
import type { EventStoreSpec } from '../../eventstore/spec.js';
import { spawnModuleWorker } from '../../util/worker.js';
import { SqliteProjection } from './projection.js';

export type RebuildProgress = Readonly<{ position: number; head: number; events: number }>;
export type RebuildResult = Readonly<{ events: number; seconds: number; eventsPerSecond: number; position: number }>;

const removeDb = (file: string) => {
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(`${file}${suffix}`, { force: true });
};

/**
 * The whole log in batches from `readAll`, the next batch asked for before the caller works on this one (a network
 * store answers meanwhile; SQLite's synchronous read gains nothing from it, see readAheadSqlite).
 */
export async function* logBatches(store: EventStore, batchSize: number): AsyncGenerator<StoredEvent[]> {
  // A read still out when the caller stops early must not surface as an unhandled rejection.
  const ask = (fromPosition: number) => {
    const read = store.readAll({ fromPosition, maxCount: batchSize });
    read.catch(() => undefined);
    return read;
  };
  let next = ask(0);
  for (;;) {
    const batch = await next;
    if (batch.length === 0) return;
    next = ask(batch.at(-1)!.position);
    yield batch;
  }
}

/**
 * Builds a fresh read model at `file` (replaced if present) from the whole log, in bulk: no journal and no sync on
 * this throwaway file (a crash leaves a file that is rebuilt again), big transactions, full-text rows and query
 * indexes once at the end. `onProgress` may throw to abandon the build. `batches` is where the events come from, in
 * position order from the first (by default `logBatches` of `store`).
 */
export const buildReadModelAt = async (
  store: EventStore,
  file: string,
  onProgress: (progress: RebuildProgress) => void = () => {},
  batchSize = 10_000,
  batches: AsyncIterable<readonly StoredEvent[]> = logBatches(store, batchSize),
): Promise<RebuildResult> => {
  const started = process.hrtime.bigint();
  removeDb(file);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -131072');
    db.pragma('temp_store = MEMORY');
    // The sorts of the final copy and the index builds may use a second thread.
    db.pragma('threads = 2');
    const projection = new SqliteProjection(db, true);
    const head = await store.headPosition();
    let position = 0;
    let events = 0;
    for await (const batch of batches) {
      projection.applyBatch(batch);
      position = batch.at(-1)!.position;
      events += batch.length;
      onProgress({ position, head: Math.max(head, position), events });
    }
    projection.finishBulk();
    db.pragma('journal_mode = WAL');
    db.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { events, seconds, eventsPerSecond: Math.round(events / Math.max(seconds, 1e-9)), position };
  } catch (error) {
    if (db.open) db.close();
    removeDb(file);
    throw error;
  }
};

/**
 * Offline rebuild (no server holds `file`): builds beside it, then renames it in (rename is atomic). A running
 * server swaps blue-green instead (blueGreen.ts).
 */
export const rebuildReadModel = async (
  store: EventStore,
  file: string,
  onProgress: (progress: RebuildProgress) => void = () => {},
  batchSize = 10_000,
): Promise<RebuildResult> => {
  const result = await buildReadModelAt(store, `${file}.rebuild`, onProgress, batchSize);
  for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
  fs.renameSync(`${file}.rebuild`, file);
  return result;
};

/**
 * A bulk rebuild allocates an event object and a few strings per event and drops them at once: a young generation of
 * 192 MB (64 MB semi-spaces, against 16 by default) spends measured ~10% less of a 1,000,000-event rebuild in the
 * garbage collector.
 */
const BULK_HEAP = { maxYoungGenerationSizeMb: 192 };

/**
 * Offline rebuild through a worker thread (what `vespera rebuild` and `vespera restore` run): the bulk build with the
 * young generation it needs (BULK_HEAP), beside `file`, then renamed in.
 */
export const rebuildReadModelFile = async (
  spec: EventStoreSpec,
  file: string,
  onProgress: (progress: RebuildProgress) => void = () => {},
): Promise<RebuildResult> => {
  const result = await buildReadModelInWorker(spec, `${file}.rebuild`, { onProgress });
  for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
  fs.renameSync(`${file}.rebuild`, file);
  return result;
};

export type WorkerMessage =
  { type: 'progress'; progress: RebuildProgress } | { type: 'done'; result: RebuildResult } | { type: 'error'; message: string };

/**
 * `buildReadModelAt` in a worker thread with its own connection to the log, so the API's event loop stays free
 * while it runs. Aborting terminates the worker and removes the half-built file.
 */
export const buildReadModelInWorker = (
  spec: EventStoreSpec,
  file: string,
  {
    onProgress = () => {},
    signal,
    batchSize,
    readAheadFrom,
  }: { onProgress?: (p: RebuildProgress) => void; signal?: AbortSignal; batchSize?: number; readAheadFrom?: number } = {},
): Promise<RebuildResult> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('the rebuild was cancelled'));
    const worker = spawnModuleWorker(import.meta.url, 'rebuildWorker', { spec, file, batchSize, readAheadFrom }, { resourceLimits: BULK_HEAP });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abort);
      fn();
    };
    const abort = () => {
      void worker.terminate().then(() => removeDb(file));
      settle(() => reject(new Error('the rebuild was cancelled')));
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress(message.progress);
      else if (message.type === 'done') settle(() => resolve(message.result));
      else settle(() => reject(new Error(message.message)));
    });
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the rebuild worker exited (${code}) before it finished`))));
  });
