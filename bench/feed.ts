/**
 * The live feed (docs/feed.md): 1,000 WebSocket subscribers on one project (append → delivered latency), the RSS
 * they cost the server idle, REST p99 with them attached ÷ without, and one subscriber catching up over a long
 * log. Three processes, as in production: the server, the 1,000 subscribers, and this driver (writer, autocannon),
 * so none shares an event loop with what it measures. This file is all three (`FEED_BENCH_ROLE` picks).
 * Runs alone: `npm run bench -- feed [--quick] [--events N]`.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import {
  atLeast,
  forkBenchChild,
  below,
  gc,
  heapMb,
  info,
  median,
  mintTokens,
  nowMs,
  percentile,
  round,
  rssMb,
  setupOf,
  sleep,
  startApp,
  type BenchOptions,
  type Result,
  type Setup,
} from './lib.js';

const SUBSCRIBERS = 1000;
const REST_RATE = 500;
const PROJECT = 'fanout';

// ─── Child processes ─────────────────────────────────────────────────────────────────────────────

/** What the two child processes answer: the type names the answer, the rest is read by the caller. */
type RoleMessage = { type: string } & Record<string, unknown>;

/** One of the bench's own roles (this file, `FEED_BENCH_ROLE`) in a child process. */
const forkRole = async (role: 'server' | 'subscribers') => {
  const child = await forkBenchChild<RoleMessage>(`feed bench ${role}`, fileURLToPath(import.meta.url), {
    env: { ...process.env, FEED_BENCH_ROLE: role },
  });
  return { ...child, request: <T>(message: object, answer: string) => child.request(message, answer) as Promise<RoleMessage & T> };
};

/** The server: a default Vespera (vectors off: the feed does not touch them) that can also grow its log fast. */
const serverRole = async () => {
  process.on('disconnect', () => process.exit(1));
  const app = await startApp({ vectors: 'off' }, true);
  const send = (message: object) => process.send?.(message);
  process.on('message', (message: { type: string; events?: number }) => {
    void (async () => {
      if (message.type === 'build') {
        // Events of task size (~450 bytes) in ten project streams, appended straight to the store in group
        // commits; their type is one no projection handles, so the projectors skip them and stay out of the way.
        const started = nowMs();
        const note = 'n'.repeat(150);
        for (let i = 0; i < (message.events ?? 0); i += 1000) {
          const events = Array.from({ length: Math.min(1000, message.events! - i) }, (_, j) => {
            const n = i + j;
            return {
              id: `feed-bench-${n}`,
              type: 'BenchNoteAdded',
              data: { taskId: `task-${n % 10_000}`, projectId: `bench-${n % 10}`, note, addedAt: new Date().toISOString() },
              metadata: {
                actor: 'agent-07',
                role: 'backend_developer',
                tool: 'rest',
                commandId: `feed-bench-${n}`,
                correlationId: `c-${n}`,
                schemaVersion: 1,
              },
            };
          });
          await app.store.appendToStream(`project-bench-${(i / 1000) % 10}`, events, 'any');
        }
        const head = await app.store.headPosition();
        await app.projector.waitFor(head, 600_000);
        await app.graph.projector.waitFor(head, 600_000);
        send({ type: 'built', head, seconds: (nowMs() - started) / 1000 });
      } else if (message.type === 'cpu') {
        const { user, system } = process.cpuUsage();
        send({ type: 'cpu', cpu: (user + system) / 1e6 });
      } else if (message.type === 'tokens') {
        send({ type: 'tokens', tokens: await mintTokens(app, message.events ?? 1, ['task_reading', 'task_creation']) });
      } else if (message.type === 'rss') {
        gc();
        await sleep(200);
        gc();
        send({ type: 'rss', rssMb: rssMb(), heapMb: heapMb(), feed: app.feed.stats() });
      } else if (message.type === 'stop') {
        await app.close();
        process.exit(0);
      }
    })().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  const { sync, rateLimitPerMinute, vectors, auth } = app.config;
  send({
    type: 'ready',
    port: Number(new URL(app.baseUrl).port),
    token: fs.readFileSync(app.adminTokenFile, 'utf8').trim(),
    config: { sync, rateLimitPerMinute, vectors, auth },
  });
};

const RECORDED_AT = /"recordedAt":"([^"]+)"/;

