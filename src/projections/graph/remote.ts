import type { Worker } from 'node:worker_threads';
import { DomainError } from '../../errors.js';
import { spawnModuleWorker } from '../../util/worker.js';
import type { ProjectorStatus } from '../projector.js';
import type { CycleReport } from './cycleDetection.js';
import type { GraphSnapshot } from './graphStore.js';
import type { GraphRequest, GraphWorkerData } from './worker.js';

type Reply = { id: number; error?: string; code?: string; ready?: boolean; status?: ProjectorStatus; cycles?: CycleReport | null; dump?: GraphSnapshot };
type Ask = GraphRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The graph read model, running in its worker thread; status and cycle reports are mirrored here for /health. */
export type GraphModelHandle = Readonly<{
  projector: { status: () => ProjectorStatus; waitFor: (position: number, timeoutMs?: number) => Promise<void> };
  cycles: () => CycleReport | undefined;
  checkCycles: () => Promise<CycleReport>;
  dump: () => Promise<GraphSnapshot>;
  stop: () => Promise<void>;
}>;

export const startGraphWorker = async (data: GraphWorkerData): Promise<GraphModelHandle> => {
  const worker: Worker = spawnModuleWorker(import.meta.url, 'worker', data);
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
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
      pending.delete(reply.id);
      if (!waiting) return;
      if (reply.error) waiting.reject(new DomainError(reply.code ?? 'GRAPH_MODEL_ERROR', 503, reply.error));
      else waiting.resolve(reply);
    });
    worker.once('error', (error) => {
      failure = error;
      for (const p of pending.values()) p.reject(error);
      pending.clear();
      reject(error);
    });
  });
  await ready;

  const ask = (request: Ask): Promise<Reply> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  };
  const refresh = async () => {
    const reply = await ask({ type: 'status' });
    if (reply.status) status = reply.status;
    cycles = reply.cycles ?? undefined;
  };
  const timer = setInterval(() => void refresh().catch(() => undefined), 250);
  timer.unref();

  return {
    projector: {
      status: () => (failure ? { ...status, running: false, lastError: failure.message } : status),
      waitFor: async (position, timeoutMs = 5000) => {
        await ask({ type: 'waitFor', position, timeoutMs });
      },
    },
    cycles: () => cycles,
    checkCycles: async () => {
      const reply = await ask({ type: 'checkCycles' });
      cycles = reply.cycles ?? undefined;
      return cycles!;
    },
    dump: async () => (await ask({ type: 'dump' })).dump!,
    stop: async () => {
      clearInterval(timer);
      if (!failure) await ask({ type: 'stop' }).catch(() => undefined);
      await worker.terminate();
    },
  };
};
