import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { loadUseLite } from './useLite.js';

/**
 * Worker-thread entry: loads its own copy of the model and answers `{ id, texts }` with `{ id, vectors }`. `nice`
 * (workerData) lowers this thread's scheduling priority: on Linux a thread has its own nice value, so bulk
 * embedding gives way to the API thread and the query worker when they want a core, and takes every idle one.
 */
const { nice = 0 } = (workerData ?? {}) as { nice?: number };
if (nice !== 0) {
  try {
    os.setPriority(nice);
  } catch {
    // Not permitted here: the thread keeps the process's priority.
  }
}
const port = parentPort!;
const ready = loadUseLite();
let chain: Promise<void> = Promise.resolve();

port.on('message', (message: { id: number; texts: string[] }) => {
  chain = chain.then(async () => {
    try {
      const vectors = await (await ready).embed(message.texts);
      port.postMessage(
        { id: message.id, vectors },
        vectors.map((v) => v.buffer as ArrayBuffer),
      );
    } catch (error) {
      port.postMessage({ id: message.id, error: (error as Error).message });
    }
  });
});
