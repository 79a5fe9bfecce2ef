/**
 * MCP: get_task calls/s and p99 over stdio (spawned `vespera mcp`), over stdio bridged to a running server, over
 * Streamable HTTP (/mcp) in a session and without one, the HTTP client's own ceiling, and tools/list tokens per tool set.
 */
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { servedTools, mcpTools } from '../src/api/mcp/tools.js';
import { selectTools, TOOL_SET_NAMES, budgetOf } from '../src/api/mcp/toolSets.js';
import {
  atLeast,
  below,
  info,
  makeTree,
  medianOf,
  nowMs,
  percentile,
  round,
  spread,
  startApp,
  tempDir,
  type BenchOptions,
  type Result,
} from './lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = ['--import', 'tsx', path.join(ROOT, 'src/cli.ts')];
const env = (dataDir: string) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  VESPERA_DATA_DIR: dataDir,
  VESPERA_LOG_LEVEL: 'warn',
});

const TASKS = 1000;

// The SDK's HTTP client hands one long-lived AbortSignal to every fetch, and Node's fetch lets go of its listener only
// when the request is collected: past 1,500 each call printed a MaxListenersExceededWarning, measured with the calls.
setMaxListeners(0);

/** Sequential get_task calls on random ids: one in flight at a time, as an agent makes them. */
const measure = async (client: Client, ids: readonly string[], calls: number) => {
  const latencies: number[] = [];
  const started = nowMs();
  for (let i = 0; i < calls; i++) {
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    const t0 = nowMs();
    const result = await client.callTool({ name: 'get_task', arguments: { id } });
    latencies.push(nowMs() - t0);
    if (result.isError) throw new Error(`get_task refused: ${JSON.stringify(result.content)}`);
  }
  return {
    callsPerSec: round(calls / ((nowMs() - started) / 1000), 0),
    p50: round(percentile(latencies, 50), 3),
    p99: round(percentile(latencies, 99), 3),
  };
};

