import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export type Server = {
  child: ChildProcessWithoutNullStreams;
  baseUrl: string;
  /** Headers carrying the admin token the server writes into its data directory at every start. */
  auth: Record<string, string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log: () => string;
};

export const until = async <T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> => {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
};

/**
 * `vespera serve` as a real child process (a clean environment: no VESPERA_* of the test run, plus `extraEnv`) on a port of its own choosing, ready once /health answers. */
export const startServer = async (dataDir: string, extraEnv: Record<string, string> = {}, startTimeoutMs = 30_000): Promise<Server> => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_') && k !== 'EVENTSTORE_URL'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: REPO,
    // MALLOC_ARENA_MAX as `npm start` and the image set it (docs/operations.md#memory).
    env: { ...env, MALLOC_ARENA_MAX: '2', VESPERA_DATA_DIR: dataDir, VESPERA_PORT: '0', VESPERA_LOG_LEVEL: 'info', ...extraEnv },
  });
  let log = '';
  let listening: string | undefined;
  child.stdout.on('data', () => {});
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    if (listening) return;
    for (const line of log.split('\n')) {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'Vespera is listening') listening = entry.url;
      } catch {
        // a partial line; the next chunk completes it
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const died = exited.then(({ code, signal }) => {
    throw new Error(`The server exited (${code ?? signal}) before it was ready:\n${log}`);
  });
  died.catch(() => {});
  const ready = async () => {
    const url = await until('the server to listen', startTimeoutMs, async () => listening);
    await until('/health', 10_000, async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined));
    return url;
  };
  const baseUrl = await Promise.race([ready(), died]).catch((error: Error) => {
    // Not left running behind a failed start: say what it logged instead.
    child.kill('SIGKILL');
    throw new Error(`${error.message}; its log ends:\n${log.slice(-3000)}`);
  });
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  return { child, baseUrl, auth: { authorization: `Bearer ${token}` }, exited, log: () => log };
};