/** The subscribers: `count` real `ws` clients, each reading every message as a browser tab or agent would. */
const subscribersRole = () => {
  process.on('disconnect', () => process.exit(1));
  const send = (message: object) => process.send?.(message);
  let sockets: WebSocket[] = [];
  let latencies: number[] = [];
  let measuring = false;
  const open = (url: string, token: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const waitFor = (ws: WebSocket, op: string) =>
    new Promise<void>((resolve) => {
      const onMessage = (data: Buffer) => {
        if (data.toString().startsWith(`{"op":"${op}"`)) {
          ws.off('message', onMessage);
          resolve();
        }
      };
      ws.on('message', onMessage);
    });
  process.on('message', (message: { type: string; url?: string; token?: string; count?: number }) => {
    void (async () => {
      if (message.type === 'connect') {
        for (let i = 0; i < message.count!; i += 50) {
          const batch = await Promise.all(Array.from({ length: Math.min(50, message.count! - i) }, () => open(message.url!, message.token!)));
          await Promise.all(
            batch.map(async (ws) => {
              const caughtUp = waitFor(ws, 'caught_up');
              ws.send(JSON.stringify({ op: 'subscribe', id: 'p', projectId: PROJECT }));
              await caughtUp;
              ws.on('message', (data: Buffer) => {
                if (!measuring) return;
                const text = data.toString();
                if (!text.startsWith('{"op":"event"')) return;
                latencies.push(Date.now() - Date.parse(RECORDED_AT.exec(text)![1]!));
              });
            }),
          );
          sockets.push(...batch);
        }
        send({ type: 'connected', count: sockets.length });
      } else if (message.type === 'cpu') {
        const { user, system } = process.cpuUsage();
        send({ type: 'cpu', cpu: (user + system) / 1e6 });
      } else if (message.type === 'measure') {
        latencies = [];
        measuring = true;
        send({ type: 'measuring' });
      } else if (message.type === 'report') {
        measuring = false;
        send({
          type: 'report',
          count: latencies.length,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          max: latencies.reduce((a, b) => Math.max(a, b), 0),
        });
      } else if (message.type === 'catchup') {
        const ws = await open(message.url!, message.token!);
        let events = 0;
        const started = nowMs();
        const done = new Promise<void>((resolve) =>
          ws.on('message', (data: Buffer) => {
            if (data[8] === 0x76 /* {"op":"ev(ent) */) events += 1;
            else if (data.toString().startsWith('{"op":"caught_up"')) resolve();
          }),
        );
        ws.send(JSON.stringify({ op: 'subscribe', id: 'all', fromPosition: 1 }));
        await done;
        const seconds = (nowMs() - started) / 1000;
        ws.close();
        send({ type: 'caughtUp', events, seconds });
      } else if (message.type === 'disconnect') {
        await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.close()))));
        sockets = [];
        send({ type: 'disconnected' });
      } else if (message.type === 'stop') {
        for (const ws of sockets) ws.terminate();
        process.exit(0);
      }
    })().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  send({ type: 'ready' });
};

// ─── The driver ──────────────────────────────────────────────────────────────────────────────────

/** Creates tasks in the fan-out project at `perSecond` until `stop()`; each is one TaskCreated event. */
const writer = (baseUrl: string, headers: Record<string, string>, perSecond: number) => {
  let running = true;
  let written = 0;
  let failure: unknown;
  const done = (async () => {
    while (running) {
      const started = nowMs();
      const response = await fetch(`${baseUrl}/api/v1/tasks`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ projectId: PROJECT, title: `fan-out ${written}` }),
      });
      if (response.status !== 201) throw new Error(`writer: ${response.status} ${await response.text()}`);
      written += 1;
      await sleep(Math.max(0, 1000 / perSecond - (nowMs() - started)));
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    stop: async () => {
      running = false;
      await done;
      if (failure) throw failure;
      return written;
    },
  };
};

