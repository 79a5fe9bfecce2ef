/**
 * ClaimNextTask end to end over HTTP: 16 agents, each its own keep-alive client, claim from 1,000 ready
 * tasks until claim-next answers claimed: false. The server runs in its own process (this file, forked
 * with VESPERA_BENCH_CLAIMS_SERVER=1) with the rate limit off; the agents authenticate with the admin
 * token from the data directory.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { atLeast, info, medianOf, nowMs, percentile, round, spread, startApp, type BenchOptions, type Result } from './lib.js';

const AGENTS = 16;
/** Tasks per repetition; also the role's concurrency limit, so a repetition never hits WORKLOAD_LIMIT. */
const TASKS = 1000;
const WARMUP_TASKS = 200;

type Ready = { type: 'ready'; port: number; tokenFile: string };

// ─── The server (child process) ─────────────────────────────────────────────────────────────────

const serve = async () => {
  const sync = process.env.BENCH_SYNC === 'normal' ? 'normal' : 'full';
  const app = await startApp({ sync, rateLimitPerMinute: 0, leaseScanIntervalMs: 3_600_000 }, true);
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    void app.close().then(() => process.exit(0));
  });
  process.send?.({ type: 'ready', port: Number(new URL(app.baseUrl).port), tokenFile: app.adminTokenFile } satisfies Ready);
};

