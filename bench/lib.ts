/** Shared helpers for the benches: options, results, tables, statistics, temp dirs and apps. */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { createApp, type App } from '../src/app.js';
import type { TreeInput, RequestMeta } from '../src/commands/project/commands.js';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';

// ─── Options and results ─────────────────────────────────────────────────────────────────────────

export type BenchOptions = Readonly<{
  /** Shrinks every size for a smoke run. */
  quick: boolean;
  /** Repetitions whose median is reported. */
  reps: number;
}>;

export type Row = Readonly<{
  measure: string;
  value: number | string;
  unit?: string;
  /** Human-readable target, e.g. "≥ 20,000". */
  target?: string;
  ok?: boolean;
}>;

export type Result = Readonly<{
  name: string;
  /** One line describing what ran (store durability, sizes, concurrency). */
  setup: string;
  rows: readonly Row[];
  /** Machine-readable figures (medians) for --json. */
  figures: Record<string, number>;
}>;

export const passed = (result: Result): boolean => result.rows.every((r) => r.ok !== false);

/** A row with a target: `atLeast` / `below` compare the median against the target. */
export const atLeast = (measure: string, value: number, target: number, unit = ''): Row => ({
  measure,
  value,
  unit,
  target: `≥ ${fmt(target)}`,
  ok: value >= target,
});
export const below = (measure: string, value: number, target: number, unit = ''): Row => ({
  measure,
  value,
  unit,
  target: `< ${fmt(target)}`,
  ok: value < target,
});
export const info = (measure: string, value: number | string, unit = ''): Row => ({ measure, value, unit });

// ─── Statistics ──────────────────────────────────────────────────────────────────────────────────

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export const percentile = (samples: readonly number[], p: number): number => {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
};
export const mean = (samples: readonly number[]): number => samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
export const median = (values: readonly number[]): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Medians, key by key, of several repetitions' figures. */
export const medianOf = (runs: readonly Record<string, number>[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0] ?? {})) out[key] = median(runs.map((r) => r[key]!).filter((v) => Number.isFinite(v)));
  return out;
};

/** Spread of a figure over repetitions, for the table: "min–max". */
export const spread = (runs: readonly Record<string, number>[], key: string): string => {
  const values = runs.map((r) => r[key]!).filter((v) => Number.isFinite(v));
  return values.length > 1 ? `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}` : '';
};

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
export const rssMb = (): number => round(process.memoryUsage().rss / 1048576, 1);
export const heapMb = (): number => round(process.memoryUsage().heapUsed / 1048576, 1);
export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A full GC before a measurement (exposed at runtime: the npm script cannot pass --expose-gc). */
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;
export const gc = (): void => collect();

// ─── Tables ──────────────────────────────────────────────────────────────────────────────────────

export const fmt = (value: number | string): string => {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toPrecision(3);
};

export const printTable = (title: string, headers: readonly string[], rows: ReadonlyArray<readonly string[]>): void => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(`|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows) console.log(line(row));
};

export const printResult = (result: Result): void => {
  printTable(
    `## ${result.name} — ${result.setup}`,
    ['measure', 'value', 'target', 'ok'],
    result.rows.map((r) => [
      r.measure,
      `${fmt(r.value)}${r.unit ? ` ${r.unit}` : ''}`,
      r.target ?? '',
      r.ok === undefined ? '' : r.ok ? 'yes' : 'NO',
    ]),
  );
};

// ─── Temp dirs and apps ──────────────────────────────────────────────────────────────────────────

export const tempDir = (label: string): { dir: string; remove: () => void } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vespera-bench-${label}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
};

export type BenchApp = App & { baseUrl: string; dataDir: string; close: () => Promise<void> };

/**
 * A real Vespera over a fresh temp dir, configured as `vespera serve` runs by default (sync=full, the default
 * rate limits, vectors on) unless `overrides` say otherwise, which the bench's setup line must then show
 * (`setupOf`). Logs silenced.
 */
export const startApp = async (overrides: Partial<Config> = {}, listen = false): Promise<BenchApp> => {
  const { dir, remove } = tempDir('app');
  const config = loadConfig({ VESPERA_LOG_LEVEL: 'silent' }, { dataDir: dir, port: 0, host: '127.0.0.1', vectors: 'on', ...overrides });
  const app = await createApp(config, createLogger(config.logLevel));
  await app.background.vectors?.booted;
  lastConfig = config;
  const baseUrl = listen ? `http://127.0.0.1:${(await app.listen()).port}` : '';
  return {
    ...app,
    baseUrl,
    dataDir: dir,
    close: async () => {
      await app.stop();
      remove();
    },
  };
};

/** What a bench ran against, from the configuration it really used: durability, rate limit, vectors, surface. */
export type Setup = Pick<Config, 'sync' | 'rateLimitPerMinute' | 'vectors' | 'auth'>;
let lastConfig: Setup | undefined;
/** The configuration of the app this process started last (what an in-process bench really ran). */
export const lastSetup = (): Setup => {
  if (!lastConfig) throw new Error('no bench app started yet');
  return lastConfig;
};
export const setupOf = (config: Setup, surface: string): string => {
  const defaults = loadConfig({}, { vectors: 'on' });
  const mark = (differs: boolean) => (differs ? ' (NOT the default)' : '');
  const limit = config.rateLimitPerMinute > 0 ? `${config.rateLimitPerMinute.toLocaleString('en-US')}/min per token` : 'off';
  return [
    `SQLite sync=${config.sync}${mark(config.sync !== defaults.sync)}`,
    `rate limit ${limit}${mark(config.rateLimitPerMinute !== defaults.rateLimitPerMinute)}`,
    `vectors ${config.vectors}${mark(config.vectors !== defaults.vectors)}`,
    ...(config.auth ? [] : ['auth OFF (NOT the default)']),
    surface,
  ].join(', ');
};