/**
 * GET /tasks/:id at a steady REST_RATE over 8 connections (a load the server carries, so p99 shows interference,
 * not saturation), requests spread over `tokens` so the default per-token rate limit holds.
 */
const restP99 = async (baseUrl: string, tokens: readonly string[], taskId: string, seconds: number) => {
  let n = 0;
  const result = await autocannon({
    url: baseUrl,
    connections: 8,
    overallRate: REST_RATE,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        path: `/api/v1/tasks/${taskId}`,
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[n++ % tokens.length]!}` } }),
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`REST run: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { p99: result.latency.p99, p50: result.latency.p50, reqPerSec: result.requests.average };
};

const argValue = (name: string): number | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : undefined;
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const catchUpEvents = argValue('--events') ?? (opts.quick ? 100_000 : 1_000_000);
  const seconds = opts.quick ? 5 : 15;
  const server = await forkRole('server');
  const subscribers = await forkRole('subscribers');
  const baseUrl = `http://127.0.0.1:${server.ready.port as number}`;
  const token = server.ready.token as string;
  const headers = { authorization: `Bearer ${token}` };
  const wsUrl = `${baseUrl.replace('http', 'ws')}/api/v1/ws`;
  const rss = () => server.request<{ rssMb: number; heapMb: number; feed: { connections: number } }>({ type: 'rss' }, 'rss');
  try {
    const project = await fetch(`${baseUrl}/api/v1/projects`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ id: PROJECT, name: 'Fan-out' }),
    });
    if (project.status !== 201) throw new Error(`project: ${project.status}`);
    const task = (await (
      await fetch(`${baseUrl}/api/v1/tasks`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ projectId: 'default', title: 'read by the REST load' }),
      })
    ).json()) as { id: string };

    // Idle cost first, on a quiet server; then delivery latency alone; then REST with and without subscribers,
    // each under the same trickle of writes (10 creates/s, so 10,000 deliveries/s with the subscribers on).
    await sleep(1000);
    const idleBefore = await rss();
    await subscribers.request({ type: 'connect', url: wsUrl, token, count: SUBSCRIBERS }, 'connected');
    await sleep(500);
    const idleAfter = await rss();
    if (idleAfter.feed.connections !== SUBSCRIBERS) throw new Error(`only ${idleAfter.feed.connections} subscribers connected`);

    await subscribers.request({ type: 'measure' }, 'measuring');
    const fanOut = writer(baseUrl, headers, 10);
    await sleep(seconds * 1000);
    const written = await fanOut.stop();
    await sleep(1000);
    const latency = await subscribers.request<{ count: number; p50: number; p99: number; max: number }>({ type: 'report' }, 'report');

    const { tokens } = await server.request<{ tokens: string[] }>({ type: 'tokens', events: 64 }, 'tokens');
    await restP99(baseUrl, tokens, task.id, 2); // warm-up

    // Alternating pairs (with, then without), so drift in the shared machine's load hits both sides alike; the
    // ratio reported is the median of the pairs' ratios. CPU shows who pays for the fan-out.
    const pairs: Array<{ with: number; without: number; ratio: number; serverCpu: number; clientCpu: number }> = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      if (rep > 0) await subscribers.request({ type: 'connect', url: wsUrl, token, count: SUBSCRIBERS }, 'connected');
      const cpuBefore = await server.request<{ cpu: number }>({ type: 'cpu' }, 'cpu');
      const clientBefore = await subscribers.request<{ cpu: number }>({ type: 'cpu' }, 'cpu');
      const loaded = writer(baseUrl, headers, 10);
      const withSubs = await restP99(baseUrl, tokens, task.id, seconds);
      await loaded.stop();
      const cpuAfter = await server.request<{ cpu: number }>({ type: 'cpu' }, 'cpu');
      const clientAfter = await subscribers.request<{ cpu: number }>({ type: 'cpu' }, 'cpu');
      await subscribers.request({ type: 'disconnect' }, 'disconnected');
      const quietBefore = await server.request<{ cpu: number }>({ type: 'cpu' }, 'cpu');
      const quiet = writer(baseUrl, headers, 10);
      const without = await restP99(baseUrl, tokens, task.id, seconds);
      await quiet.stop();
      const quietAfter = await server.request<{ cpu: number }>({ type: 'cpu' }, 'cpu');
      pairs.push({
        with: withSubs.p99,
        without: without.p99,
        ratio: withSubs.p99 / Math.max(1, without.p99),
        serverCpu: (cpuAfter.cpu - cpuBefore.cpu - (quietAfter.cpu - quietBefore.cpu)) / seconds,
        clientCpu: (clientAfter.cpu - clientBefore.cpu) / seconds,
      });
    }
    const mid = <K extends keyof (typeof pairs)[number]>(key: K) => median(pairs.map((p) => p[key]));

    const built = await server.request<{ head: number; seconds: number }>({ type: 'build', events: catchUpEvents }, 'built');
    const caughtUp = await subscribers.request<{ events: number; seconds: number }>({ type: 'catchup', url: wsUrl, token }, 'caughtUp');
    const config = server.ready.config as Setup;
    const ratio = mid('ratio');
    return {
      name: 'feed',
      setup: setupOf(
        config,
        `${SUBSCRIBERS} WebSocket subscribers in their own process, TaskCreated over REST at 10/s, REST load = GET /tasks/:id at ${REST_RATE}/s over 8 connections for ${seconds} s, latency, RSS and catch-up one run, REST ${opts.reps} alternating pairs`,
      ),
      rows: [
        below(`${SUBSCRIBERS} subscribers: append → delivered, p99`, latency.p99, 50, 'ms'),
        info('  p50 / max', `${latency.p50} / ${latency.max} ms`),
        info('  deliveries measured (events × subscribers)', `${latency.count.toLocaleString('en-US')} (${written} × ${SUBSCRIBERS})`),
        atLeast(
          `catch-up from position 0 over ${catchUpEvents.toLocaleString('en-US')} events`,
          round(caughtUp.events / caughtUp.seconds, 0),
          50_000,
          'events/s',
        ),
        info('  events delivered / log built in', `${caughtUp.events.toLocaleString('en-US')} / ${round(built.seconds, 1)} s`),
        below(`server RSS growth, ${SUBSCRIBERS} idle subscribers`, round(idleAfter.rssMb - idleBefore.rssMb, 1), 100, 'MB'),
        info(
          '  RSS before / after, heap growth',
          `${idleBefore.rssMb} / ${idleAfter.rssMb} MB, ${round(idleAfter.heapMb - idleBefore.heapMb, 1)} MB`,
        ),
        below(`REST p99 with ${SUBSCRIBERS} subscribers ÷ without`, round(ratio, 2), 1.5),
        info('  REST p99 without / with (median of pairs)', `${mid('without')} / ${mid('with')} ms`),
        info('  pairs: ratio each', pairs.map((p) => round(p.ratio, 2)).join(', ')),
        info('  CPU of the fan-out: server / subscribers', `${round(mid('serverCpu') * 100, 0)}% / ${round(mid('clientCpu') * 100, 0)}% of a core`),
      ],
      figures: {
        deliveryP99Ms: latency.p99,
        deliveryP50Ms: latency.p50,
        catchUpEventsPerSec: round(caughtUp.events / caughtUp.seconds, 0),
        idleRssGrowthMb: round(idleAfter.rssMb - idleBefore.rssMb, 1),
        restP99Ratio: round(ratio, 2),
        restP99WithoutMs: mid('without'),
        restP99WithMs: mid('with'),
      },
    };
  } finally {
    await subscribers.close();
    await server.close();
  }
};

if (process.env.FEED_BENCH_ROLE === 'server') {
  serverRole().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (process.env.FEED_BENCH_ROLE === 'subscribers') {
  subscribersRole();
}
