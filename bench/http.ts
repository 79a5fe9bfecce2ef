/**
 * 3. POST /api/v1/tasks over HTTP: 32 connections with autocannon against the default server (vectors on, so
 * every create runs its duplicate check; the default per-token rate limit) in its own process. Requests rotate
 * over one token per connection, as 32 agents would.
 */
import autocannon from 'autocannon';
import { atLeast, below, info, medianOf, round, setupOf, spread, startChildServer, type BenchOptions, type Result } from './lib.js';

const CONNECTIONS = 32;

/** One autocannon run of `seconds` against POST /api/v1/tasks, every request with its own title. */
export const postTasks = async (baseUrl: string, seconds: number, connections = CONNECTIONS, tokens: readonly string[] = []) => {
  let counter = 0;
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/tasks',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          const n = ++counter;
          const auth = tokens.length ? { authorization: `Bearer ${tokens[n % tokens.length]!}` } : {};
          return {
            ...request,
            headers: { ...request.headers, ...auth },
            body: JSON.stringify({ title: `http task ${n}`, priority: 'normal', tags: ['bench'] }),
          };
        },
      },
    ],
  });
  return {
    reqPerSec: result.requests.total / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
  };
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const seconds = opts.quick ? 3 : 10;
  const server = await startChildServer('full');
  const runs: Record<string, number>[] = [];
  let rss = 0;
  try {
    const { tokens } = await server.request({ type: 'tokens', count: CONNECTIONS }, 'tokens');
    await postTasks(server.baseUrl, opts.quick ? 1 : 2, undefined, tokens); // warm-up (JIT, first project)
    for (let r = 0; r < opts.reps; r++) runs.push(await postTasks(server.baseUrl, seconds, undefined, tokens));
    rss = (await server.request({ type: 'rss' }, 'rss')).rssMb;
  } finally {
    await server.close();
  }
  const m = medianOf(runs);
  return {
    name: 'http',
    setup: `POST /api/v1/tasks (answers after the read model shows the task, duplicate check included), ${setupOf(server.config, `HTTP to a child process, ${CONNECTIONS} tokens rotating`)}; autocannon ${CONNECTIONS} connections × ${seconds}s; median of ${opts.reps}; latency histogram has 1 ms resolution`,
    rows: [
      atLeast('requests/s', round(m.reqPerSec!, 0), 2000, 'req/s'),
      info('  spread over reps', spread(runs, 'reqPerSec')),
      info('latency p50', m.p50!, 'ms'),
      info('latency p90', m.p90!, 'ms'),
      below('latency p99', m.p99!, 25, 'ms'),
      info('  p99 spread over reps', spread(runs, 'p99')),
      info('latency max', m.max!, 'ms'),
      {
        ...info(
          'non-2xx responses (sum over reps)',
          runs.reduce((a, r) => a + r.non2xx!, 0),
        ),
        ok: runs.every((r) => r.non2xx === 0),
      },
      {
        ...info(
          'socket errors/timeouts (sum)',
          runs.reduce((a, r) => a + r.errors!, 0),
        ),
        ok: runs.every((r) => r.errors === 0),
      },
      info('server RSS after runs', rss, 'MB'),
    ],
    figures: {
      reqPerSec: round(m.reqPerSec!, 0),
      p50Ms: m.p50!,
      p90Ms: m.p90!,
      p99Ms: m.p99!,
      maxMs: m.max!,
      non2xx: runs.reduce((a, r) => a + r.non2xx!, 0),
      serverRssMb: rss,
    },
  };
};
