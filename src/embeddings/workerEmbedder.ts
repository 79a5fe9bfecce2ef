import type { Worker } from 'node:worker_threads';
import { DependencyHealth } from '../util/dependencyHealth.js';
import { TimeoutError } from '../util/timeout.js';
import { inSpan } from '../util/spans.js';
import { spawnModuleWorker } from '../util/worker.js';
import type { Embedder } from './embedder.js';
import { USE_LITE_DIMENSIONS, USE_LITE_MODEL_ID } from './useLite.js';

export type WorkerEmbedder = Embedder & {
  health: DependencyHealth;
  /** The worker died and is not back yet: calls are refused meanwhile. */
  readonly down: boolean;
};

type Pending = { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

const spawnWorker = (nice = 0) => spawnModuleWorker(import.meta.url, 'worker', { nice });

/** First wait before a worker that died is started again; it doubles up to `MAX_RESPAWN_MS` and resets once one answers. */
const FIRST_RESPAWN_MS = 200;
const MAX_RESPAWN_MS = 10_000;

/**
 * USE-lite in a worker thread, so bulk embedding never blocks the API's event loop. Requests are
 * answered in order, one in the worker at a time (the others wait here), so `timeoutMs` bounds the work of
 * one call, not its wait behind others; the worker inherits the process's loader flags (tsx in development).
 * A batch not answered within `timeoutMs` is refused (its late answer dropped), and `health` says the worker stalled.
 * A worker that dies (an error while it loads, a crash) fails what it held and is started again after a
 * backoff; meanwhile calls are refused with the reason, so the projector's retries find it back.
 */
export const startWorkerEmbedder = ({
  timeoutMs = 30_000,
  spawn = () => spawnWorker(),
  health = new DependencyHealth('embedding-worker', { timeoutMs }),
}: {
  timeoutMs?: number;
  /** Starts one worker (the model's, unless a spec starts one that dies). */
  spawn?: () => Worker;
  /** Where calls are recorded (a pool's workers share one). */
  health?: DependencyHealth;
} = {}): WorkerEmbedder => {
  const pending = new Map<number, Pending>();
  /** Calls not sent yet: the worker holds one at a time. */
  const waiting: Array<{ texts: readonly string[]; resolve: Pending['resolve']; reject: Pending['reject'] }> = [];
  let next = 0;
  let failure: Error | undefined;
  let closing = false;
  let respawnMs = FIRST_RESPAWN_MS;
  let respawn: NodeJS.Timeout | undefined;
  let worker: Worker;
  const send = () => {
    if (pending.size > 0 || failure || waiting.length === 0) return;
    const { texts, resolve, reject } = waiting.shift()!;
    const id = ++next;
    const timer = setTimeout(() => {
      const error = new TimeoutError(`the embedding worker (${texts.length} texts)`, timeoutMs);
      health.failed(error);
      settle(id)?.reject(error);
    }, timeoutMs);
    pending.set(id, { resolve, reject, timer });
    worker.ref();
    worker.postMessage({ id, texts });
  };
  const settle = (id: number) => {
    const p = pending.get(id);
    pending.delete(id);
    if (p) clearTimeout(p.timer);
    send();
    if (pending.size === 0) worker.unref();
    return p;
  };
  const failAll = (error: Error) => {
    failure = error;
    health.failed(error);
    for (const id of [...pending.keys()]) settle(id)?.reject(error);
    for (const call of waiting.splice(0)) call.reject(error);
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
    get down() {
      return failure !== undefined;
    },
    embed: (texts) => {
      if (texts.length === 0) return Promise.resolve([]);
      if (failure) return Promise.reject(failure);
      return inSpan(
        'embed',
        { 'vespera.texts': texts.length, 'vespera.model': USE_LITE_MODEL_ID },
        () =>
          new Promise<Float32Array[]>((resolve, reject) => {
            waiting.push({ texts, resolve, reject });
            send();
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

/** A call shorter than this goes to one worker whole: splitting it would save less than a message costs. */
const SPLIT_MIN_TEXTS = 16;
/** Texts of like length travel together, so each worker's batches stay as little padded as one worker's would. */
const GROUP_TEXTS = 64;

/**
 * Several embedding workers behind one `Embedder`: each runs its own copy of the model on its own thread (the
 * wasm backend is single-threaded in Node), so on a machine with free cores bulk embedding scales with them. A
 * call is sorted by text length, cut into groups of 64 like-length texts, and each group goes to the worker
 * holding the fewest characters, so concurrent calls and one big call alike keep every worker busy. A worker
 * that died is left out until it is back; with none up, the call is refused with the reason.
 */
export const startWorkerPool = ({
  threads,
  timeoutMs = 30_000,
  nice = 0,
  spawn = () => spawnWorker(nice),
}: {
  threads: number;
  timeoutMs?: number;
  /** Scheduling priority of the workers' threads, 0 (as the process) to 19 (only idle time; Linux sets it per thread). */
  nice?: number;
  spawn?: () => Worker;
}): WorkerEmbedder => {
  const health = new DependencyHealth('embedding-worker', { timeoutMs });
  const workers = Array.from({ length: Math.max(1, threads) }, () => startWorkerEmbedder({ timeoutMs, health, spawn }));
  /** Characters given to each worker and not answered yet: the cost of what it holds. */
  const queued = workers.map(() => 0);
  const send = async (at: number, texts: readonly string[]): Promise<Float32Array[]> => {
    const cost = texts.reduce((n, t) => n + t.length, 0);
    queued[at]! += cost;
    try {
      return await workers[at]!.embed(texts);
    } finally {
      queued[at]! -= cost;
    }
  };
  return {
    modelId: USE_LITE_MODEL_ID,
    dimensions: USE_LITE_DIMENSIONS,
    health,
    get down() {
      return workers.every((w) => w.down);
    },
    embed: async (texts) => {
      const up = workers.map((_, at) => at).filter((at) => !workers[at]!.down);
      if (up.length === 0) return workers[0]!.embed(texts);
      const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
      const groups =
        texts.length < SPLIT_MIN_TEXTS
          ? [order]
          : Array.from({ length: Math.ceil(order.length / GROUP_TEXTS) }, (_, g) => order.slice(g * GROUP_TEXTS, (g + 1) * GROUP_TEXTS));
      const out = new Array<Float32Array>(texts.length);
      // Each group is a call of its own (a worker's timeout bounds one group's work), to the worker holding the least.
      await Promise.all(
        groups.map(async (group) => {
          const at = up.reduce((best, w) => (queued[w]! < queued[best]! ? w : best));
          const vectors = await send(
            at,
            group.map((i) => texts[i]!),
          );
          group.forEach((i, j) => (out[i] = vectors[j]!));
        }),
      );
      return out;
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
};
