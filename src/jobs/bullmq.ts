import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { ATTEMPTS, BACKOFF_MS, type JobHandler, type JobQueue, type QueueStats } from './queue.js';

/** Redis refused or timed out: the caller may fall back to the in-process queue. */
export class QueueUnavailableError extends Error {}

export const redisConnection = (url: string): { host: string; port: number; password?: string; db?: number } => {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 6379),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
  };
};

/** One PING with a short timeout and no retries: is Redis there at all? */
export const pingRedis = async (url: string, timeoutMs = 1000): Promise<void> => {
  const redis = new Redis({ ...redisConnection(url), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
};

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new QueueUnavailableError(`${what} did not answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/** BullMQ queues and workers; BullMQ owns (and closes) every Redis connection it opens. */
export class BullQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly queues = new Map<string, { queue: Queue; events: QueueEvents }>();
  private readonly workers = new Map<string, Worker>();
  private readonly connection: ConnectionOptions;

  constructor(
    url: string,
    private readonly prefix = 'vespera',
  ) {
    this.connection = { ...redisConnection(url), maxRetriesPerRequest: null };
  }

  private lane(name: string) {
    let lane = this.queues.get(name);
    if (!lane) {
      const options = { connection: this.connection, prefix: this.prefix };
      lane = { queue: new Queue(name, options), events: new QueueEvents(name, options) };
      lane.queue.on('error', () => undefined);
      lane.events.on('error', () => undefined);
      this.queues.set(name, lane);
    }
    return lane;
  }

  async process(queue: string, handler: JobHandler, concurrency: number): Promise<void> {
    await this.lane(queue).events.waitUntilReady();
    const worker = new Worker(queue, (job) => handler(job.data as Record<string, unknown>), { connection: this.connection, prefix: this.prefix, concurrency });
    worker.on('error', () => undefined);
    this.workers.set(queue, worker);
    await worker.waitUntilReady();
  }

  async run(queue: string, jobId: string, data: Record<string, unknown>, timeoutMs = 60_000): Promise<unknown> {
    const { queue: q, events } = this.lane(queue);
    const job = await within(
      q.add(queue, data, {
        jobId,
        attempts: ATTEMPTS,
        backoff: { type: 'exponential', delay: BACKOFF_MS },
        removeOnComplete: { age: 600, count: 1000 },
        removeOnFail: { age: 86_400, count: 1000 },
      }),
      5000,
      'Redis',
    );
    return job.waitUntilFinished(events, timeoutMs);
  }

  async pause(queue: string): Promise<void> {
    await this.workers.get(queue)?.pause(true);
  }

  async resume(queue: string): Promise<void> {
    this.workers.get(queue)?.resume();
  }

  async stats(queue: string): Promise<QueueStats> {
    const counts = await within(this.lane(queue).queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'), 2000, 'Redis');
    return {
      waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      paused: this.workers.get(queue)?.isPaused() ?? false,
    };
  }

  /** Removes every key of these queues (tests use a unique prefix and clean up with this). */
  async obliterate(): Promise<void> {
    for (const { queue } of this.queues.values()) await queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    const closing = [...this.workers.values()].map((w) => w.close());
    for (const { queue, events } of this.queues.values()) closing.push(queue.close(), events.close());
    await within(Promise.allSettled(closing), 5000, 'closing BullMQ').catch(() => undefined);
  }
}
