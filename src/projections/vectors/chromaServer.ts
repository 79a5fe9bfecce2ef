import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from 'pino';
import { freePort } from '../../util/freePort.js';

export type ChromaState = 'starting' | 'up' | 'down' | 'stopped';

export type ChromaStatus = { mode: 'embedded'; url: string; state: ChromaState; pid?: number; restarts: number; lastError?: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const heartbeat = async (url: string, timeoutMs = 1000): Promise<boolean> => {
  try {
    const response = await fetch(`${url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok;
  } catch {
    return false;
  }
};

/**
 * The embedded Chroma server: a child process on a free local port with its data under the data
 * directory. It is restarted (same port, same data) with exponential backoff whenever it dies.
 */
export class ChromaServer {
  private child: ChildProcess | undefined;
  private port = 0;
  private state: ChromaState = 'stopped';
  private restarts = 0;
  private failures = 0;
  private lastError: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
    private readonly startTimeoutMs = 30_000,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** Called every time the server (re)starts and answers its heartbeat. */
  onUp(listener: () => void): void {
    this.listeners.push(listener);
  }

  status(): ChromaStatus {
    return {
      mode: 'embedded',
      url: this.url,
      state: this.state,
      ...(this.pid ? { pid: this.pid } : {}),
      restarts: this.restarts,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** The child's pid, so a server killed with SIGKILL does not leave its Chroma running forever. */
  private get pidFile(): string {
    return `${this.dataDir}.pid`;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.port ||= await freePort();
    this.state = 'starting';
    // The package's own CLI (`chroma run`), found through its manifest so the install layout does not matter.
    const entry = createRequire(import.meta.url).resolve('chromadb');
    const cli = path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)), 'dist', 'cli.mjs');
    reapOrphan(this.pidFile, this.logger);
    const child = spawn(process.execPath, [cli, 'run', '--path', this.dataDir, '--host', '127.0.0.1', '--port', String(this.port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    if (child.pid) fs.writeFileSync(this.pidFile, String(child.pid));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.state === 'stopped') return;
      this.lastError = `chroma exited (${signal ?? code})${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`;
      this.logger.warn({ code, signal }, 'chroma server died; restarting');
      this.state = 'down';
      this.scheduleRestart();
    });
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline && this.child === child) {
      if (await heartbeat(this.url, 500)) {
        this.state = 'up';
        this.failures = 0;
        for (const listener of this.listeners) listener();
        return;
      }
      await sleep(100);
    }
    if (this.child === child) child.kill('SIGKILL');
    throw new Error(`chroma did not answer its heartbeat on ${this.url} within ${this.startTimeoutMs} ms`);
  }

  private scheduleRestart(): void {
    clearTimeout(this.restartTimer);
    const delay = Math.min(10_000, 250 * 2 ** this.failures);
    this.failures += 1;
    this.restartTimer = setTimeout(() => {
      this.restarts += 1;
      this.start().catch((error: unknown) => {
        this.lastError = (error as Error).message;
        if (this.state !== 'stopped') this.scheduleRestart();
      });
    }, delay);
    this.restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

/** Stops a Chroma server left behind by a process that died without stopping it (only if it is one). */
const reapOrphan = (pidFile: string, logger: Logger): void => {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8'));
  } catch {
    return;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (Number.isInteger(pid) && pid > 1 && cmdline.includes('chromadb') && cmdline.includes(path.dirname(pidFile))) {
      process.kill(pid, 'SIGKILL');
      logger.warn({ pid }, 'stopped a chroma server left behind by a previous run');
    }
  } catch {
    // not running any more (or no /proc): nothing to reap
  }
  fs.rmSync(pidFile, { force: true });
};
