/**
 * ClaimNextTask end to end over HTTP: 16 agents, each its own keep-alive client, claim from 1,000 ready
 * tasks until claim-next answers claimed: false. The server runs in its own process (this file, forked
 * with VESPERA_BENCH_CLAIMS_SERVER=1) with the rate limit off; the agents authenticate with the admin
 * token from the data directory.
 *
 * Then with file-conflict checks: 1,000 tasks whose files overlap (paths and globs), each agent claiming and
 * completing in a loop; the project's events are read back to count overlapping active claims.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { patternsOverlap } from '../src/commands/roles/globOverlap.js';
import { atLeast, info, medianOf, nowMs, percentile, round, spread, startApp, type BenchOptions, type Result } from './lib.js';

const AGENTS = 16;
/** Tasks per repetition (the bench roles have no role-wide cap, so a drained project answers claimed: false, never WORKLOAD_LIMIT). */
const TASKS = 1000;
const WARMUP_TASKS = 200;

type Ready = { type: 'ready'; port: number; tokenFile: string };
/** The server's CPU time (every thread, µs) and its API thread's event-loop busy time (ms), to divide by a run's claims. */
type Usage = { type: 'usage'; cpuMicros: number; loopActiveMs: number };

// ─── The server (child process) ─────────────────────────────────────────────────────────────────

