/** 1. Batched task-tree creation: createTaskTree with 1,000-node trees, in-process, until the SQLite read model shows them. */
import {
  atLeast,
  gc,
  info,
  makeTree,
  mean,
  median,
  medianOf,
  meta,
  nowMs,
  percentile,
  round,
  rssMb,
  spread,
  lastSetup,
  setupOf,
  startApp,
  type BenchOptions,
  type Result,
} from './lib.js';

const TREE_SIZE = 1000;

/** `trees` trees, `inFlight` at a time; each counts once its events are in the read model. */
const once = async (trees: number, inFlight: number) => {
  const app = await startApp({ sync: 'full' });
  try {
    // Warm-up: first tree creates the project and JITs the path.
    await app.projector.waitFor((await app.commands.createTaskTree({ root: makeTree(TREE_SIZE, 'warm') }, meta())).position, 60_000);
    gc();
    const latencies: number[] = [];
    const commandMs: number[] = [];
    let next = 0;
    const started = nowMs();
    const worker = async () => {
      while (next < trees) {
        const i = next++;
        const t0 = nowMs();
        const result = await app.commands.createTaskTree({ root: makeTree(TREE_SIZE, `tree ${i}`) }, meta());
        const t1 = nowMs();
        await app.projector.waitFor(result.position, 60_000);
        commandMs.push(t1 - t0);
        latencies.push(nowMs() - t0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (nowMs() - started) / 1000;
    return {
      tasksPerSec: (trees * TREE_SIZE) / seconds,
      treeP50: percentile(latencies, 50),
      treeP99: percentile(latencies, 99),
      commandMean: mean(commandMs),
      projectionMean: mean(latencies) - mean(commandMs),
      rss: rssMb(),
    };
  } finally {
    await app.close();
  }
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const trees = opts.quick ? 4 : 20;
  const seq: Record<string, number>[] = [];
  const par: Record<string, number>[] = [];
  for (let r = 0; r < opts.reps; r++) {
    seq.push(await once(trees, 1));
    par.push(await once(trees, 4));
  }
  const s = medianOf(seq);
  const p = medianOf(par);
  return {
    name: 'tree',
    setup: `createTaskTree until the SQLite projection shows it, ${setupOf(lastSetup(), 'in-process commands (no HTTP, no auth)')}; ${trees} trees × ${TREE_SIZE} tasks per rep (fan-out 10); median of ${opts.reps}`,
    rows: [
      atLeast('tasks/s, 1 tree at a time (create + projected)', round(s.tasksPerSec!, 0), 20_000, 'tasks/s'),
      info('  spread over reps', spread(seq, 'tasksPerSec')),
      info('  per tree p50 / p99', `${round(s.treeP50!, 1)} / ${round(s.treeP99!, 1)} ms`),
      info('  per tree: command (decide+append) mean', round(s.commandMean!, 1), 'ms'),
      info('  per tree: projection wait mean', round(s.projectionMean!, 1), 'ms'),
      info('tasks/s, 4 trees in flight', round(p.tasksPerSec!, 0), 'tasks/s'),
      info('  spread over reps', spread(par, 'tasksPerSec')),
      info('RSS after run', median([s.rss!, p.rss!]), 'MB'),
    ],
    figures: {
      tasksPerSec: round(s.tasksPerSec!, 0),
      tasksPerSecInFlight4: round(p.tasksPerSec!, 0),
      treeP50Ms: round(s.treeP50!, 2),
      treeP99Ms: round(s.treeP99!, 2),
      commandMeanMs: round(s.commandMean!, 2),
      projectionMeanMs: round(s.projectionMean!, 2),
      rssMb: s.rss!,
    },
  };
};