if (process.env.VESPERA_BENCH_CLAIMS_SERVER === '1') {
  serve().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

const startServer = async (): Promise<{ baseUrl: string; token: string; close: () => Promise<void> }> => {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
    env: { ...process.env, VESPERA_BENCH_CLAIMS_SERVER: '1', BENCH_SYNC: process.env.BENCH_SYNC ?? 'full' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (message: Ready) => resolve(message));
    child.once('exit', (code) => reject(new Error(`claims bench server exited (${code}) before it was ready`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${ready.port}`,
    token: fs.readFileSync(ready.tokenFile, 'utf8').trim(),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
};

// ─── The agents (this process) ──────────────────────────────────────────────────────────────────

type Answer = { status: number; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const httpClient = (baseUrl: string, token: string) => {
  const pool = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(baseUrl);
  const send = (method: string, path: string, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? '' : JSON.stringify(body);
      const request = http.request(
        {
          agent: pool,
          host: hostname,
          port: Number(port),
          method,
          path: path === '/health' ? path : `/api/v1${path}`,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: response.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined });
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  return { send, close: () => pool.destroy() };
};

const expectStatus = (answer: Answer, status: number, what: string): Answer => {
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer;
};

/** A fresh role per repetition (its in-progress count starts at 0) and a fresh project of `size` ready tasks. */
const seed = async (baseUrl: string, token: string, label: string, size: number): Promise<string> => {
  const admin = httpClient(baseUrl, token);
  try {
    const role = `bench_claims_${label}`;
    expectStatus(
      await admin.send('POST', '/roles', {
        name: role,
        description: 'Claims bench: takes any task, room for a whole repetition.',
        capabilities: ['code_writing'],
        filePatterns: ['**/*'],
        tools: ['read_file'],
        maxConcurrentTasks: size,
        restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
      }),
      201,
      'define role',
    );
    const projectId = `claims-${label}`;
    expectStatus(await admin.send('POST', '/projects', { id: projectId, name: `Claims ${label}` }), 201, 'create project');
    const root = { title: `claims ${label} root`, children: Array.from({ length: size - 1 }, (_, i) => ({ title: `claims ${label} ${i + 1}` })) };
    expectStatus(await admin.send('POST', '/tasks/tree', { projectId, root }), 201, 'create tree');
    await settle(admin);
    return role;
  } finally {
    admin.close();
  }
};

/** Waits (at most 120 s) until every projector (SQLite, graph, …) has caught up, so seeding does not compete with the claims. */
const settle = async (client: ReturnType<typeof httpClient>): Promise<void> => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const health = (await client.send('GET', '/health')).body as { projectors: { lag: number }[] };
    if (health.projectors.every((p) => p.lag === 0)) return;
    if (Date.now() > deadline) throw new Error(`projectors still behind after 120 s: ${JSON.stringify(health.projectors)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

type Round = { claims: number; seconds: number; latencies: number[]; duplicates: number; errors: number };

/** 16 agents claim until claimed: false; latency is per claim-next request. */
const claimAll = async (baseUrl: string, token: string, role: string, limit: number): Promise<Round> => {
  const seen = new Set<string>();
  const latencies: number[] = [];
  let duplicates = 0;
  let errors = 0;
  const agent = async (name: string) => {
    const client = httpClient(baseUrl, token);
    try {
      for (let round = 0; round <= limit; round++) {
        const started = nowMs();
        const answer = await client.send('POST', '/tasks/claim-next', { role, agent: name, leaseSeconds: 3600 });
        latencies.push(nowMs() - started);
        if (answer.status !== 200) {
          errors += 1;
          return;
        }
        if (!answer.body.claimed) return;
        const id = (answer.body.task as { id: string }).id;
        if (seen.has(id)) duplicates += 1;
        seen.add(id);
      }
    } finally {
      client.close();
    }
  };
  const started = nowMs();
  await Promise.all(Array.from({ length: AGENTS }, (_, i) => agent(`bench-agent-${i + 1}`)));
  return { claims: seen.size + duplicates, seconds: (nowMs() - started) / 1000, latencies, duplicates, errors };
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const server = await startServer();
  const runs: Record<string, number>[] = [];
  try {
    await claimAll(server.baseUrl, server.token, await seed(server.baseUrl, server.token, 'warmup', WARMUP_TASKS), WARMUP_TASKS);
    for (let r = 0; r < opts.reps; r++) {
      const role = await seed(server.baseUrl, server.token, `rep${r + 1}`, TASKS);
      const result = await claimAll(server.baseUrl, server.token, role, TASKS);
      runs.push({
        claimsPerSec: result.claims / result.seconds,
        p50: percentile(result.latencies, 50),
        p90: percentile(result.latencies, 90),
        p99: percentile(result.latencies, 99),
        max: percentile(result.latencies, 100),
        claims: result.claims,
        duplicates: result.duplicates,
        errors: result.errors,
      });
    }
  } finally {
    await server.close();
  }
  const m = medianOf(runs);
  const sum = (key: string) => runs.reduce((a, r) => a + r[key]!, 0);
  return {
    name: 'claims',
    setup: `POST /api/v1/tasks/claim-next, ${AGENTS} agents (own keep-alive client each) draining ${TASKS} ready tasks per rep, server in a child process, SQLite sync=${process.env.BENCH_SYNC ?? 'full'}, rate limit off (NOT the default: 16 agents share one token), vectors on; median of ${opts.reps}`,
    rows: [
      atLeast('claims/s', round(m.claimsPerSec!, 0), 1000, 'claims/s'),
      info('  spread over reps', spread(runs, 'claimsPerSec')),
      info('claim latency p50', round(m.p50!, 2), 'ms'),
      info('claim latency p90', round(m.p90!, 2), 'ms'),
      info('claim latency p99', round(m.p99!, 2), 'ms'),
      info('claim latency max', round(m.max!, 2), 'ms'),
      { ...info('tasks claimed (sum over reps)', sum('claims')), ok: runs.every((r) => r.claims === TASKS) },
      { ...info('double claims (sum)', sum('duplicates')), ok: sum('duplicates') === 0 },
      { ...info('non-200 answers (sum)', sum('errors')), ok: sum('errors') === 0 },
    ],
    figures: {
      claimsPerSec: round(m.claimsPerSec!, 0),
      p50Ms: round(m.p50!, 2),
      p90Ms: round(m.p90!, 2),
      p99Ms: round(m.p99!, 2),
      maxMs: round(m.max!, 2),
      duplicates: sum('duplicates'),
      errors: sum('errors'),
    },
  };
};
