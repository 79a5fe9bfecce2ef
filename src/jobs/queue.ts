/** Background jobs: the same handlers run on BullMQ (Redis) or on the in-process queue. */
export type JobHandler = (data: Record<string, unknown>) => Promise<unknown>;

export type QueueStats = { waiting: number; active: number; completed: number; failed: number; paused: boolean };

export interface JobQueue {
  readonly kind: 'bullmq' | 'inline';
  /** Starts consuming `queue` with `handler`, at most `concurrency` jobs at once. */
  process(queue: string, handler: JobHandler, concurrency: number): Promise<void>;
  /** Adds the job (or joins the one already queued under `jobId`) and resolves with its result. */
  run(queue: string, jobId: string, data: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  stats(queue: string): Promise<QueueStats>;
  close(): Promise<void>;
}

export const ATTEMPTS = 3;
export const BACKOFF_MS = 200;

type Job = { id: string; data: Record<string, unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Lane = { handler?: JobHandler; concurrency: number; paused: boolean; waiting: Job[]; active: number; completed: number; failed: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The queue without Redis: jobs live in memory, with the same ids, retries and pause/resume as BullMQ. */
export class InlineQueue implements JobQueue {
  readonly kind = 'inline' as const;
  private readonly lanes = new Map<string, Lane>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private closed = false;

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { concurrency: 1, paused: false, waiting: [], active: 0, completed: 0, failed: 0 };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  async process(queue: string, handler: JobHandler, concurrency: number): Promise<void> {
    Object.assign(this.lane(queue), { handler, concurrency });
    this.pump(queue);
  }

  /**
   * `timeoutMs` bounds the wait for a start, as BullMQ's bounds the wait for a result: a job still waiting then (its
   * queue paused, or behind a long backlog) leaves the queue and the caller gets an error instead of waiting forever.
   */
  run(queue: string, jobId: string, data: Record<string, unknown>, timeoutMs?: number): Promise<unknown> {
    const key = `${queue}:${jobId}`;
    const running = this.inFlight.get(key);
    if (running) return running;
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the job queue is closed'));
      const lane = this.lane(queue);
      const job: Job = { id: jobId, data, resolve, reject };
      lane.waiting.push(job);
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs))
        timer = setTimeout(() => {
          const at = lane.waiting.indexOf(job);
          if (at === -1) return;
          lane.waiting.splice(at, 1);
          reject(new Error(`job ${jobId} of ${queue} did not start within ${timeoutMs} ms${lane.paused ? ' (the queue is paused)' : ''}`));
        }, timeoutMs);
      this.pump(queue);
    }).finally(() => {
      clearTimeout(timer);
      this.inFlight.delete(key);
    });
    this.inFlight.set(key, promise);
    return promise;
  }

  async pause(queue: string): Promise<void> {
    this.lane(queue).paused = true;
  }

  async resume(queue: string): Promise<void> {
    this.lane(queue).paused = false;
    this.pump(queue);
  }

  async stats(queue: string): Promise<QueueStats> {
    const { waiting, active, completed, failed, paused } = this.lane(queue);
    return { waiting: waiting.length, active, completed, failed, paused };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const lane of this.lanes.values()) for (const job of lane.waiting.splice(0)) job.reject(new Error('the job queue is closed'));
  }

  private pump(queue: string): void {
    const lane = this.lane(queue);
    while (lane.handler && !lane.paused && !this.closed && lane.active < lane.concurrency && lane.waiting.length > 0) {
      const job = lane.waiting.shift()!;
      lane.active += 1;
      void this.attempt(lane.handler, job)
        .then(
          (value) => {
            lane.completed += 1;
            job.resolve(value);
          },
          (error: unknown) => {
            lane.failed += 1;
            job.reject(error);
          },
        )
        .finally(() => {
          lane.active -= 1;
          this.pump(queue);
        });
    }
  }

  private async attempt(handler: JobHandler, job: Job): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await handler(job.data);
      } catch (error) {
        if (attempt >= ATTEMPTS || this.closed) throw error;
        await sleep(BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }
}
