import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Embedder } from './embedder.js';
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL_ID } from './useLite.js';

type Pending = { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void };

/**
 * Built code starts worker.js directly. From source (tsx), loader hooks do not reach worker threads on
 * Node 20, so a two-line bootstrap registers tsx inside the worker before importing worker.ts.
 */
const spawnWorker = (): Worker => {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { (api.register ?? api.default.register)(); return import(${JSON.stringify(entry)}); });`, { eval: true });
};

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
