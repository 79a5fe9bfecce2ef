import type { DependencyHealth, DependencyStatus } from '../util/dependencyHealth.js';
import { TimeoutError } from '../util/timeout.js';
import { QueueUnavailableError } from './bullmq.js';
import { InlineQueue, type JobHandler, type JobQueue, type QueueStats } from './queue.js';

export type QueueHealth = { kind: 'bullmq' | 'inline'; degraded: boolean; reason?: string };

/** A queue that knows whether its backing service answers (BullMQ does). */
export type PrimaryQueue = JobQueue & { readonly health?: DependencyHealth };

const unavailable = (error: unknown) =>
  error instanceof QueueUnavailableError ||
  error instanceof TimeoutError ||
  /connect|ECONNREFUSED|Connection is closed|timed out/i.test((error as Error).message);

/**
 * BullMQ when Redis answers, the in-process queue when it does not: a job whose add times out or is
 * refused, or whose Redis went away while it waited, runs inline with the same handler. While Redis is
 * known to be away jobs go inline at once, and the queue reports itself degraded until Redis is back.
 */
export class FallbackQueue implements JobQueue {
  readonly inline = new InlineQueue();
  private fellBack: string | undefined;

  constructor(
    private readonly primary: PrimaryQueue | undefined,
    /** Why there is no primary although one was asked for (Redis unreachable at start). */
    private readonly startReason?: string,
  ) {
    primary?.health?.onUp(() => (this.fellBack = undefined));
  }

  private get reason(): string | undefined {
    if (this.startReason) return this.startReason;
    const health = this.primary?.health;
    if (health && !health.up) return `Redis unavailable, running jobs in-process: ${health.status().lastError ?? 'not answering'}`;
    return this.fellBack;
  }

  /** Redis, as the primary's own calls and probes found it (none without Redis). */
  dependencies(): DependencyStatus[] {
    return this.primary?.health ? [this.primary.health.status()] : [];
  }

  get kind() {
    return this.primary && !this.reason ? this.primary.kind : 'inline';
  }

  health(): QueueHealth {
    const reason = this.reason;
    return { kind: this.kind, degraded: reason !== undefined, ...(reason ? { reason } : {}) };
  }

  async process(queue: string, handler: JobHandler, concurrency: number): Promise<void> {
    await this.inline.process(queue, handler, concurrency);
    if (this.primary) await this.primary.process(queue, handler, concurrency);
  }

  async run(queue: string, jobId: string, data: Record<string, unknown>, timeoutMs?: number): Promise<unknown> {
    if (!this.primary || this.primary.health?.up === false) return this.inline.run(queue, jobId, data, timeoutMs);
    try {
      const result = await this.primary.run(queue, jobId, data, timeoutMs);
      this.fellBack = undefined;
      return result;
    } catch (error) {
      if (!unavailable(error)) throw error;
      this.fellBack = `Redis unavailable, running jobs in-process: ${(error as Error).message}`;
      return this.inline.run(queue, jobId, data, timeoutMs);
    }
  }

  async pause(queue: string): Promise<void> {
    await Promise.all([this.inline.pause(queue), this.primary?.pause(queue)]);
  }

  async resume(queue: string): Promise<void> {
    await Promise.all([this.inline.resume(queue), this.primary?.resume(queue)]);
  }

  async stats(queue: string): Promise<QueueStats> {
    const local = await this.inline.stats(queue);
    if (!this.primary || this.reason) return local;
    const remote = await this.primary.stats(queue).catch(() => undefined);
    if (!remote) return local;
    return {
      waiting: remote.waiting + local.waiting,
      active: remote.active + local.active,
      completed: remote.completed + local.completed,
      failed: remote.failed + local.failed,
      paused: remote.paused || local.paused,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.inline.close(), this.primary?.close()]);
  }
}
