/** MCP: get_task calls/s and p99 over stdio (spawned `vespera mcp`), over stdio bridged to a running server, and over Streamable HTTP (/mcp), and tools/list tokens per tool set. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
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

/** `vespera serve` in a child process on a free port; its address is read from the startup log line. */
const withServe = async <T>(label: string, body: (url: string, dir: string) => Promise<T>): Promise<T> => {
  const { dir, remove } = tempDir(label);
  const child = spawn(process.execPath, [...CLI, 'serve'], {
    cwd: ROOT,
    env: { ...env(dir), VESPERA_LOG_LEVEL: 'info', VESPERA_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let log = '';
      child.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(log);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`vespera serve exited (${code}): ${log.slice(-2000)}`)));
    });
    return await body(url, dir);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    remove();
  }
};

const overHttp = (calls: number, reps: number) =>
  withServe('mcp-http', (url, dir) => {
    const token = fs.readFileSync(path.join(dir, 'admin.token'), 'utf8').trim();
    const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    return session(transport, calls, reps, () => settled(url, token));
  });

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
  const http = await overHttp(opts.quick ? 500 : 2_000, opts.reps);
  const bridged = await overBridge(calls, opts.reps);
  const sets = await toolListSizes();
  const s = medianOf(stdio);
  const h = medianOf(http);
  const b = medianOf(bridged);
  return {
    name: 'mcp',
    setup: `get_task on random ids of ${TASKS.toLocaleString('en-US')} tasks, sequential calls from the SDK Client: stdio to a spawned \`vespera mcp\` (${calls.toLocaleString('en-US')} calls), Streamable HTTP to a spawned \`vespera serve\` /mcp (stateless, bearer token); stdio to a second \`vespera mcp\` bridged to a running \`vespera serve\` over its MCP socket; both server runs measured once the server has embedded the new tasks; each with its command's defaults (both sync=full; vespera mcp: vectors off, no HTTP rate limit; vespera serve: vectors on, 12,000/min per token); median of ${opts.reps}`,
    rows: [
      atLeast('stdio get_task calls/s', s.callsPerSec!, 2_000, 'calls/s'),
      info('stdio p50', s.p50!, 'ms'),
      below('stdio p99', s.p99!, 2, 'ms'),
      info('  p99 spread over reps', spread(stdio, 'p99')),
      atLeast('stdio bridged to a server, get_task calls/s', b.callsPerSec!, 1_000, 'calls/s'),
      info('bridged p50', b.p50!, 'ms'),
      below('bridged p99', b.p99!, 5, 'ms'),
      info('  p99 spread over reps', spread(bridged, 'p99')),
      atLeast('HTTP get_task calls/s', h.callsPerSec!, 500, 'calls/s'),
      info('HTTP p50', h.p50!, 'ms'),
      below('HTTP p99', h.p99!, 10, 'ms'),
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
      ...Object.fromEntries(
        sets.flatMap((t) => [
          [`${t.set}Tokens`, t.tokens],
          [`${t.set}Tools`, t.tools],
        ]),
      ),
    },
  };
};
