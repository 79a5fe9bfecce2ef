import { spawnModuleWorker } from '../util/worker.js';
import type { Embedder } from './embedder.js';
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL_ID } from './useLite.js';

type Pending = { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void };

const spawnWorker = () => spawnModuleWorker(import.meta.url, 'worker');

/**
 * USE-lite in a worker thread, so bulk embedding never blocks the API's event loop. Requests are
 * answered in order; the worker inherits the process's loader flags (tsx in development).
 */
export const startWorkerEmbedder = (): Embedder => {
  const worker = spawnWorker();
  worker.unref();
  const pending = new Map<number, Pending>();
  let next = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('message', (message: { id: number; vectors?: Float32Array[]; error?: string }) => {
    const p = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) p?.reject(new Error(message.error));
    else p?.resolve(message.vectors!);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`embedding worker exited (${code})`)));
  return {
    modelId: USE_LITE_MODEL_ID,
    dimensions: USE_LITE_DIMENSIONS,
    embed: (texts) => {
      if (texts.length === 0) return Promise.resolve([]);
      if (failure) return Promise.reject(failure);
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, texts });
      }).finally(() => {
        if (pending.size === 0) worker.unref();
      }) as Promise<Float32Array[]>;
    },
    close: async () => {
      await worker.terminate();
    },
  };
};