const serve = async () => {
  const sync = process.env.BENCH_SYNC === 'normal' ? 'normal' : 'full';
  const app = await startApp(
    { sync, rateLimitPerMinute: 0, leaseScanIntervalMs: 3_600_000, ...(process.env.BENCH_VECTORS === 'off' ? { vectors: 'off' as const } : {}) },
    true,
  );
  // BENCH_PROFILE_DIR: a CPU profile of the API thread over each timed with-files run only (not startup or seeding).
  const profiler = process.env.BENCH_PROFILE_DIR ? new Session() : undefined;
  profiler?.connect();
  process.on('message', (message: { type: string; label?: string }) => {
    if (message.type === 'profile:start' && profiler) {
      void profiler.post('Profiler.enable').then(() => profiler.post('Profiler.start'));
      return;
    }
    if (message.type === 'profile:stop' && profiler) {
      void profiler.post('Profiler.stop').then(({ profile }) => {
        const file = path.join(process.env.BENCH_PROFILE_DIR!, `claims-${message.label ?? 'run'}.cpuprofile`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(profile));
        process.send?.({ type: 'profiled', file });
      });
      return;
    }
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      process.send?.({ type: 'usage', cpuMicros: cpu.user + cpu.system, loopActiveMs: performance.eventLoopUtilization().active } satisfies Usage);
      return;
    }
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

type Server = {
  baseUrl: string;
  token: string;
  usage: () => Promise<Usage>;
  /** Starts the API thread's profiler when BENCH_PROFILE_DIR is set; the answer stops it and names the file. */
  profile: (label: string) => () => Promise<string | undefined>;
  close: () => Promise<void>;
};

const startServer = async (): Promise<Server> => {
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
    usage: () =>
      new Promise<Usage>((resolve) => {
        const answer = (message: Usage) => {
          if (message.type !== 'usage') return;
          child.off('message', answer);
          resolve(message);
        };
        child.on('message', answer);
        child.send({ type: 'usage' });
      }),
    profile: (label) => {
      if (!process.env.BENCH_PROFILE_DIR) return async () => undefined;
      child.send({ type: 'profile:start' });
      return () =>
        new Promise<string>((resolve) => {
          const answer = (message: { type: string; file: string }) => {
            if (message.type !== 'profiled') return;
            child.off('message', answer);
            resolve(message.file);
          };
          child.on('message', answer);
          child.send({ type: 'profile:stop', label });
        });
    },
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

const costRow = (m: Record<string, number | undefined>) => `${round(m.serverCpuMs!, 2)} / ${round(m.loopMs!, 2)} / ${round(m.agentsCpuMs!, 2)}`;

const expectStatus = (answer: Answer, status: number, what: string): Answer => {
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer;
};

/** Files of task `i` of the file-aware run: two of 400 paths in 100 modules, one task in 20 also a module's glob. */
const filesOfTask = (i: number): string[] => {
  const a = (i * 7919) % 400;
  const b = (i * 104_729 + 13) % 400;
  const path = (n: number) => `src/m${Math.floor(n / 4)}/f${n % 4}.ts`;
  return [...new Set([path(a), path(b), ...(i % 20 === 0 ? [`src/m${(i * 31) % 100}/**`] : [])])];
};

/**
 * A fresh role per repetition (its in-progress count starts at 0) and a fresh project of `size` ready tasks: the
 * children of one root, which stays pending (a parent waits for its children).
 */
const seed = async (baseUrl: string, token: string, label: string, size: number, withFiles = false): Promise<string> => {
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
        maxConcurrentTasks: null,
        restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
      }),
      201,
      'define role',
    );
    const projectId = `claims-${label}`;
    expectStatus(await admin.send('POST', '/projects', { id: projectId, name: `Claims ${label}` }), 201, 'create project');
    const child = (i: number) => ({ title: `claims ${label} ${i + 1}`, ...(withFiles ? { files: filesOfTask(i) } : {}) });
    // A tree holds at most 1,000 tasks: the root and size - 1 children, then the last child on its own.
    const root = { title: `claims ${label} root`, children: Array.from({ length: size - 1 }, (_, i) => child(i)) };
    const tree = expectStatus(await admin.send('POST', '/tasks/tree', { projectId, root }), 201, 'create tree');
    expectStatus(await admin.send('POST', '/tasks', { projectId, parentId: tree.body.rootId, ...child(size - 1) }), 201, 'create the last child');
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

/** The first refusal of a run, on stderr, so a failed row says why. */
const info_ = (message: string): void => void process.stderr.write(`claims bench: ${message}\n`);

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
          if (errors === 1) info_(`claim-next answered HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
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

type FileRound = Round & { completed: number; emptyAnswers: number; skippedAnswers: number; overlapping: number };

/** Claimed tasks' files in the order the project's log has them: claims that overlap another agent's active claim. */
const overlappingActiveClaims = async (client: ReturnType<typeof httpClient>, projectId: string, files: Map<string, string[]>): Promise<number> => {
  const active = new Map<string, string>();
  let overlapping = 0;
  let cursor: string | null = null;
  do {
    const page: Answer = expectStatus(
      await client.send('GET', `/audit/events?projectId=${projectId}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
      200,
      'read the log',
    );
    for (const event of page.body.items as { type: string; data: { taskId: string; agent: string } }[]) {
      if (event.type === 'TaskClaimed') {
        const mine = files.get(event.data.taskId) ?? [];
        for (const [other, agent] of active)
          if (agent !== event.data.agent && mine.some((f) => (files.get(other) ?? []).some((g) => patternsOverlap(f, g)))) overlapping += 1;
        active.set(event.data.taskId, event.data.agent);
      } else if (event.type === 'TaskCompleted' || event.type === 'TaskReleased' || event.type === 'LeaseExpired') active.delete(event.data.taskId);
    }
    cursor = page.body.nextCursor as string | null;
  } while (cursor);
  return overlapping;
};

