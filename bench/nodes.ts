/**
 * Several API nodes on one PostgreSQL log (issue 14): how long a write on node A takes to be readable on node B, and
 * what a second node adds to POST /api/v1/tasks throughput. Each node is a real `vespera serve` process with its own
 * data directory (vectors off, rate limits off); PostgreSQL is the machine's, on a database made for the run.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api } from '../test/support/testApp.js';
import { freshDatabase } from '../test/support/postgres.js';
import { startServer, type Server } from '../test/support/serveProcess.js';
import { postTasks } from './http.js';
import { below, info, median, medianOf, nowMs, percentile, round, spread, type BenchOptions, type Result } from './lib.js';

const CONNECTIONS = 32;

/** Sequential writes on A, each read back on B with X-Vespera-Min-Position: the time from A's answer to B's. */
const visibility = async (a: Server, b: Server, samples: number): Promise<number[]> => {
  const lags: number[] = [];
  for (let i = 0; i < samples; i++) {
    const created = await api(a.baseUrl, 'POST', '/api/v1/tasks', { title: `visible ${i}` }, a.auth);
    if (created.status !== 201) throw new Error(`POST on A answered ${created.status}: ${JSON.stringify(created.body)}`);
    const acknowledged = nowMs();
    const read = await api(b.baseUrl, 'GET', `/api/v1/tasks/${created.body.id}`, undefined, {
      ...b.auth,
      'x-vespera-min-position': created.headers.get('x-vespera-position')!,
    });
    if (read.status !== 200) throw new Error(`GET on B answered ${read.status}: ${JSON.stringify(read.body)}`);
    lags.push(nowMs() - acknowledged);
  }
  return lags;
};

/** The same read on B without waiting for a position: what a GET costs by itself, to tell propagation from transport. */
const plainRead = async (b: Server, id: string, samples: number): Promise<number[]> => {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = nowMs();
    await api(b.baseUrl, 'GET', `/api/v1/tasks/${id}`, undefined, b.auth);
    times.push(nowMs() - started);
  }
  return times;
};

const tokenOf = (server: Server): string => server.auth.authorization!.replace(/^Bearer /, '');

export const run = async (opts: BenchOptions): Promise<Result> => {
  const samples = opts.quick ? 100 : 500;
  const seconds = opts.quick ? 3 : 10;
  const db = await freshDatabase();
  const env = {
    VESPERA_EVENT_STORE: 'postgres',
    VESPERA_POSTGRES_URL: db.url,
    VESPERA_JWT_SECRET: randomBytes(36).toString('base64url'),
    VESPERA_VECTORS: 'off',
    VESPERA_RATE_LIMIT_PER_MINUTE: '0',
  };
  const dirs = ['a', 'b'].map((label) => fs.mkdtempSync(path.join(os.tmpdir(), `vespera-bench-node-${label}-`)));
  const nodes: Server[] = [];
  const lagRuns: Record<string, number>[] = [];
  const oneNode: Record<string, number>[] = [];
  const twoNodes: Record<string, number>[] = [];
  let readP50 = 0;
  try {
    nodes.push(await startServer(dirs[0]!, env), await startServer(dirs[1]!, env));
    const [a, b] = nodes as [Server, Server];
    await visibility(a, b, 20); // warm-up
    for (let r = 0; r < opts.reps; r++) {
      const lags = await visibility(a, b, samples);
      lagRuns.push({ p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) });
    }
    const probe = await api(a.baseUrl, 'POST', '/api/v1/tasks', { title: 'probe' }, a.auth);
    readP50 = median(await plainRead(b, probe.body.id as string, 200));

    await postTasks(a.baseUrl, 1, CONNECTIONS, [tokenOf(a)]); // warm-up of the write path on both
    await postTasks(b.baseUrl, 1, CONNECTIONS, [tokenOf(b)]);
    for (let r = 0; r < opts.reps; r++) {
      oneNode.push(await postTasks(a.baseUrl, seconds, CONNECTIONS, [tokenOf(a)]));
      const [onA, onB] = await Promise.all([
        postTasks(a.baseUrl, seconds, CONNECTIONS, [tokenOf(a)]),
        postTasks(b.baseUrl, seconds, CONNECTIONS, [tokenOf(b)]),
      ]);
      twoNodes.push({
        reqPerSec: onA.reqPerSec + onB.reqPerSec,
        p99: Math.max(onA.p99, onB.p99),
        non2xx: onA.non2xx + onB.non2xx,
        errors: onA.errors + onB.errors,
      });
    }
  } finally {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((node) => node.exited));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
  const lag = medianOf(lagRuns);
  const one = medianOf(oneNode);
  const two = medianOf(twoNodes);
  const ratio = round(two.reqPerSec! / one.reqPerSec!, 2);
  return {
    name: 'nodes',
    setup: `two \`vespera serve\` processes on one PostgreSQL database (127.0.0.1:5432, this machine's 2 cores shared by both nodes, PostgreSQL and the load generator), vectors and rate limits off; visibility: ${samples} sequential POSTs on A, each read on B with X-Vespera-Min-Position; throughput: autocannon ${CONNECTIONS} connections per node × ${seconds}s; median of ${opts.reps}`,
    rows: [
      info('append on A → readable on B, p50', round(lag.p50!, 2), 'ms'),
      below('append on A → readable on B, p99', round(lag.p99!, 2), 50, 'ms'),
      info('  p99 spread over reps', spread(lagRuns, 'p99')),
      info('  (a GET on B alone, p50)', round(readP50, 2), 'ms'),
      info('POST /tasks, one node, 32 connections', round(one.reqPerSec!, 0), 'req/s'),
      info('  p99', one.p99!, 'ms'),
      info('POST /tasks, two nodes, 32 connections each (total)', round(two.reqPerSec!, 0), 'req/s'),
      info('  p99 (worse node)', two.p99!, 'ms'),
      info('  ratio two nodes / one node', ratio),
      {
        ...info(
          'non-2xx and socket errors (sum)',
          [...oneNode, ...twoNodes].reduce((sum, r) => sum + r.non2xx! + r.errors!, 0),
        ),
        ok: [...oneNode, ...twoNodes].every((r) => r.non2xx === 0 && r.errors === 0),
      },
    ],
    figures: {
      visibleP50Ms: round(lag.p50!, 2),
      visibleP99Ms: round(lag.p99!, 2),
      oneNodeReqPerSec: round(one.reqPerSec!, 0),
      twoNodesReqPerSec: round(two.reqPerSec!, 0),
      twoToOneRatio: ratio,
    },
  };
};
