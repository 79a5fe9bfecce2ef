import type { Worker } from 'node:worker_threads';
import { DependencyHealth } from '../util/dependencyHealth.js';
import { TimeoutError } from '../util/timeout.js';
import { inSpan } from '../util/spans.js';
import { spawnModuleWorker } from '../util/worker.js';
import type { Embedder } from './embedder.js';
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL_ID } from './useLite.js';

type Pending = { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

const spawnWorker = () => spawnModuleWorker(import.meta.url, 'worker');

/** First wait before a worker that died is started again; it doubles up to `MAX_RESPAWN_MS` and resets once one answers. */
const FIRST_RESPAWN_MS = 200;
const MAX_RESPAWN_MS = 10_000;

/**
 * USE-lite in a worker thread, so bulk embedding never blocks the API's event loop. Requests are
 * answered in order; the worker inherits the process's loader flags (tsx in development). A batch not
 * answered within `timeoutMs` is refused (its late answer dropped), and `health` says the worker stalled.
 * A worker that dies (an error while it loads, a crash) fails what it held and is started again after a
 * backoff; meanwhile calls are refused with the reason, so the projector's retries find it back.
 */
export const startWorkerEmbedder = ({
  timeoutMs = 30_000,
  spawn = spawnWorker,
}: {
  timeoutMs?: number;
  /** Starts one worker (the model's, unless a spec starts one that dies). */
  spawn?: () => Worker;
} = {}): Embedder & { health: DependencyHealth } => {
  const health = new DependencyHealth('embedding-worker', { timeoutMs });
  const pending = new Map<number, Pending>();
  let next = 0;
  let failure: Error | undefined;
  let closing = false;
  let respawnMs = FIRST_RESPAWN_MS;
  let respawn: NodeJS.Timeout | undefined;
  let worker: Worker;
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
  const start = () => {
    const current = spawn();
    worker = current;
    current.unref();
    /** The error a worker died of, kept for the message its exit gives. */
    let cause: Error | undefined;
    current.on('message', (message: { id: number; vectors?: Float32Array[]; error?: string }) => {
      const p = settle(message.id);
      if (!p) return;
      health.succeeded();
      respawnMs = FIRST_RESPAWN_MS;
      if (message.error !== undefined) p.reject(new Error(message.error));
      else p.resolve(message.vectors!);
    });
    current.on('error', (error) => {
      cause = error;
    });
    current.on('exit', (code) => {
      if (closing || worker !== current) return;
      failAll(new Error(`embedding worker exited (${code})${cause ? `: ${cause.message}` : ''}`));
      respawn = setTimeout(() => {
        respawn = undefined;
        if (closing) return;
        failure = undefined;
        start();
      }, respawnMs);
      respawn.unref();
      respawnMs = Math.min(MAX_RESPAWN_MS, respawnMs * 2);
    });
  };
  start();
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
      closing = true;
      clearTimeout(respawn);
      await worker.terminate();
    },
  };
};
