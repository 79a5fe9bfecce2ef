import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { api, type JsonResponse } from '../support/testApp.js';
import type { Server } from '../support/serveProcess.js';
import { freePort } from '../../src/util/freePort.js';

/**
 * What the endurance suite (`npm run soak`, test/soak/*.soak.ts) shares: its size knobs, its results (a markdown table on
 * stderr and a JSON line in SOAK_RESULTS), and the real processes it starts and stops (Redis, PostgreSQL, `vespera
 * verify`). Everything listens on 127.0.0.1; the machine's shared Redis (6379) and PostgreSQL (5432) are never touched.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** A positive number from the environment, or `fallback`. */
export const knob = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

export const SOAK_RESULTS = process.env.SOAK_RESULTS || path.join(os.tmpdir(), 'vespera-soak.jsonl');

export type Row = Record<string, string | number | boolean>;

/** Prints `rows` as a markdown table under `title` on stderr and appends one JSON line to SOAK_RESULTS. */
export const report = (scenario: string, title: string, rows: Row[], extra: Record<string, unknown> = {}): void => {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v ?? ''));
  const table = [
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${columns.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
  process.stderr.write(`\n### ${title} (${new Date().toISOString().slice(0, 16)}Z)\n\n${table}\n\n`);
  fs.appendFileSync(SOAK_RESULTS, `${JSON.stringify({ scenario, title, at: new Date().toISOString(), rows, ...extra })}\n`);
};

/** The `p`th percentile (0–100) of `values`, nearest rank; 0 when empty. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

/** Resident memory of process `pid` in MB, from /proc (Linux). */
export const rssMb = (pid: number): number => {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
};

export const tempDir = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `vespera-soak-${label}-`));

/** The environment every soak server runs with: no rate limit (the load is the point), vectors off unless asked. */
export const SOAK_ENV: Record<string, string> = { VESPERA_RATE_LIMIT_PER_MINUTE: '0' };

/** A call of the REST API as the server's administrator. */
export const call = (server: Server, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> =>
  api(server.baseUrl, method, `/api/v1${url}`, body, { ...server.auth, ...headers });

/** /health as the administrator sees it. */
export const health = async (server: Server): Promise<JsonResponse> => api(server.baseUrl, 'GET', '/health', undefined, server.auth);

/** The position of the newest event in the log. */
export const headPosition = async (server: Server): Promise<number> => Number((await health(server)).body.eventStore.headPosition);

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export const stopServer = async (server: Server | undefined, graceMs = 30_000): Promise<void> => {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
  await server.exited;
  clearTimeout(timer);
};

/** `vespera verify --json` on `dataDir` as its own process (the running server, named in server.json, does the check). */
export const verify = async (dataDir: string, extraEnv: Record<string, string> = {}): Promise<{ code: number; report: string }> => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_')));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'verify', '--json'], {
      cwd: REPO,
      env: { ...env, VESPERA_DATA_DIR: dataDir, VESPERA_LOG_LEVEL: 'warn', ...extraEnv },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 180_000,
    });
    return { code: 0, report: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, report: `${failed.stdout ?? ''}\n${failed.stderr ?? ''}`.slice(-4000) };
  }
};

/** Every event of the log from `from` on, by position, through GET /audit/events (an administrator sees all of it). */
export const readLog = async (server: Server, from = 1): Promise<Map<number, { type: string; streamId: string; data: Record<string, unknown> }>> => {
  const events = new Map<number, { type: string; streamId: string; data: Record<string, unknown> }>();
  let cursor: string | null = null;
  do {
    const page: JsonResponse = await call(
      server,
      'GET',
      `/audit/events?fromPosition=${from}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (page.status !== 200) throw new Error(`GET /audit/events answered ${page.status}: ${JSON.stringify(page.body)}`);
    for (const e of page.body.items as Array<{ position: number; type: string; streamId: string; data: Record<string, unknown> }>)
      events.set(e.position, { type: e.type, streamId: e.streamId, data: e.data });
    cursor = page.body.nextCursor as string | null;
  } while (cursor);
  return events;
};

/** The SDK's own MCP Client over Streamable HTTP, as an agent connects to /mcp. */
export const mcpClient = async (server: Server, name: string): Promise<Client> => {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/mcp`), { requestInit: { headers: server.auth } }));
  return client;
};

/** A role any task fits, with room for every agent of a scenario. */
export const SOAK_ROLE = {
  name: 'soak_worker',
  description: 'Any task; room for every agent of the endurance suite.',
  capabilities: ['code_writing'],
  filePatterns: ['**/*'],
  tools: ['read_file'],
  maxConcurrentTasks: 1000,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

/**
 * A PostgreSQL of the suite's own: initdb into a temp directory (as the `postgres` user when this runs as root, which
 * initdb refuses), trust auth, a socket directory of its own, database `test`. `restart()` is `pg_ctl restart -m fast`.
 */
export const ownPostgres = async () => {
  const bin = fs.existsSync('/usr/lib/postgresql/15/bin/initdb') ? '/usr/lib/postgresql/15/bin' : '';
  const tool = (name: string) => (bin ? path.join(bin, name) : name);
  const root = tempDir('pg');
  const dataDir = path.join(root, 'data');
  const socketDir = path.join(root, 'socket');
  fs.mkdirSync(socketDir);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = await run('id', ['-u', 'postgres']).then(async ({ stdout }) => ({
      uid: Number(stdout.trim()),
      gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
    }));
    fs.chownSync(root, uid, gid);
    fs.chownSync(socketDir, uid, gid);
  }
  const as = (command: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args));
  const port = await freePort();
  await as(tool('initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=on`;
  const ctl = (action: string, ...more: string[]) =>
    as(tool('pg_ctl'), [action, '-D', dataDir, '-w', '-t', '60', '-l', path.join(root, 'log'), ...more]);
  await ctl('start', '-o', options);
  await as(tool('createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'test']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    restart: () => ctl('restart', '-m', 'fast', '-o', options),
    stop: () => ctl('stop', '-m', 'immediate').catch(() => undefined),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
};

export { sleep };
