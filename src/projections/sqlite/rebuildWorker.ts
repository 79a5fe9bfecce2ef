import { parentPort, workerData } from 'node:worker_threads';
import { openStoreFromSpec, type EventStoreSpec } from '../../eventstore/spec.js';
import { readAheadSqlite } from '../../eventstore/sqliteReadAhead.js';
import { buildReadModelAt, logBatches, type WorkerMessage } from './rebuild.js';

/**
 * Below this many events a SQLite log is read on the rebuilding thread: starting the read-ahead thread costs more
 * than it saves (about 2.8 µs an event of SQLite stepping moves to the second core).
 */
const READ_AHEAD_FROM_EVENTS = 50_000;

/** The bulk of a SQLite read-model rebuild, off the API's thread: reads the log and writes the file aside. */
const main = async () => {
  const {
    spec,
    file,
    batchSize = 10_000,
    readAheadFrom = READ_AHEAD_FROM_EVENTS,
  } = workerData as {
    spec: EventStoreSpec;
    file: string;
    batchSize?: number;
    readAheadFrom?: number;
  };
  const post = (message: WorkerMessage) => parentPort!.postMessage(message);
  const store = openStoreFromSpec(spec);
  try {
    const batches =
      spec.kind === 'sqlite' && (await store.headPosition()) >= readAheadFrom
        ? readAheadSqlite(spec.path, { batchSize })
        : logBatches(store, batchSize);
    let last = 0;
    const result = await buildReadModelAt(
      store,
      file,
      (progress) => {
        const now = Date.now();
        if (now - last < 100) return;
        last = now;
        post({ type: 'progress', progress });
      },
      batchSize,
      batches,
    );
    post({ type: 'progress', progress: { position: result.position, head: result.position, events: result.events } });
    post({ type: 'done', result });
  } finally {
    await store.close();
  }
};

main().catch((error: unknown) => parentPort?.postMessage({ type: 'error', message: (error as Error).message } satisfies WorkerMessage));
