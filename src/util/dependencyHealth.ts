import { TimeoutError, withTimeout } from './timeout.js';

export type DependencyStatus = Readonly<{
  name: string;
  /** `down`: the last call or probe failed or timed out, and none has succeeded since. */
  state: 'up' | 'down';
  since: string;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError?: string;
}>;

export type DependencyOptions = Readonly<{
  /** Budget of one call unless the call site gives its own. */
  timeoutMs: number;
  /** A cheap call proving the dependency answers (a heartbeat, a PING), run every `probeIntervalMs`. */
  probe?: () => Promise<unknown>;
  probeIntervalMs?: number;
  /** Errors that say the dependency is unwell (default: every error). Any other error still proves it answered. */
  isOutage?: (error: unknown) => boolean;
}>;

/**
 * One external dependency's health, learned from the calls made to it (each bounded by a timeout) and
 * from an optional periodic probe, so a dependency that stopped answering is reported, and noticed
 * again once it answers, even when nothing else calls it.
 */
export class DependencyHealth {
  private state: 'up' | 'down' = 'up';
  private since = new Date().toISOString();
  private lastSuccessAt: string | null = null;
  private lastFailureAt: string | null = null;
  private lastError: string | undefined;
  private readonly listeners = { up: [] as Array<() => void>, down: [] as Array<(error: string) => void> };
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    readonly name: string,
    private readonly options: DependencyOptions,
  ) {}

  get up(): boolean {
    return this.state === 'up';
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** Runs one call to the dependency within `timeoutMs` and records what it said. */
  async call<T>(what: string, run: () => Promise<T>, timeoutMs = this.options.timeoutMs): Promise<T> {
    try {
      const value = await withTimeout(run(), timeoutMs, `${this.name} ${what}`);
      this.succeeded();
      return value;
    } catch (error) {
      if (error instanceof TimeoutError || (this.options.isOutage?.(error) ?? true)) this.failed(error);
      else this.succeeded();
      throw error;
    }
  }

  succeeded(): void {
    this.lastSuccessAt = new Date().toISOString();
    if (this.state === 'up') return;
    this.state = 'up';
    this.since = this.lastSuccessAt;
    for (const listener of this.listeners.up) listener();
  }

  failed(error: unknown): void {
    this.lastFailureAt = new Date().toISOString();
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.state === 'down') return;
    this.state = 'down';
    this.since = this.lastFailureAt;
    for (const listener of this.listeners.down) listener(this.lastError);
  }

  onUp(listener: () => void): void {
    this.listeners.up.push(listener);
  }

  onDown(listener: (error: string) => void): void {
    this.listeners.down.push(listener);
  }

  startProbing(): void {
    const { probe, probeIntervalMs } = this.options;
    if (!probe || !probeIntervalMs || this.timer) return;
    this.timer = setInterval(() => void this.probeOnce(), probeIntervalMs);
    this.timer.unref();
  }

  /** One probe now (never overlapping the previous one): any error of a probe means the dependency is unwell. */
  async probeOnce(): Promise<void> {
    if (!this.options.probe || this.probing) return;
    this.probing = true;
    try {
      await withTimeout(this.options.probe(), this.options.timeoutMs, `${this.name} probe`);
      this.succeeded();
    } catch (error) {
      this.failed(error);
    } finally {
      this.probing = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  status(): DependencyStatus {
    return {
      name: this.name,
      state: this.state,
      since: this.since,
      lastSuccessAt: this.lastSuccessAt,
      lastFailureAt: this.lastFailureAt,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }
}
