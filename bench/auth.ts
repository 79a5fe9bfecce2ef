/**
 * 8. Authentication overhead and role-assignment validation.
 *  - GET /api/v1/tasks/:id req/s with a valid plugin token against the same call on a server with auth
 *    disabled (`auth: false`), each server in its own child process (this file, forked), same run,
 *    alternating, median of `reps`; the ratio must stay ≥ 0.8.
 *  - AssignRole decisions/s with validation, in-process: dry runs that pass, dry runs that are refused
 *    (every reason computed), and real assignments (appended, SQLite sync=full).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { TreeInput } from '../src/commands/project/commands.js';
import { DomainError } from '../src/errors.js';
import {
  atLeast,
  info,
  medianOf,
  meta,
  mintTokens,
  nowMs,
  round,
  setupOf,
  spread,
  startApp,
  type BenchApp,
  type BenchOptions,
  type Result,
  type Setup,
} from './lib.js';

const CONNECTIONS = 32;
const CHILD_FLAG = 'VESPERA_BENCH_AUTH_SERVER';

type Ready = { type: 'ready'; port: number; ids: string[]; tokens: string[]; config: Setup };

/** More tokens than the authorizer's 10,000-entry signature cache: cycled in order, every request verifies a signature. */
const ROTATING_TOKENS = 12_000;

// ─── Child: one server, auth on or off, seeded with tasks ────────────────────────────────────────

/** A tree of `size` nodes: a root and its direct children, each needing code_writing on one file. */
const flatTree = (size: number, label: string): TreeInput => ({
  title: `${label} root`,
  children: Array.from({ length: size - 1 }, (_, i) => ({
    title: `${label} ${i}`,
    files: [`src/${label.replace(/\W/g, '_')}/${i}.ts`],
    requiredCapabilities: ['code_writing'],
  })),
});

const seed = async (app: BenchApp, trees: number, size: number): Promise<string[]> => {
  const ids: string[] = [];
  for (let t = 0; t < trees; t++) {
    const result = await app.commands.createTaskTree({ root: flatTree(size, `auth bench ${t}`) }, meta());
    await app.projector.waitFor(result.position, 60_000);
    for (const e of result.events) if (e.type === 'TaskCreated') ids.push((e.data as { taskId: string }).taskId);
  }
  return ids;
};

const serveChild = async (auth: boolean): Promise<void> => {
  // Rate limits off (the auth-off server has no token to count by); vectors off (seeding would start minutes of embedding).
  const app = await startApp({ auth, rateLimitPerMinute: 0, anonymousRateLimitPerMinute: 0, sync: 'full', vectors: 'off' }, true);
  const ids = await seed(app, Number(process.env.BENCH_AUTH_TREES ?? 10), 1000);
  const tokens = auth ? await mintTokens(app, ROTATING_TOKENS, ['task_reading']) : [];
  const { sync, rateLimitPerMinute, vectors } = app.config;
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    void app.close().then(() => process.exit(0));
  });
  process.send?.({
    type: 'ready',
    port: Number(new URL(app.baseUrl).port),
    ids,
    tokens,
    config: { sync, rateLimitPerMinute, vectors, auth },
  } satisfies Ready);
};

if (process.env[CHILD_FLAG]) {
  serveChild(process.env[CHILD_FLAG] === 'on').catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

// ─── Parent: load generation and the in-process AssignRole measurement ─────────────────────────────

type Server = Ready & { baseUrl: string; close: () => Promise<void> };

const startServer = (auth: boolean, trees: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, [CHILD_FLAG]: auth ? 'on' : 'off', BENCH_AUTH_TREES: String(trees) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const onExit = (code: number | null) => reject(new Error(`auth bench server (auth ${auth ? 'on' : 'off'}) exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.once('message', (ready: Ready) => {
      child.off('exit', onExit);
      resolve({
        ...ready,
        baseUrl: `http://127.0.0.1:${ready.port}`,
        close: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.send({ type: 'stop' });
            setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
          }),
      });
    });
  });

/** `tokens`: none (auth off), one (its signature cached after the first request) or many, cycled (never cached). */
const getTasks = async (server: Server, seconds: number, tokens: readonly string[]) => {
  const { ids } = server;
  let n = 0;
  const result = await autocannon({
    url: server.baseUrl,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        path: '/api/v1/tasks/x',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, ...(tokens.length ? { authorization: `Bearer ${tokens[n++ % tokens.length]!}` } : {}) },
          path: `/api/v1/tasks/${ids[Math.floor(Math.random() * ids.length)]!}`,
        }),
      },
    ],
  });
  return { reqPerSec: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
};

/** Runs `decide` on every task id; refusals (ROLE_VALIDATION_ERROR) count as decisions too. */
const decisionsPerSecond = async (ids: readonly string[], decide: (id: string) => Promise<unknown>) => {
  let refused = 0;
  const started = nowMs();
  for (const id of ids) {
    try {
      await decide(id);
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'ROLE_VALIDATION_ERROR')) throw error;
      refused += 1;
    }
  }
  return { perSec: ids.length / ((nowMs() - started) / 1000), refused };
};

