import type { Worker } from 'node:worker_threads';
import { DomainError } from '../../errors.js';
import { DependencyHealth, type DependencyStatus } from '../../util/dependencyHealth.js';
import { TimeoutError } from '../../util/timeout.js';
import { inSpan } from '../../util/spans.js';
import { spawnModuleWorker } from '../../util/worker.js';
import type { ProjectorStatus } from '../projector.js';
import type { CycleReport } from './cycleDetection.js';
import type { GraphBlueGreenResult } from './index.js';
import { GraphQueryError } from './graphStore.js';
import type { GraphCheckpoint, GraphQueryParams, GraphQueryResult, GraphSnapshot } from './graphStore.js';
import type { GraphRequest, GraphWorkerData } from './worker.js';

type Reply = {
  id: number;
  error?: string;
  code?: string;
  ready?: boolean;
  status?: ProjectorStatus;
  cycles?: CycleReport | null;
  dump?: GraphSnapshot;
  checkpoint?: GraphCheckpoint | null;
  progress?: GraphRebuildProgress;
  rebuilt?: GraphBlueGreenResult;
  answer?: GraphQueryResult & { position: number };
};

export type GraphRebuildProgress = Readonly<{ phase: string; position: number; events: number }>;

/** Longest a rebuild request may run in the worker (the rebuild of a million-event log takes well under a minute). */
const REBUILD_WAIT_MS = 6 * 60 * 60_000;
type Ask = GraphRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The graph read model, running in its worker thread; status and cycle reports are mirrored here for /health. */
export type GraphModelHandle = Readonly<{
  projector: { status: () => ProjectorStatus; waitFor: (position: number, timeoutMs?: number) => Promise<void> };
  cycles: () => CycleReport | undefined;
  checkCycles: () => Promise<CycleReport>;
  dump: () => Promise<GraphSnapshot>;
  /** Everything the graph holds with the checkpoint it holds it at, taken in one step (for verify). */
  cut: () => Promise<{ checkpoint: GraphCheckpoint | null; graph: GraphSnapshot }>;
  /** A caller's read-only Cypher (see GraphStore.query); what Kuzu refuses comes back as a GraphQueryError. */
  query: (
    cypher: string,
    params: GraphQueryParams,
    limits: { maxRows: number; timeoutMs: number },
  ) => Promise<GraphQueryResult & { position: number }>;
  /** The worker thread as a dependency: `down` once a request to it went unanswered past its timeout. */
  health: () => DependencyStatus;
  /** Blue-green rebuild in the worker (see GraphModel.rebuild); the signal asks the worker to give it up. */
  rebuild: (onProgress?: (p: GraphRebuildProgress) => void, signal?: AbortSignal) => Promise<GraphBlueGreenResult>;
  stop: () => Promise<void>;
}>;

/** `timeoutMs`: longest one request may wait for the worker's answer, beyond any wait the request itself asks for. */
export const startGraphWorker = async (data: GraphWorkerData, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<GraphModelHandle> => {
  const worker: Worker = spawnModuleWorker(import.meta.url, 'worker', data);
  const health = new DependencyHealth('graph-worker', { timeoutMs });
  const pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; progress?: (p: GraphRebuildProgress) => void }
  >();
  let next = 0;
  let status: ProjectorStatus = { name: 'graph', version: 0, position: 0, lag: 0, running: false };
  let cycles: CycleReport | undefined;
  let failure: Error | undefined;

  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: Reply) => {
      if (reply.id === 0) {
        if (reply.error) reject(new Error(`the graph model could not start: ${reply.error}`));
        else {
          if (reply.status) status = reply.status;
          resolve();
        }
        return;
      }
      const waiting = pending.get(reply.id);
      if (reply.progress) {
        waiting?.progress?.(reply.progress);
        return;
      }
      pending.delete(reply.id);
      if (!waiting) return;
      clearTimeout(waiting.timer);
      health.succeeded();
      if (reply.error && (reply.code === 'GRAPH_QUERY_INVALID' || reply.code === 'GRAPH_QUERY_TIMEOUT'))
        waiting.reject(new GraphQueryError(reply.code, reply.error));
      else if (reply.error) waiting.reject(new DomainError(reply.code ?? 'GRAPH_MODEL_ERROR', 503, reply.error));
      else waiting.resolve(reply);
    });
    worker.once('error', (error) => {
      failure = error;
      health.failed(error);
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(error);
      }
      pending.clear();
      reject(error);
    });
  });
  await ready;

  // Every request but the 250 ms status poll gets a span (a no-op while tracing is off).
  const ask = (request: Ask, waitMs = 0, progress?: (p: GraphRebuildProgress) => void): Promise<Reply> =>
    request.type === 'status'
      ? askWorker(request, waitMs, progress)
      : inSpan(`kuzu ${request.type}`, { 'db.system.name': 'kuzu' }, () => askWorker(request, waitMs, progress));
  const askWorker = (request: Ask, waitMs = 0, progress?: (p: GraphRebuildProgress) => void): Promise<Reply> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        pending.delete(id);
        const error = new TimeoutError(`the graph worker (${request.type})`, waitMs + timeoutMs);
        health.failed(error);
        reject(error);
      }, waitMs + timeoutMs);
      pending.set(id, { resolve, reject, timer, ...(progress ? { progress } : {}) });
      worker.postMessage({ ...request, id });
    });
  };
  // One status request at a time: a stalled worker is reported once its request times out, not buried under more.
  let refreshing = false;
  const refresh = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      const reply = await ask({ type: 'status' });
      if (reply.status) status = reply.status;
      cycles = reply.cycles ?? undefined;
    } finally {
      refreshing = false;
    }
  };
  const timer = setInterval(() => void refresh().catch(() => undefined), 250);
  timer.unref();

  return {
    projector: {
      status: () => (failure ? { ...status, running: false, lastError: failure.message } : status),
      waitFor: async (position, waitMs = 5000) => {
        await ask({ type: 'waitFor', position, timeoutMs: waitMs }, waitMs);
      },
    },
    cycles: () => cycles,
    checkCycles: async () => {
      const reply = await ask({ type: 'checkCycles' });
      cycles = reply.cycles ?? undefined;
      return cycles!;
    },
    dump: async () => (await ask({ type: 'dump' }, 60_000)).dump!,
    cut: async () => {
      const reply = await ask({ type: 'dump' }, 60_000);
      return { checkpoint: reply.checkpoint ?? null, graph: reply.dump! };
    },
    query: async (cypher, params, limits) => (await ask({ type: 'query', cypher, params, ...limits }, limits.timeoutMs)).answer!,
    health: () => health.status(),
    rebuild: async (onProgress, signal) => {
      signal?.throwIfAborted();
      const abort = () => void ask({ type: 'abortRebuild' }).catch(() => undefined);
      signal?.addEventListener('abort', abort, { once: true });
      try {
        return (await ask({ type: 'rebuild' }, REBUILD_WAIT_MS, onProgress)).rebuilt!;
      } finally {
        signal?.removeEventListener('abort', abort);
      }
    },
    stop: async () => {
      clearInterval(timer);
      if (!failure) await ask({ type: 'stop' }).catch(() => undefined);
      await worker.terminate();
    },
  };
};
