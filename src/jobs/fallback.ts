import { QueueUnavailableError } from './bullmq.js';
import { InlineQueue, type JobHandler, type JobQueue, type QueueStats } from './queue.js';

export type QueueHealth = { kind: 'bullmq' | 'inline'; degraded: boolean; reason?: string };

/**
 * BullMQ when Redis answers, the in-process queue when it does not: a job whose add times out or is
 * refused runs inline with the same handler, and the queue reports itself degraded until Redis is back.
 */
export class FallbackQueue implements JobQueue {
  readonly inline = new InlineQueue();
  private reason: string | undefined;

  constructor(private readonly primary: JobQueue | undefined, initialReason?: string) {
    this.reason = initialReason;
  }

  get kind() {
    return this.primary && !this.reason ? this.primary.kind : 'inline';
  }

  health(): QueueHealth {
    return { kind: this.kind, degraded: this.reason !== undefined, ...(this.reason ? { reason: this.reason } : {}) };
  }

  async process(queue: string, handler: JobHandler, concurrency: number): Promise<void> {
    await this.inline.process(queue, handler, concurrency);
    if (this.primary) await this.primary.process(queue, handler, concurrency);
  }

  async run(queue: string, jobId: string, data: Record<string, unknown>, timeoutMs?: number): Promise<unknown> {
    if (!this.primary) return this.inline.run(queue, jobId, data);
    try {
      const result = await this.primary.run(queue, jobId, data, timeoutMs);
      this.reason = undefined;
      return result;
    } catch (error) {
      if (!(error instanceof QueueUnavailableError) && !/connect|ECONNREFUSED|Connection is closed|timed out/i.test((error as Error).message)) throw error;
      this.reason = `Redis unavailable, running jobs in-process: ${(error as Error).message}`;
      return this.inline.run(queue, jobId, data);
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