const assignRoles = async (opts: BenchOptions) => {
  const trees = opts.quick ? 1 : 3;
  const app = await startApp({ rateLimitPerMinute: 0, anonymousRateLimitPerMinute: 0, sync: 'full', vectors: 'off' });
  const runs: Record<string, number>[] = [];
  let tasks = 0;
  try {
    const all = await seed(app, trees, 1000);
    tasks = all.length;
    const work = all.filter((_, i) => i % 1000 !== 0); // the roots need nothing
    await decisionsPerSecond(work.slice(0, 200), (id) => app.commands.assignRole(id, 'coder', meta(), true)); // warm-up
    for (let r = 0; r < opts.reps; r++) {
      const dryOk = await decisionsPerSecond(work, (id) => app.commands.assignRole(id, 'coder', meta(), true));
      const dryRefused = await decisionsPerSecond(work, (id) => app.commands.assignRole(id, 'reviewer', meta(), true));
      if (dryOk.refused !== 0 || dryRefused.refused !== work.length) throw new Error('AssignRole bench: unexpected validation outcome');
      // Real assignments alternate between two fitting roles so every one appends a RoleAssigned.
      const role = r % 2 === 0 ? 'backend_developer' : 'debugger';
      const slice = work.slice(0, opts.quick ? 300 : 1000);
      const appended = await decisionsPerSecond(slice, (id) => app.commands.assignRole(id, role, meta()));
      runs.push({ dryOk: dryOk.perSec, dryRefused: dryRefused.perSec, appended: appended.perSec });
    }
  } finally {
    await app.close();
  }
  return { runs, tasks };
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const seconds = opts.quick ? 2 : 5;
  const trees = opts.quick ? 2 : 10;
  const [on, off] = await Promise.all([startServer(true, trees), startServer(false, trees)]);
  const withAuth: Record<string, number>[] = [];
  const oneToken: Record<string, number>[] = [];
  const without: Record<string, number>[] = [];
  try {
    await getTasks(on, 1, on.tokens.slice(0, 1)); // warm-up (JIT)
    await getTasks(off, 1, []);
    for (let r = 0; r < opts.reps; r++) {
      withAuth.push(await getTasks(on, seconds, on.tokens));
      oneToken.push(await getTasks(on, seconds, on.tokens.slice(0, 1)));
      without.push(await getTasks(off, seconds, []));
    }
  } finally {
    await Promise.all([on.close(), off.close()]);
  }
  const a = medianOf(withAuth);
  const one = medianOf(oneToken);
  const b = medianOf(without);
  const ratio = round(a.reqPerSec! / b.reqPerSec!, 3);
  const assign = await assignRoles(opts);
  const m = medianOf(assign.runs);
  const non2xx = [...withAuth, ...oneToken, ...without].reduce((sum, x) => sum + x.non2xx!, 0);
  return {
    name: 'auth',
    setup: `GET /api/v1/tasks/:id (random of ${on.ids.length.toLocaleString('en-US')} tasks) with ${ROTATING_TOKENS.toLocaleString('en-US')} HS256 tokens cycled (each request verifies a signature) and with one token (cached), vs a server with auth: false; ${setupOf(on.config, 'HTTP to child processes')}; autocannon ${CONNECTIONS} connections × ${seconds}s, alternating; AssignRole in-process on ${assign.tasks.toLocaleString('en-US')} tasks; median of ${opts.reps}`,
    rows: [
      info('GET, tokens rotating (signature verified every request): requests/s', round(a.reqPerSec!, 0), 'req/s'),
      info('  spread over reps', spread(withAuth, 'reqPerSec')),
      info('GET, tokens rotating: p50 / p99', `${a.p50!} / ${a.p99!} ms`),
      info('GET, one token (signature cached): requests/s', round(one.reqPerSec!, 0), 'req/s'),
      info('GET, auth disabled: requests/s', round(b.reqPerSec!, 0), 'req/s'),
      info('  spread over reps', spread(without, 'reqPerSec')),
      info('GET, auth disabled: p50 / p99', `${b.p50!} / ${b.p99!} ms`),
      atLeast('ratio tokens rotating / auth disabled', ratio, 0.8),
      { ...info('non-2xx (sum)', non2xx), ok: non2xx === 0 },
      info('AssignRole dry run, accepted: decisions/s', round(m.dryOk!, 0), '/s'),
      info('AssignRole dry run, refused (all reasons): decisions/s', round(m.dryRefused!, 0), '/s'),
      info('AssignRole appended (RoleAssigned, fsync): decisions/s', round(m.appended!, 0), '/s'),
    ],
    figures: {
      getWithTokenReqPerSec: round(a.reqPerSec!, 0),
      getOneTokenReqPerSec: round(one.reqPerSec!, 0),
      getAuthDisabledReqPerSec: round(b.reqPerSec!, 0),
      authRatio: ratio,
      withTokenP99Ms: a.p99!,
      authDisabledP99Ms: b.p99!,
      assignDryRunPerSec: round(m.dryOk!, 0),
      assignDryRunRefusedPerSec: round(m.dryRefused!, 0),
      assignAppendedPerSec: round(m.appended!, 0),
    },
  };
};
