import { parentPort, workerData } from 'node:worker_threads';
import { openStoreFromSpec, type EventStoreSpec } from '../../eventstore/spec.js';
import { buildReadModelAt, type WorkerMessage } from './rebuild.js';

/** The bulk of a SQLite read-model rebuild, off the API's thread: reads the log and writes the file aside. */
const main = async () => {
  const { spec, file, batchSize } = workerData as { spec: EventStoreSpec; file: string; batchSize?: number };
  const post = (message: WorkerMessage) => parentPort!.postMessage(message);
  const store = openStoreFromSpec(spec);
  try {
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
    );
    post({ type: 'progress', progress: { position: result.position, head: result.position, events: result.events } });
    post({ type: 'done', result });
  } finally {
    await store.close();
  }
};

main().catch((error: unknown) => parentPort?.postMessage({ type: 'error', message: (error as Error).message } satisfies WorkerMessage));
