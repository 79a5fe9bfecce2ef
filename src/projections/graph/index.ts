import fs from 'node:fs';
import type { Logger } from 'pino';
import type { EventStore } from '../../eventstore/eventStore.js';
import { Projector } from '../projector.js';
import { checkGraphForCycles, type CycleReport } from './cycleDetection.js';
import type { GraphStore } from './graphStore.js';
import { KuzuGraphStore } from './kuzu.js';
import { GraphProjection, rebuildGraph, type GraphRebuildResult } from './projection.js';

export type { GraphStore } from './graphStore.js';
export type { CycleReport } from './cycleDetection.js';

export type GraphBlueGreenResult = GraphRebuildResult & Readonly<{ swappedAt: number; tail: number }>;

export type GraphModel = Readonly<{
  /** The store the projector writes now (another one after a blue-green rebuild). */
  readonly graph: GraphStore;
  projector: Projector;
  /** The last `cycle_detection` result, for /health. */
  cycles: () => CycleReport | undefined;
  /** Runs the cycle check now (also on a timer). */
  checkCycles: () => CycleReport;
  /**
   * Blue-green: builds the graph beside the live file from the log while the live graph keeps applying, lets the new
   * one catch up the tail, then closes both, renames the new file over the live one and goes on with it.
   */
  rebuild: (opts?: { onProgress?: (phase: string, position: number, events: number) => void; signal?: AbortSignal }) => Promise<GraphBlueGreenResult>;
  /** Resolves once the batch in flight is applied and the database closed. */
  stop: () => Promise<void>;
}>;

/** Kuzu keeps a database in one file and, while open, its write-ahead log beside it. */
const removeDatabase = (file: string) => {
  for (const suffix of ['', '.wal']) fs.rmSync(`${file}${suffix}`, { force: true, recursive: true });
};

/**
 * The graph model of a stopped node rebuilt from the log: built beside `file`, then renamed over it, so a failure
 * leaves the old model in place (`vespera rebuild --model graph`).
 */
export const rebuildGraphFile = async (
  store: EventStore,
  file: string,
  onProgress?: (position: number, events: number) => void,
): Promise<GraphRebuildResult> => {
  const aside = `${file}.rebuild`;
  removeDatabase(aside);
  try {
    const next = KuzuGraphStore.open(aside);
    let result: GraphRebuildResult;
    try {
      result = await rebuildGraph(store, next, onProgress ? { onProgress } : {});
    } finally {
      next.close();
    }
    removeDatabase(file);
    fs.renameSync(aside, file);
    return result;
  } finally {
    removeDatabase(aside);
  }
};

/**
 * Opens the graph read model at `file`, bulk-rebuilds it when it is empty or was built by another projector
 * version while the log is not, then follows the log. The cycle check runs once after start, then every `cycleCheckMs`.
 */
/** Kuzu pays per transaction: the graph applies what arrived in this interval as one batch. */
const GRAPH_BATCH_INTERVAL_MS = 200;

export const startGraphModel = async (opts: {
  store: EventStore;
  file: string;
  logger: Logger;
  now: () => string;
  cycleCheckMs?: number;
}): Promise<GraphModel> => {
  let graph = KuzuGraphStore.open(opts.file);
  const projection = new GraphProjection(graph);
  const logger = opts.logger.child({ component: 'graph' });
  try {
    if (projection.checkpoint() <= 0 && (await opts.store.headPosition()) > 0) {
      const result = await rebuildGraph(opts.store, graph);
      logger.info(result, 'graph read model rebuilt from the log');
    }
  } catch (error) {
    graph.close();
    throw error;
  }
  const projector = new Projector(opts.store, projection, logger, 2000, GRAPH_BATCH_INTERVAL_MS);
  await projector.start();
  let last: CycleReport | undefined;
  const checkCycles = () => {
    last = checkGraphForCycles(graph, opts.now);
    if (last.cycles > 0) logger.error({ cycle: last.cycle }, 'cycle_detection: the projected graph has a dependency cycle');
    return last;
  };
  const first = setTimeout(checkCycles, 1000).unref();
  const timer = setInterval(checkCycles, opts.cycleCheckMs ?? 60_000).unref();
  let rebuilding = false;
  const rebuild: GraphModel['rebuild'] = async ({ onProgress = () => {}, signal } = {}) => {
    if (rebuilding) throw new Error('a graph rebuild is already running');
    rebuilding = true;
    const aside = `${opts.file}.rebuild`;
    removeDatabase(aside);
    const next = KuzuGraphStore.open(aside);
    try {
      const built = await rebuildGraph(opts.store, next, {
        ...(signal ? { signal } : {}),
        onProgress: (position, events) => onProgress('graph: building aside', position, events),
      });
      signal?.throwIfAborted();
      onProgress('graph: catching up and swapping', built.position, built.events);
      let failure: unknown;
      const { position } = await projector.replaceProjection(new GraphProjection(next), () => {
        next.close();
        graph.close();
        try {
          removeDatabase(`${opts.file}.wal`);
          fs.renameSync(aside, opts.file);
        } catch (error) {
          failure = error;
        }
        // After a failed rename the old file is still in place: the projector goes on with one or the other.
        graph = KuzuGraphStore.open(opts.file);
        return new GraphProjection(graph);
      });
      if (failure) throw failure as Error;
      logger.info({ ...built, swappedAt: position }, 'graph read model rebuilt blue-green and swapped in');
      return { ...built, swappedAt: position, tail: position - built.position };
    } finally {
      next.close();
      removeDatabase(aside);
      rebuilding = false;
    }
  };
  return {
    get graph() {
      return graph;
    },
    projector,
    cycles: () => last,
    checkCycles,
    rebuild,
    stop: async () => {
      clearTimeout(first);
      clearInterval(timer);
      await projector.stop();
      graph.close();
    },
  };
};