/** Plugin tokens recorded in the log (revocation checks find them), minted in-process so no limit is spent on them. */
export const mintTokens = async (app: App, count: number, capabilities: string[] = ['task_reading', 'task_creation']): Promise<string[]> => {
  const pluginId = `bench-${process.pid}-${Date.now()}`;
  await app.plugins.register({ pluginId, name: pluginId, type: 'script', capabilities }, meta());
  const out: string[] = [];
  let position = 0;
  for (let i = 0; i < count; i++) {
    const jti = `${pluginId}-${i}`;
    position = (await app.plugins.recordToken({ pluginId, jti, capabilities, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }, meta()))
      .position;
    out.push((await app.tokens.issue(pluginId, capabilities, 3600, jti)).token);
  }
  await app.projector.waitFor(position, 120_000);
  return out;
};

let commandSeq = 0;
export const meta = (): RequestMeta => ({ actor: 'bench', tool: 'bench', commandId: `bench-${process.pid}-${Date.now()}-${++commandSeq}` });

/** A tree of exactly `size` nodes, breadth-first with `fanout` children per node (depth stays ≤ 4 for 1,000/10). */
export const makeTree = (size: number, label: string, fanout = 10): TreeInput => {
  type Mutable = { title: string; children: Mutable[] };
  const root: Mutable = { title: `${label} 0`, children: [] };
  const queue: Mutable[] = [root];
  let made = 1;
  while (made < size) {
    const parent = queue.shift()!;
    for (let i = 0; i < fanout && made < size; i++) {
      const child: Mutable = { title: `${label} ${made++}`, children: [] };
      parent.children.push(child);
      queue.push(child);
    }
  }
  return root;
};

// ─── A server in its own process (so the load generator does not share its event loop) ───────────

export type ServerMessage =
  | { type: 'ready'; port: number; rssMb: number; token: string; config: Setup }
  | { type: 'tokens'; tokens: string[] }
  | { type: 'seeded'; ids: string[]; seconds: number; rssMb: number; heapMb: number }
  | { type: 'rss'; rssMb: number; heapMb: number };

/** The answer of type `T`: its member of the union `M`, or `M` itself when `M` does not name its types. */
export type AnswerOf<M, T> = [Extract<M, { type: T }>] extends [never] ? M : Extract<M, { type: T }>;

export type ChildServer = {
  baseUrl: string;
  /** The server's admin token: HTTP benches authenticate like any client. */
  headers: Record<string, string>;
  /** The configuration the server runs with, for the setup line. */
  config: Setup;
  pid: number;
  request: <T extends ServerMessage['type']>(message: object, answer: T) => Promise<AnswerOf<ServerMessage, T>>;
  close: () => Promise<void>;
};

/**
 * Starts bench/server.ts in a child Node process (tsx loader) with a fresh data dir. The load generator
 * (autocannon) stays in this process: on a 2-core machine sharing one event loop would distort latency.
 * The server is the default one (see startApp); `{ type: 'tokens', count }` mints plugin tokens so load spread
 * over many tokens stays inside the default per-token rate limit, as many agents would.
 * Set BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") to profile the server, and
 * BENCH_SYNC=normal to compare without fsync (diagnosis only: the reported figures are for sync=full).
 */
export const startChildServer = async (sync: 'full' | 'normal' = 'full', vectors: 'on' | 'off' = 'on'): Promise<ChildServer> => {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.ts');
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = await forkBenchChild<ServerMessage>('bench server', script, {
    execArgv: extra,
    env: { ...process.env, BENCH_SYNC: process.env.BENCH_SYNC ?? sync, BENCH_VECTORS: vectors },
  });
  const { ready } = child;
  return {
    baseUrl: `http://127.0.0.1:${ready.port}`,
    headers: { authorization: `Bearer ${ready.token}` },
    config: ready.config,
    pid: child.proc.pid!,
    request: child.request,
    close: child.close,
  };
};

/**
 * A bench process in a child Node (tsx loader, `--expose-gc`) spoken to over IPC: `request` sends a message and
 * resolves with the first answer of the named type; the child announces itself with `{type: 'ready'}` and ends on
 * `{type: 'stop'}` (killed if it has not within 15 s).
 */
export const forkBenchChild = async <M extends { type: string }>(
  name: string,
  script: string,
  { execArgv = [], env = process.env }: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {},
) => {
  const proc: ChildProcess = fork(script, [], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...execArgv],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T extends M['type']>(answer: T) =>
    new Promise<AnswerOf<M, T>>((resolve, reject) => {
      const onMessage = (message: M) => {
        if (message.type !== answer) return;
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        resolve(message as AnswerOf<M, T>);
      };
      const onExit = (code: number | null) => reject(new Error(`${name} exited (${code}) before answering ${answer}`));
      proc.on('message', onMessage);
      proc.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    proc,
    ready,
    request: <T extends M['type']>(message: object, answer: T): Promise<AnswerOf<M, T>> => {
      const answered = next(answer);
      proc.send(message);
      return answered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.send({ type: 'stop' });
        setTimeout(() => proc.kill('SIGKILL'), 15_000).unref();
      }),
  };
};
