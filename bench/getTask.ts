/** 5. GET /api/v1/tasks/:id on random ids with 100,000 tasks stored (server in a child process), plus RSS at 100,000 tasks. */
import autocannon from 'autocannon';
import { below, info, medianOf, round, setupOf, spread, startChildServer, type BenchOptions, type Result } from './lib.js';

/** Enough tokens that the load stays inside the default per-token limit (12,000/min = 200/s each). */
const TOKENS = 100;

const getRandom = async (baseUrl: string, ids: readonly string[], seconds: number, connections: number, tokens: readonly string[]) => {
  let n = 0;
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        path: '/api/v1/tasks/x',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, authorization: `Bearer ${tokens[++n % tokens.length]!}` },
          path: `/api/v1/tasks/${ids[Math.floor(Math.random() * ids.length)]!}`,
        }),
      },
    ],
  });
  return {
    reqPerSec: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
  };
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const trees = opts.quick ? 10 : 100;
  const seconds = opts.quick ? 2 : 5;
  // Vectors off: with them on, seeding 100,000 tasks starts minutes of embedding that would run under the GETs.
  const server = await startChildServer('full', 'off');
  const low: Record<string, number>[] = [];
  const high: Record<string, number>[] = [];
  let seed;
  let rssAfter = 0;
  try {
    const before = await server.request({ type: 'rss' }, 'rss');
    seed = await server.request({ type: 'seed', trees, size: 1000 }, 'seeded');
    const { tokens } = await server.request({ type: 'tokens', count: TOKENS }, 'tokens');
    await getRandom(server.baseUrl, seed.ids, 1, 8, tokens); // warm-up
    for (let r = 0; r < opts.reps; r++) {
      low.push(await getRandom(server.baseUrl, seed.ids, seconds, 8, tokens));
      high.push(await getRandom(server.baseUrl, seed.ids, seconds, 32, tokens));
    }
    rssAfter = (await server.request({ type: 'rss' }, 'rss')).rssMb;
    seed = { ...seed, rssBefore: before.rssMb };
  } finally {
    await server.close();
  }
  const l = medianOf(low);
  const h = medianOf(high);
  const tasks = seed.ids.length;
  return {
    name: 'getTask',
    setup: `GET /api/v1/tasks/:id (random ids) with ${tasks.toLocaleString('en-US')} tasks seeded in-process via createTaskTree ×1,000, ${setupOf(server.config, `HTTP to a child process, ${TOKENS} tokens rotating`)}; autocannon ${seconds}s at 8 and 32 connections; median of ${opts.reps}`,
    rows: [
      info('seeding (create + projected)', round(tasks / seed.seconds, 0), 'tasks/s'),
      info(`server RSS before seeding`, seed.rssBefore, 'MB'),
      info(`server RSS at ${tasks.toLocaleString('en-US')} tasks (after GC)`, seed.rssMb, 'MB'),
      info(`server JS heap at ${tasks.toLocaleString('en-US')} tasks`, seed.heapMb, 'MB'),
      info('8 connections: requests/s', round(l.reqPerSec!, 0), 'req/s'),
      info('8 connections: p50', l.p50!, 'ms'),
      below('8 connections: p99', l.p99!, 5, 'ms'),
      info('  p99 spread over reps', spread(low, 'p99')),
      info('32 connections (saturated): requests/s', round(h.reqPerSec!, 0), 'req/s'),
      info('32 connections: p50 / p99', `${h.p50!} / ${h.p99!} ms`),
      {
        ...info(
          'non-2xx (sum)',
          [...low, ...high].reduce((a, r) => a + r.non2xx!, 0),
        ),
        ok: [...low, ...high].every((r) => r.non2xx === 0),
      },
      info('server RSS after GETs', rssAfter, 'MB'),
    ],
    figures: {
      tasks,
      seedTasksPerSec: round(tasks / seed.seconds, 0),
      rssAtSeedMb: seed.rssMb,
      heapAtSeedMb: seed.heapMb,
      c8ReqPerSec: round(l.reqPerSec!, 0),
      c8P50Ms: l.p50!,
      c8P99Ms: l.p99!,
      c32ReqPerSec: round(h.reqPerSec!, 0),
      c32P50Ms: h.p50!,
      c32P99Ms: h.p99!,
      rssAfterMb: rssAfter,
    },
  };
};
