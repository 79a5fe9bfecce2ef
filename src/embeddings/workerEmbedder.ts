import { DependencyHealth } from '../util/dependencyHealth.js';
import { TimeoutError } from '../util/timeout.js';
import { inSpan } from '../util/spans.js';
import { spawnModuleWorker } from '../util/worker.js';
import type { Embedder } from './embedder.js';
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL_ID } from './useLite.js';

type Pending = { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

const spawnWorker = () => spawnModuleWorker(import.meta.url, 'worker');

/**
 * USE-lite in a worker thread, so bulk embedding never blocks the API's event loop. Requests are
 * answered in order; the worker inherits the process's loader flags (tsx in development). A batch not
 * answered within `timeoutMs` is refused (its late answer dropped), and `health` says the worker stalled.
 */
export const startWorkerEmbedder = ({ timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Embedder & { health: DependencyHealth } => {
  const worker = spawnWorker();
  worker.unref();
  const health = new DependencyHealth('embedding-worker', { timeoutMs });
  const pending = new Map<number, Pending>();
  let next = 0;
  let failure: Error | undefined;
  const settle = (id: number) => {
    const p = pending.get(id);
    pending.delete(id);
    if (p) clearTimeout(p.timer);
    if (pending.size === 0) worker.unref();
    return p;
  };
  const failAll = (error: Error) => {
    failure = error;
    health.failed(error);
    for (const id of [...pending.keys()]) settle(id)?.reject(error);
  };
  worker.on('message', (message: { id: number; vectors?: Float32Array[]; error?: string }) => {
    const p = settle(message.id);
    if (!p) return;
    health.succeeded();
    if (message.error !== undefined) p.reject(new Error(message.error));
    else p.resolve(message.vectors!);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`embedding worker exited (${code})`)));
  return {
    modelId: USE_LITE_MODEL_ID,
    dimensions: USE_LITE_DIMENSIONS,
    health,
    embed: (texts) => {
      if (texts.length === 0) return Promise.resolve([]);
      if (failure) return Promise.reject(failure);
      const id = ++next;
      return inSpan(
        'embed',
        { 'vespera.texts': texts.length, 'vespera.model': USE_LITE_MODEL_ID },
        () =>
          new Promise<Float32Array[]>((resolve, reject) => {
            const timer = setTimeout(() => {
              const error = new TimeoutError(`the embedding worker (${texts.length} texts)`, timeoutMs);
              health.failed(error);
              settle(id)?.reject(error);
            }, timeoutMs);
            pending.set(id, { resolve, reject, timer });
            worker.ref();
            worker.postMessage({ id, texts });
          }),
      );
    },
    close: async () => {
      await worker.terminate();
    },
  };
};