/** Until every projector of the server has applied the log (the 1,000 new tasks' embeddings included), at most 3 min. */
const settled = async (url: string, token: string) => {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const health = (await (await fetch(`${url}/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      projectors?: Array<{ lag: number }>;
    };
    if (health.projectors?.every((p) => p.lag === 0)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the server did not catch up within 3 min');
};

const session = async (transport: Transport, calls: number, reps: number, settle: () => Promise<void> = async () => undefined) => {
  const client = new Client({ name: 'vespera-bench', version: '1.0.0' });
  await client.connect(transport);
  try {
    const root = makeTree(TASKS, 'mcp bench');
    const created = await client.callTool({ name: 'create_task_tree', arguments: { root } });
    const ids = (created.structuredContent as { taskIds: string[] }).taskIds;
    if (ids?.length !== TASKS) throw new Error(`create_task_tree made ${ids?.length} tasks: ${JSON.stringify(created.content).slice(0, 300)}`);
    // A server embeds the new tasks in the background: measured once it is done, so the figure is the transport's.
    await settle();
    await measure(client, ids, Math.min(500, calls)); // warm-up (JIT, statement cache)
    const runs: Record<string, number>[] = [];
    for (let r = 0; r < reps; r++) runs.push(await measure(client, ids, calls));
    return runs;
  } finally {
    await client.close();
  }
};

const overStdio = async (calls: number, reps: number) => {
  const { dir, remove } = tempDir('mcp-stdio');
  try {
    const transport = new StdioClientTransport({ command: process.execPath, args: [...CLI, 'mcp'], cwd: ROOT, env: env(dir), stderr: 'ignore' });
    return await session(transport, calls, reps);
  } finally {
    remove();
  }
};

/**
 * `vespera serve` in a child process on a free port; its address is read from the startup log line. Its log (an access
 * line per request at info) is drained unread afterwards, so the bench's own process does no work per line.
 */
const withServe = async <T>(label: string, body: (url: string, dir: string) => Promise<T>, extraEnv: Record<string, string> = {}): Promise<T> => {
  const { dir, remove } = tempDir(label);
  const child = spawn(process.execPath, [...CLI, 'serve'], {
    cwd: ROOT,
    env: { ...env(dir), VESPERA_LOG_LEVEL: 'info', VESPERA_PORT: '0', ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let log = '';
      const read = (chunk: Buffer) => {
        log += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(log);
        if (!match) return;
        child.stderr.off('data', read);
        child.stderr.resume();
        resolve(match[1]!);
      };
      child.stderr.on('data', read);
      child.once('exit', (code) => reject(new Error(`vespera serve exited (${code}): ${log.slice(-2000)}`)));
    });
    return await body(url, dir);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    remove();
  }
};

/**
 * The SDK client over Streamable HTTP. With sessions on (the default) its initialize opens a session and every call
 * carries Mcp-Session-Id; with VESPERA_MCP_SESSIONS=off each call is a stateless request, served by a pooled server.
 */
const overHttp = (calls: number, reps: number, sessions: 'on' | 'off') =>
  withServe(
    `mcp-http-${sessions}`,
    (url, dir) => {
      const token = fs.readFileSync(path.join(dir, 'admin.token'), 'utf8').trim();
      const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
      return session(transport, calls, reps, () => settled(url, token));
    },
    { VESPERA_MCP_SESSIONS: sessions },
  );

/**
 * The same client and calls against an endpoint that answers at once (a canned get_task answer, no Vespera): what the
 * client side of one HTTP call costs here, which bounds every HTTP figure above.
 */
const httpClientCeiling = async (calls: number, reps: number) => {
  const answer = (id: unknown, result: unknown) => JSON.stringify({ jsonrpc: '2.0', id, result });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const message =
        chunks.length > 0
          ? (JSON.parse(Buffer.concat(chunks).toString()) as { id?: unknown; method: string; params?: { protocolVersion?: string } })
          : undefined;
      if (message?.id === undefined) return void res.writeHead(message ? 202 : 405).end();
      const result =
        message.method === 'initialize'
          ? { protocolVersion: message.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'ceiling', version: '1' } }
          : { content: [{ type: 'text', text: 't0 pending: ceiling' }], structuredContent: { id: 't0', title: 'ceiling', status: 'pending' } };
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'ceiling' }).end(answer(message.id, result));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const client = new Client({ name: 'vespera-bench', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    try {
      const ids = ['t0'];
      await measure(client, ids, Math.min(500, calls));
      const runs: Record<string, number>[] = [];
      for (let r = 0; r < reps; r++) runs.push(await measure(client, ids, calls));
      return runs;
    } finally {
      await client.close();
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
};

/** A second `vespera mcp` beside a running server: its stdio bridged to the server's MCP socket. */
const overBridge = (calls: number, reps: number) =>
  withServe('mcp-bridge', (url, dir) => {
    const token = fs.readFileSync(path.join(dir, 'admin.token'), 'utf8').trim();
    const transport = new StdioClientTransport({ command: process.execPath, args: [...CLI, 'mcp'], cwd: ROOT, env: env(dir), stderr: 'ignore' });
    return session(transport, calls, reps, () => settled(url, token));
  });

const toolListSizes = async () => {
  const app = await startApp({ sync: 'normal' });
  try {
    return TOOL_SET_NAMES.map((set) => {
      const served = servedTools(app.operations, set);
      const full = mcpTools(selectTools(app.operations, set)).tokens;
      return { set, tools: served.list.length, tokens: served.tokens, full, budget: budgetOf(set), detail: served.detail };
    });
  } finally {
    await app.close();
  }
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const calls = opts.quick ? 1_000 : 5_000;
  const stdio = await overStdio(calls, opts.reps);
  const httpCalls = opts.quick ? 500 : 2_000;
  const inSession = await overHttp(httpCalls, opts.reps, 'on');
  const stateless = await overHttp(httpCalls, opts.reps, 'off');
  const ceiling = await httpClientCeiling(httpCalls, opts.reps);
  const bridged = await overBridge(calls, opts.reps);
  const sets = await toolListSizes();
  const s = medianOf(stdio);
  const h = medianOf(inSession);
  const hs = medianOf(stateless);
  const c = medianOf(ceiling);
  const b = medianOf(bridged);
  return {
    name: 'mcp',
    setup: `get_task on random ids of ${TASKS.toLocaleString('en-US')} tasks, sequential calls from the SDK Client: stdio to a spawned \`vespera mcp\` (${calls.toLocaleString('en-US')} calls), Streamable HTTP to a spawned \`vespera serve\` /mcp with a bearer token (${httpCalls.toLocaleString('en-US')} calls), in a session (the default: the SDK client keeps Mcp-Session-Id) and stateless (VESPERA_MCP_SESSIONS=off: pooled servers), and the same client against a do-nothing endpoint; stdio to a second \`vespera mcp\` bridged to a running \`vespera serve\` over its MCP socket; both server runs measured once the server has embedded the new tasks; each with its command's defaults (both sync=full; vespera mcp: vectors off, no HTTP rate limit; vespera serve: vectors on, 12,000/min per token); median of ${opts.reps}`,
    rows: [
      atLeast('stdio get_task calls/s', s.callsPerSec!, 5_000, 'calls/s'),
      info('stdio p50', s.p50!, 'ms'),
      below('stdio p99', s.p99!, 2, 'ms'),
      info('  p99 spread over reps', spread(stdio, 'p99')),
      atLeast('stdio bridged to a server, get_task calls/s', b.callsPerSec!, 1_000, 'calls/s'),
      info('bridged p50', b.p50!, 'ms'),
      below('bridged p99', b.p99!, 5, 'ms'),
      info('  p99 spread over reps', spread(bridged, 'p99')),
      atLeast('HTTP (session) get_task calls/s', h.callsPerSec!, 2_000, 'calls/s'),
      info('HTTP (session) p50', h.p50!, 'ms'),
      below('HTTP (session) p99', h.p99!, 10, 'ms'),
      info('  p99 spread over reps', spread(inSession, 'p99')),
      atLeast('HTTP (stateless) get_task calls/s', hs.callsPerSec!, 2_000, 'calls/s'),
      info('HTTP (stateless) p50', hs.p50!, 'ms'),
      below('HTTP (stateless) p99', hs.p99!, 10, 'ms'),
      info('HTTP client alone (do-nothing endpoint) calls/s', c.callsPerSec!, 'calls/s'),
      info('HTTP client alone p50', c.p50!, 'ms'),
      ...sets.map((t) => ({
        ...below(`tools/list ${t.set} (${t.tools} tools, ${t.detail}; ${t.full.toLocaleString('en-US')} in full)`, t.tokens, t.budget + 1, 'tokens'),
        target: `≤ ${t.budget.toLocaleString('en-US')}`,
      })),
    ],
    figures: {
      stdioCallsPerSec: s.callsPerSec!,
      stdioP50Ms: s.p50!,
      stdioP99Ms: s.p99!,
      bridgeCallsPerSec: b.callsPerSec!,
      bridgeP50Ms: b.p50!,
      bridgeP99Ms: b.p99!,
      httpCallsPerSec: h.callsPerSec!,
      httpP50Ms: h.p50!,
      httpP99Ms: h.p99!,
      httpStatelessCallsPerSec: hs.callsPerSec!,
      httpStatelessP50Ms: hs.p50!,
      httpStatelessP99Ms: hs.p99!,
      httpClientCeilingCallsPerSec: c.callsPerSec!,
      httpClientCeilingP50Ms: c.p50!,
      ...Object.fromEntries(
        sets.flatMap((t) => [
          [`${t.set}Tokens`, t.tokens],
          [`${t.set}Tools`, t.tools],
        ]),
      ),
    },
  };
};
