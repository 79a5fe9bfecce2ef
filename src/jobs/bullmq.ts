import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { DependencyHealth } from '../util/dependencyHealth.js';
import { withTimeout } from '../util/timeout.js';
import { ATTEMPTS, BACKOFF_MS, type JobHandler, type JobQueue, type QueueStats } from './queue.js';

/** Redis refused, timed out or went away: the caller may fall back to the in-process queue. */
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
  const redis = new Redis({
    ...redisConnection(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await withTimeout(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
      'Redis',
    );
  } finally {
    redis.disconnect();
  }
};

export type BullQueueOptions = Readonly<{ timeoutMs?: number; probeIntervalMs?: number }>;

/**
 * BullMQ queues and workers; BullMQ owns (and closes) every Redis connection it opens. Every Redis call
 * is bounded, and a connection of our own (no offline queue, so it fails at once while Redis is away) tells
 * `health` when Redis goes and comes back. Going away fails the callers still waiting for a job's result:
 * a Redis that restarts empty would never report those jobs finished.
 */
export class BullQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  readonly health: DependencyHealth;
  private readonly queues = new Map<string, { queue: Queue; events: QueueEvents }>();
  private readonly workers = new Map<string, Worker>();
  private readonly connection: ConnectionOptions;
  private readonly timeoutMs: number;
  private readonly watch: Redis;
  private readonly waiting = new Set<(error: Error) => void>();
  private closed = false;

  constructor(
    url: string,
    private readonly prefix = 'vespera',
    { timeoutMs = 5000, probeIntervalMs = 2000 }: BullQueueOptions = {},
  ) {
    this.timeoutMs = timeoutMs;
    // BullMQ's own reconnect backs off to 20 s, which would keep jobs in-process that long after Redis is back.
    const retryStrategy = () => Math.min(probeIntervalMs, 1000);
    this.connection = { ...redisConnection(url), maxRetriesPerRequest: null, retryStrategy };
    this.health = new DependencyHealth('redis', { timeoutMs, probeIntervalMs, probe: () => this.watch.ping() });
    this.watch = new Redis({ ...redisConnection(url), connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy });
    this.watch.on('error', () => undefined);
    this.watch.on('close', () => {
      if (!this.closed) this.health.failed(new Error('the connection to Redis closed'));
    });
    this.watch.on('ready', () => this.health.succeeded());
    this.health.onDown((reason) => {
      const error = new QueueUnavailableError(`Redis stopped answering (${reason})`);
      for (const fail of [...this.waiting]) fail(error);
      this.waiting.clear();
    });
    this.health.startProbing();
  }

  private lane(name: string) {
    let lane = this.queues.get(name);
    if (!lane) {
      const options = { connection: this.connection, prefix: this.prefix };
      lane = { queue: new Queue(name, options), events: new QueueEvents(name, options) };
      lane.queue.on('error', () => undefined);
      lane.events.on('error', () => undefined);
      // Every caller waiting on a job listens for the queue closing: more than ten is normal here.
      lane.queue.setMaxListeners(0);
      this.queues.set(name, lane);
    }
    return lane;
  }

  async process(queue: string, handler: JobHandler, concurrency: number): Promise<void> {
    await this.health.call('QueueEvents ready', () => this.lane(queue).events.waitUntilReady());
    const worker = new Worker(queue, (job) => handler(job.data as Record<string, unknown>), {
      connection: this.connection,
      prefix: this.prefix,
      concurrency,
    });
    worker.on('error', () => undefined);
    this.workers.set(queue, worker);
    await this.health.call('Worker ready', () => worker.waitUntilReady());
  }

  async run(queue: string, jobId: string, data: Record<string, unknown>, timeoutMs = 60_000): Promise<unknown> {
    if (!this.health.up) throw new QueueUnavailableError(`Redis is not answering (${this.health.status().lastError ?? 'unknown'})`);
    const { queue: q, events } = this.lane(queue);
    const job = await this.health.call('add', () =>
      q.add(queue, data, {
        jobId,
        attempts: ATTEMPTS,
        backoff: { type: 'exponential', delay: BACKOFF_MS },
        removeOnComplete: { age: 600, count: 1000 },
        removeOnFail: { age: 86_400, count: 1000 },
      }),
    );
    return new Promise((resolve, reject) => {
      this.waiting.add(reject);
      job
        .waitUntilFinished(events, timeoutMs)
        .then(resolve, reject)
        .finally(() => this.waiting.delete(reject));
    });
  }

  async pause(queue: string): Promise<void> {
    const worker = this.workers.get(queue);
    if (worker) await withTimeout(worker.pause(true), this.timeoutMs, 'pausing the BullMQ worker');
  }

  async resume(queue: string): Promise<void> {
    this.workers.get(queue)?.resume();
  }

  async stats(queue: string): Promise<QueueStats> {
    // /health asks for these: a short budget, so a vanished Redis does not hold the health answer.
    const counts = await this.health.call(
      'getJobCounts',
      () => this.lane(queue).queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'),
      Math.min(this.timeoutMs, 1000),
    );
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
    for (const { queue } of this.queues.values()) await withTimeout(queue.obliterate({ force: true }), this.timeoutMs, 'Redis obliterate');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.health.stop();
    const closing = [...this.workers.values()].map((w) => w.close());
    for (const { queue, events } of this.queues.values()) closing.push(queue.close(), events.close());
    await withTimeout(Promise.allSettled(closing), 5000, 'closing BullMQ').catch(() => undefined);
    this.watch.disconnect();
  }
}

/**
 * A connection for single commands whose callers would rather fail than wait (shared rate limits): no offline
 * queue and no retries, so a call fails at once while Redis is away; it reconnects by itself in the background.
 */
export const redisCommands = (url: string, timeoutMs: number) => {
  const redis = new Redis({
    ...redisConnection(url),
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  });
  redis.on('error', () => undefined);
  return {
    send: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<string | number | boolean | (string | number | boolean)[]>,
    close: () => redis.disconnect(),
  };
};
