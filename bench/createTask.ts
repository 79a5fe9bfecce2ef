/** 2. Single CreateTask commands, in-process, durable (sync=full): N in flight (group commit) and one at a time (fsync-bound). */
import {
  atLeast,
  gc,
  info,
  meta,
  nowMs,
  percentile,
  round,
  rssMb,
  spread,
  medianOf,
  lastSetup,
  setupOf,
  startApp,
  type BenchOptions,
  type Result,
} from './lib.js';

const once = async (count: number, inFlight: number) => {
  const app = await startApp({ sync: 'full' });
  try {
    for (let i = 0; i < 50; i++) await app.commands.createTask({ title: `warm ${i}` }, meta());
    gc();
    const latencies: number[] = [];
    let next = 0;
    const started = nowMs();
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const t0 = nowMs();
        await app.commands.createTask({ title: `task ${i}`, priority: 'normal', tags: ['bench'] }, meta());
        latencies.push(nowMs() - t0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (nowMs() - started) / 1000;
    return { perSec: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), rss: rssMb() };
  } finally {
    await app.close();
  }
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const concurrent = opts.quick ? 2000 : 10_000;
  const sequential = opts.quick ? 200 : 1000;
  const inFlight = 64;
  const conc: Record<string, number>[] = [];
  const seq: Record<string, number>[] = [];
  for (let r = 0; r < opts.reps; r++) {
    conc.push(await once(concurrent, inFlight));
    seq.push(await once(sequential, 1));
  }
  const c = medianOf(conc);
  const s = medianOf(seq);
  return {
    name: 'createTask',
    setup: `commands.createTask (projection running), ${setupOf(lastSetup(), 'in-process commands (no HTTP, no auth, no duplicate check)')}; ${concurrent} commands at ${inFlight} in flight, ${sequential} one at a time; median of ${opts.reps}`,
    rows: [
      atLeast(`commands/s, ${inFlight} in flight (group commit)`, round(c.perSec!, 0), 3000, '/s'),
      info('  spread over reps', spread(conc, 'perSec')),
      info('  latency p50 / p99', `${round(c.p50!, 2)} / ${round(c.p99!, 2)} ms`),
      info('commands/s, strictly sequential (1 fsync each)', round(s.perSec!, 0), '/s'),
      info('  spread over reps', spread(seq, 'perSec')),
      info('  latency p50 / p99', `${round(s.p50!, 2)} / ${round(s.p99!, 2)} ms`),
      info('RSS after run', c.rss!, 'MB'),
    ],
    figures: {
      perSecConcurrent: round(c.perSec!, 0),
      concurrentP50Ms: round(c.p50!, 3),
      concurrentP99Ms: round(c.p99!, 3),
      perSecSequential: round(s.perSec!, 0),
      sequentialP50Ms: round(s.p50!, 3),
      sequentialP99Ms: round(s.p99!, 3),
      rssMb: c.rss!,
    },
  };
};
