import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { withTimeout } from '../util/timeout.js';

export type LeaseExpiryDeps = Readonly<{
  /** Appends LeaseExpired when the lease is really over (idempotent: a no-op after a heartbeat). */
  expire: (taskId: string) => Promise<unknown>;
  /** Leases already past their end, from the read model (catches restarts and other nodes). */
  overdue: (now: string) => { id: string }[];
  logger: Logger;
  /** How often the safety scan runs. */
  scanIntervalMs?: number;
  /** BullMQ delayed jobs when set; in-process timers otherwise. */
  redisUrl?: string;
  queueName?: string;
  /** Longest one Redis call may take (scheduling is retried by the scan, so a late one only logs). */
  redisTimeoutMs?: number;
}>;

export interface LeaseExpiry {
  readonly mode: 'bullmq' | 'inline';
  schedule(taskId: string, leaseExpiresAt: string): void;
  /** Expires every overdue lease now. */
  sweep(): Promise<number>;
  /** Leases this process has expired (a LeaseExpired appended) since it started, for `vespera_lease_expiries_total`. */
  expiries(): number;
  close(): Promise<void>;
}

export const redisConnection = (url: string) => {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null,
  };
};

/**
 * Returns expired leases to the ready queue through `LeaseExpired` events: a timer (or a BullMQ delayed
 * job) per lease end, plus a periodic scan of the read model. Every path is idempotent.
 */
export const createLeaseExpiry = (deps: LeaseExpiryDeps): LeaseExpiry => {
  const { expire, overdue, logger } = deps;
  const timers = new Map<string, NodeJS.Timeout>();
  let closed = false;
  let expiries = 0;
  const counted = (result: unknown) => {
    const events = (result as { events?: readonly unknown[] } | undefined)?.events;
    if (events && events.length > 0) expiries += 1;
  };
  const run = (taskId: string) =>
    expire(taskId)
      .then(counted)
      .catch((error: unknown) => logger.warn({ err: error, taskId }, 'lease expiry failed; the next scan retries'));

  const sweep = async () => {
    if (closed) return 0;
    const due = overdue(new Date().toISOString());
    for (const { id } of due) await run(id);
    return due.length;
  };
  const scan = setInterval(() => void sweep(), deps.scanIntervalMs ?? 5000);
  scan.unref();

  if (deps.redisUrl) {
    const connection = redisConnection(deps.redisUrl);
    const name = deps.queueName ?? 'vespera-lease-expiry';
    const timeoutMs = deps.redisTimeoutMs ?? 5000;
    const queue = new Queue(name, { connection });
    const worker = new Worker(name, async (job) => run((job.data as { taskId: string }).taskId), { connection, concurrency: 4 });
    worker.on('error', (error) => logger.warn({ err: error }, 'lease worker error'));
    queue.on('error', (error) => logger.warn({ err: error }, 'lease queue error'));
    return {
      mode: 'bullmq',
      schedule: (taskId, leaseExpiresAt) => {
        if (closed) return;
        const delay = Math.max(0, Date.parse(leaseExpiresAt) - Date.now() + 50);
        // One job per lease end: a heartbeat schedules a new one, and the old one finds nothing to expire.
        void withTimeout(
          queue.add('expire', { taskId }, { jobId: `${taskId}-${Date.parse(leaseExpiresAt)}`, delay, removeOnComplete: true, removeOnFail: 100 }),
          timeoutMs,
          'Redis (scheduling a lease expiry)',
        ).catch((error: unknown) => logger.warn({ err: error, taskId }, 'could not schedule lease expiry; the scan will catch it'));
      },
      sweep,
      expiries: () => expiries,
      close: async () => {
        closed = true;
        clearInterval(scan);
        await withTimeout(Promise.allSettled([worker.close(), queue.close()]), timeoutMs, 'closing the lease queue').catch(() => undefined);
      },
    };
  }

  return {
    mode: 'inline',
    schedule: (taskId, leaseExpiresAt) => {
      if (closed) return;
      clearTimeout(timers.get(taskId));
      const delay = Math.min(Math.max(0, Date.parse(leaseExpiresAt) - Date.now() + 50), 2 ** 31 - 1);
      const timer = setTimeout(() => {
        timers.delete(taskId);
        void run(taskId);
      }, delay);
      timer.unref();
      timers.set(taskId, timer);
    },
    sweep,
    expiries: () => expiries,
    close: async () => {
      closed = true;
      clearInterval(scan);
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
};
