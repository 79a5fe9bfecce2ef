import type { Logger } from 'pino';
import type { EventStore } from '../../eventstore/eventStore.js';
import { Projector } from '../projector.js';
import { checkGraphForCycles, type CycleReport } from './cycleDetection.js';
import type { GraphStore } from './graphStore.js';
import { KuzuGraphStore } from './kuzu.js';
import { GraphProjection, rebuildGraph } from './projection.js';

export type { GraphStore } from './graphStore.js';
export type { CycleReport } from './cycleDetection.js';

export type GraphModel = Readonly<{
  graph: GraphStore;
  projector: Projector;
  /** The last `cycle_detection` result, for /health. */
  cycles: () => CycleReport | undefined;
  /** Runs the cycle check now (also on a timer). */
  checkCycles: () => CycleReport;
  stop: () => void;
}>;

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
  const graph = KuzuGraphStore.open(opts.file);
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
  return {
    graph,
    projector,
    cycles: () => last,
    checkCycles,
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
      projector.stop();
      graph.close();
    },
  };
};