/** 16 agents claim and complete until every task is done; claim-next latency per request, claims/s over the whole run. */
const claimAndCompleteAll = async (baseUrl: string, token: string, role: string, label: string, size: number): Promise<FileRound> => {
  const projectId = `claims-${label}`;
  const seen = new Set<string>();
  const latencies: number[] = [];
  let duplicates = 0;
  let errors = 0;
  let completed = 0;
  let emptyAnswers = 0;
  let skippedAnswers = 0;
  const agent = async (name: string) => {
    const client = httpClient(baseUrl, token);
    try {
      for (let round = 0; round <= 50 * size && completed < size; round++) {
        const started = nowMs();
        const answer = await client.send('POST', '/tasks/claim-next', { role, agent: name, projectId, leaseSeconds: 3600 });
        latencies.push(nowMs() - started);
        if (answer.status !== 200) {
          errors += 1;
          if (errors === 1) info_(`claim-next answered HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
          return;
        }
        if (answer.body.skipped?.length) skippedAnswers += 1;
        if (!answer.body.claimed) {
          emptyAnswers += 1;
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        const id = (answer.body.task as { id: string }).id;
        if (seen.has(id)) duplicates += 1;
        seen.add(id);
        const done = await client.send('POST', `/tasks/${id}/complete`, { agent: name, output: 'bench' });
        if (done.status === 200) completed += 1;
        else errors += 1;
      }
    } finally {
      client.close();
    }
  };
  const started = nowMs();
  await Promise.all(Array.from({ length: AGENTS }, (_, i) => agent(`bench-agent-${i + 1}`)));
  const seconds = (nowMs() - started) / 1000;
  const admin = httpClient(baseUrl, token);
  try {
    const files = new Map<string, string[]>();
    const tasks = expectStatus(await admin.send('GET', `/tasks?projectId=${projectId}&limit=200&fields=id,files`), 200, 'list tasks');
    let page: Answer = tasks;
    for (;;) {
      for (const t of page.body.items as { id: string; files: string[] }[]) files.set(t.id, t.files);
      if (!page.body.nextCursor) break;
      page = expectStatus(
        await admin.send(
          'GET',
          `/tasks?projectId=${projectId}&limit=200&fields=id,files&cursor=${encodeURIComponent(page.body.nextCursor as string)}`,
        ),
        200,
        'list tasks',
      );
    }
    const overlapping = await overlappingActiveClaims(admin, projectId, files);
    return { claims: seen.size + duplicates, seconds, latencies, duplicates, errors, completed, emptyAnswers, skippedAnswers, overlapping };
  } finally {
    admin.close();
  }
};

/**
 * What a run cost per claim: the server's CPU (all its threads), its API thread's busy time and the agents' CPU (this
 * process), in ms; `loopBusy` is the share of the run the API thread was busy. Read before the run, answered after.
 */
const costOf = async (server: Server) => {
  const before = await server.usage();
  const agentsBefore = process.cpuUsage();
  return async (claims: number, seconds: number) => {
    const after = await server.usage();
    const agents = process.cpuUsage(agentsBefore);
    return {
      serverCpuMs: (after.cpuMicros - before.cpuMicros) / 1000 / claims,
      loopMs: (after.loopActiveMs - before.loopActiveMs) / claims,
      loopBusy: (after.loopActiveMs - before.loopActiveMs) / 1000 / seconds,
      agentsCpuMs: (agents.user + agents.system) / 1000 / claims,
    };
  };
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const server = await startServer();
  const runs: Record<string, number>[] = [];
  const fileRuns: Record<string, number>[] = [];
  try {
    await claimAll(server.baseUrl, server.token, await seed(server.baseUrl, server.token, 'warmup', WARMUP_TASKS), WARMUP_TASKS);
    for (let r = 0; r < opts.reps; r++) {
      const role = await seed(server.baseUrl, server.token, `rep${r + 1}`, TASKS);
      const cost = await costOf(server);
      const result = await claimAll(server.baseUrl, server.token, role, TASKS);
      runs.push({
        ...(await cost(result.claims, result.seconds)),
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
    for (let r = 0; r < opts.reps; r++) {
      const label = `files${r + 1}`;
      const role = await seed(server.baseUrl, server.token, label, TASKS, true);
      const cost = await costOf(server);
      const profiled = server.profile(label);
      const result = await claimAndCompleteAll(server.baseUrl, server.token, role, label, TASKS);
      const profile = await profiled();
      if (profile) info_(`API thread profile of ${label}: ${profile}`);
      fileRuns.push({
        ...(await cost(result.claims, result.seconds)),
        claimsPerSec: result.claims / result.seconds,
        p50: percentile(result.latencies, 50),
        p99: percentile(result.latencies, 99),
        claims: result.claims,
        completed: result.completed,
        duplicates: result.duplicates,
        overlapping: result.overlapping,
        errors: result.errors,
        emptyAnswers: result.emptyAnswers,
        skippedAnswers: result.skippedAnswers,
      });
    }
  } finally {
    await server.close();
  }
  const m = medianOf(runs);
  const sum = (key: string) => runs.reduce((a, r) => a + r[key]!, 0);
  const f = medianOf(fileRuns);
  const fileSum = (key: string) => fileRuns.reduce((a, r) => a + r[key]!, 0);
  return {
    name: 'claims',
    setup: `POST /api/v1/tasks/claim-next, ${AGENTS} agents (own keep-alive client each) draining ${TASKS} ready tasks per rep (then ${TASKS} tasks with overlapping files, each agent claiming and completing), server in a child process, SQLite sync=${process.env.BENCH_SYNC ?? 'full'}, rate limit off (NOT the default: 16 agents share one token), vectors on; median of ${opts.reps}`,
    rows: [
      atLeast('claims/s', round(m.claimsPerSec!, 0), 1000, 'claims/s'),
      info('  spread over reps', spread(runs, 'claimsPerSec')),
      info('claim latency p50', round(m.p50!, 2), 'ms'),
      info('claim latency p90', round(m.p90!, 2), 'ms'),
      info('claim latency p99', round(m.p99!, 2), 'ms'),
      info('claim latency max', round(m.max!, 2), 'ms'),
      info('  per claim: server CPU (all threads) / API thread busy / agents CPU', costRow(m), 'ms'),
      info('  API thread busy, share of the run', `${round(m.loopBusy! * 100, 0)}%`),
      { ...info('tasks claimed (sum over reps)', sum('claims')), ok: runs.every((r) => r.claims === TASKS) },
      { ...info('double claims (sum)', sum('duplicates')), ok: sum('duplicates') === 0 },
      { ...info('non-200 answers (sum)', sum('errors')), ok: sum('errors') === 0 },
      atLeast('with file checks: claims/s (claim + complete loop)', round(f.claimsPerSec!, 0), 1000, 'claims/s'),
      info('  spread over reps', spread(fileRuns, 'claimsPerSec')),
      info('  claim latency p50 / p99', `${round(f.p50!, 2)} / ${round(f.p99!, 2)}`, 'ms'),
      info('  per claim + completion: server CPU / API thread busy / agents CPU', costRow(f), 'ms'),
      info('  API thread busy, share of the run', `${round(f.loopBusy! * 100, 0)}%`),
      { ...info('  tasks completed (sum over reps)', fileSum('completed')), ok: fileRuns.every((r) => (r.completed ?? 0) >= TASKS) },
      { ...info('  double claims (sum)', fileSum('duplicates')), ok: fileSum('duplicates') === 0 },
      { ...info('  overlapping active claims (sum, from the events)', fileSum('overlapping')), ok: fileSum('overlapping') === 0 },
      { ...info('  non-200 answers (sum)', fileSum('errors')), ok: fileSum('errors') === 0 },
      info('  answers naming skipped tasks / empty answers (sum)', `${fileSum('skippedAnswers')} / ${fileSum('emptyAnswers')}`),
    ],
    figures: {
      claimsPerSec: round(m.claimsPerSec!, 0),
      p50Ms: round(m.p50!, 2),
      p90Ms: round(m.p90!, 2),
      p99Ms: round(m.p99!, 2),
      maxMs: round(m.max!, 2),
      duplicates: sum('duplicates'),
      errors: sum('errors'),
      fileClaimsPerSec: round(f.claimsPerSec!, 0),
      fileP99Ms: round(f.p99!, 2),
      fileOverlapping: fileSum('overlapping'),
      fileDuplicates: fileSum('duplicates'),
      serverCpuMsPerClaim: round(m.serverCpuMs!, 3),
      loopMsPerClaim: round(m.loopMs!, 3),
      fileServerCpuMsPerClaim: round(f.serverCpuMs!, 3),
      fileLoopMsPerClaim: round(f.loopMs!, 3),
    },
  };
};
