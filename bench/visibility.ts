/** 4. Append → visible in the SQLite read model: from before commands.createTask to the projector having applied its position. */
import {
  below,
  info,
  mean,
  medianOf,
  nowMs,
  percentile,
  round,
  rssMb,
  spread,
  lastSetup,
  setupOf,
  startApp,
  meta,
  type BenchOptions,
  type Result,
} from './lib.js';

const once = async (samples: number, concurrency: number) => {
  const app = await startApp({ sync: 'full' });
  try {
    for (let i = 0; i < 50; i++) await app.projector.waitFor((await app.commands.createTask({ title: `warm ${i}` }, meta())).position);
    const total: number[] = [];
    const append: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < samples) {
        const i = next++;
        const t0 = nowMs();
        const result = await app.commands.createTask({ title: `visible ${i}` }, meta());
        const t1 = nowMs();
        await app.projector.waitFor(result.position);
        const t2 = nowMs();
        append.push(t1 - t0);
        total.push(t2 - t0);
        // light load: a short think time between a worker's commands
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return {
      p50: percentile(total, 50),
      p99: percentile(total, 99),
      max: Math.max(...total),
      mean: mean(total),
      appendP50: percentile(append, 50),
      appendP99: percentile(append, 99),
      projectP99: percentile(
        total.map((t, i) => t - append[i]!),
        99,
      ),
      rss: rssMb(),
    };
  } finally {
    await app.close();
  }
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const samples = opts.quick ? 300 : 1000;
  const concurrency = 4;
  const runs: Record<string, number>[] = [];
  for (let r = 0; r < opts.reps; r++) runs.push(await once(samples, concurrency));
  const m = medianOf(runs);
  return {
    name: 'visibility',
    setup: `createTask → projector.waitFor(position), ${setupOf(lastSetup(), 'in-process commands (no HTTP, no auth)')}; ${samples} samples, ${concurrency} workers with 1 ms think time; median of ${opts.reps}`,
    rows: [
      info('append → visible p50', round(m.p50!, 2), 'ms'),
      below('append → visible p99', round(m.p99!, 2), 10, 'ms'),
      info('  p99 spread over reps', spread(runs, 'p99')),
      info('append → visible max', round(m.max!, 2), 'ms'),
      info('  of which command (decide + fsync) p50 / p99', `${round(m.appendP50!, 2)} / ${round(m.appendP99!, 2)} ms`),
      info('  of which projection wait p99', round(m.projectP99!, 2), 'ms'),
      info('RSS', m.rss!, 'MB'),
    ],
    figures: {
      p50Ms: round(m.p50!, 3),
      p99Ms: round(m.p99!, 3),
      maxMs: round(m.max!, 3),
      meanMs: round(m.mean!, 3),
      commandP99Ms: round(m.appendP99!, 3),
      projectionP99Ms: round(m.projectP99!, 3),
      rssMb: m.rss!,
    },
  };
};
