import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { openStoreFromSpec, type EventStoreSpec } from '../../eventstore/spec.js';
import type { GraphQueryParams } from './graphStore.js';
import { startGraphModel } from './index.js';

/** What the API thread hands the graph thread: where the log and the graph live. */
export type GraphWorkerData = Readonly<{
  file: string;
  eventStore: EventStoreSpec;
  logLevel: string;
  cycleCheckMs?: number;
}>;

export type GraphRequest =
  | { id: number; type: 'status' }
  | { id: number; type: 'waitFor'; position: number; timeoutMs: number }
  | { id: number; type: 'checkCycles' }
  | { id: number; type: 'dump' }
  | { id: number; type: 'query'; cypher: string; params: GraphQueryParams; maxRows: number; timeoutMs: number }
  | { id: number; type: 'rebuild' }
  | { id: number; type: 'abortRebuild' }
  | { id: number; type: 'stop' };

/**
 * The graph read model in its own thread: Kuzu's writes are synchronous native calls, so here they use the
 * second core instead of the API's event loop. It follows the log through its own store connection.
 */
const main = async () => {
  const data = workerData as GraphWorkerData;
  const logger = pino({ name: 'vespera', level: data.logLevel }, pino.destination({ fd: 2, sync: false })).child({ thread: 'graph' });
  // SQLite is polled cheaply and often; the servers announce appends (PostgreSQL NOTIFY) or are asked less often.
  const store = openStoreFromSpec(data.eventStore, data.eventStore.kind === 'sqlite' ? 20 : 100);
  const model = await startGraphModel({
    store,
    file: data.file,
    logger,
    now: () => new Date().toISOString(),
    ...(data.cycleCheckMs ? { cycleCheckMs: data.cycleCheckMs } : {}),
  });
  const port = parentPort!;
  const answer = (id: number, body: Record<string, unknown>) => port.postMessage({ id, ...body });
  let rebuild: AbortController | undefined;
  port.on('message', (request: GraphRequest) => {
    const run = async (): Promise<Record<string, unknown>> => {
      switch (request.type) {
        case 'status':
          return { status: model.projector.status(), cycles: model.cycles() ?? null };
        case 'waitFor':
          await model.projector.waitFor(request.position, request.timeoutMs);
          return {};
        case 'checkCycles':
          return { cycles: model.checkCycles() };
        case 'dump':
          // Checkpoint and dump in one synchronous step: no batch can land between them (verify's consistent cut).
          return { checkpoint: model.graph.checkpoint() ?? null, dump: model.graph.dump() };
        case 'query':
          // The position read in the same synchronous step as the query: exactly what the answer reflects.
          return { answer: { ...model.graph.query(request.cypher, request.params, request), position: model.projector.status().position } };
        case 'rebuild': {
          const abort = (rebuild = new AbortController());
          try {
            const result = await model.rebuild({
              signal: abort.signal,
              onProgress: (phase, position, events) => answer(request.id, { progress: { phase, position, events } }),
            });
            return { rebuilt: result };
          } finally {
            if (rebuild === abort) rebuild = undefined;
          }
        }
        case 'abortRebuild':
          rebuild?.abort();
          return {};
        case 'stop':
          rebuild?.abort();
          await model.stop();
          await store.close();
          return {};
        default: {
          const _exhaustive: never = request;
          return _exhaustive;
        }
      }
    };
    run().then(
      (body) => answer(request.id, body),
      (error: unknown) => answer(request.id, { error: (error as Error).message, code: (error as { code?: string }).code }),
    );
  });
  port.postMessage({ id: 0, ready: true, status: model.projector.status() });
};

main().catch((error: unknown) => {
  parentPort?.postMessage({ id: 0, error: (error as Error).message });
});
