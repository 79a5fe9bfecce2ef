import { parentPort } from 'node:worker_threads';
import { loadUseLite } from './useLite.js';

/** Worker-thread entry: loads its own copy of the model and answers `{ id, texts }` with `{ id, vectors }`. */
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
