import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace, type Context, type Link } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { DomainError } from '../errors.js';
import { withTimeout } from '../util/timeout.js';
import type { StoredEvent } from '../events/types.js';
import type { EventStore } from '../eventstore/eventStore.js';

/** A read model that applies batches of events together with its own checkpoint. */
export interface Projection {
  readonly name: string;
  readonly version: number;
  /** Last applied position, 0 for an empty model, -1 when it was built by another projector version. */
  checkpoint(): number;
  applyBatch(events: readonly StoredEvent[]): void | Promise<void>;
  reset(): void | Promise<void>;
  /** Position the stored model reached whatever version built it (the old model answers from there while a rebuild runs). */
  storedPosition?(): number;
}

export type ProjectorStatus = Readonly<{
  name: string;
  version: number;
  position: number;
  lag: number;
  running: boolean;
  lastError?: string;
}>;

type Waiter = { position: number; resolve: () => void; timer: NodeJS.Timeout; reject: (e: Error) => void };

/**
 * Follows the global log from the projection's checkpoint: woken by the store after each append,
 * it reads and applies batches until it reaches the head. Callers may wait for a position.
 */
export class Projector {
  private position = 0;
  private head = 0;
  private running = false;
  private catchingUp = false;
  private again = false;
  private lastError: string | undefined;
  private unsubscribe: (() => void) | undefined;
  private waiters: Waiter[] = [];
  private handedOver: readonly StoredEvent[] | undefined;

  private throttled: NodeJS.Timeout | undefined;
  private lastRun = 0;
  /** Set while a blue-green swap brings the new projection to the head: the current one stops applying. */
  private paused = false;
  private run: Promise<void> = Promise.resolve();
  private current: Projection;

  /**
   * `minIntervalMs` > 0 coalesces wake-ups: a projector whose store pays per transaction (Kuzu, Chroma)
   * then applies whatever arrived in that interval as one batch instead of one event at a time.
   */
  constructor(
    private readonly store: EventStore,
    projection: Projection,
    private readonly logger: Logger,
    private readonly batchSize = 2000,
    private readonly minIntervalMs = 0,
  ) {
    this.current = projection;
  }

  /** The projection applied now (replaced by `replaceProjection`). */
  get projection(): Projection {
    return this.current;
  }

  /**
   * `rebuildAside`, when given, is the blue-green path for a model built by another projector version: the old model
   * keeps answering (at the position it reached) while the rebuild runs, and the rebuild swaps itself in through
   * `replaceProjection`. Without it the model is dropped and rebuilt in place.
   */
  async start(opts: { rebuildAside?: (projector: Projector) => Promise<unknown> } = {}): Promise<void> {
    let checkpoint = this.projection.checkpoint();
    let rebuilding = false;
    if (checkpoint < 0 && opts.rebuildAside) {
      this.logger.warn({ projector: this.projection.name }, 'read model was built by another projector version; rebuilding it aside');
      checkpoint = this.projection.storedPosition?.() ?? 0;
      this.paused = rebuilding = true;
    } else if (checkpoint < 0) {
      this.logger.warn({ projector: this.projection.name }, 'read model was built by another projector version; rebuilding');
      await this.projection.reset();
      checkpoint = 0;
    }
    this.position = checkpoint;
    this.head = await this.store.headPosition();
    this.running = true;
    this.unsubscribe = this.store.onAppended((position, events) => {
      this.head = Math.max(this.head, position);
      // The appended events, when they follow on directly, are applied without reading them back.
      if (events && events[0]?.position === this.position + 1 && !this.catchingUp && !this.handedOver) this.handedOver = events;
      this.wake();
    });
    if (rebuilding) {
      this.rebuildingAtStart = opts.rebuildAside!(this).then(
        () => undefined,
        (error: unknown) => {
          this.lastError = (error as Error).message;
          this.logger.error({ err: error, projector: this.projection.name }, 'rebuild at start failed; the old model stays frozen');
        },
      );
      return;
    }
    await this.catchUp();
  }

  /** Settles once the rebuild started by `start` (version change) has swapped in or failed; undefined when none ran. */
  rebuildingAtStart: Promise<void> | undefined;

  /**
   * Blue-green: `next`, built aside up to its own checkpoint, follows the log while the current projection keeps
   * applying; within `closeEnough` events of the head the current one stops, `next` applies the rest, and `swap`
   * switches the readers and returns the projection to go on with (the same, or `next` reopened where the readers
   * now are). Waiters keep waiting across the swap; a failure leaves the current projection in place.
   */
  async replaceProjection(
    next: Projection,
    swap: (next: Projection) => Projection | Promise<Projection>,
    { closeEnough = 1000, batchSize = 500, signal }: { closeEnough?: number; batchSize?: number; signal?: AbortSignal } = {},
  ): Promise<{ position: number }> {
    const follow = async (untilWithin: number) => {
      for (;;) {
        signal?.throwIfAborted();
        const from = next.checkpoint();
        if ((await this.store.headPosition()) - from <= untilWithin) return;
        const events = await this.store.readAll({ fromPosition: from, maxCount: batchSize });
        if (events.length === 0) return;
        await next.applyBatch(events);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await follow(closeEnough);
    const wasPaused = this.paused;
    this.paused = true;
    try {
      await this.run;
      await follow(0);
      this.current = await swap(next);
    } catch (error) {
      this.paused = wasPaused;
      this.wake();
      throw error;
    }
    this.position = this.current.checkpoint();
    this.handedOver = undefined;
    this.lastError = undefined;
    this.paused = false;
    this.head = Math.max(this.head, this.position);
    this.release();
    this.wake();
    return { position: this.position };
  }

  /**
   * Stops applying after the batch in hand (the model keeps answering from where it is) until the returned function is
   * called; for operators' tests of lag (readiness) and for maintenance. Refused while a blue-green swap holds the projector.
   */
  async hold(): Promise<() => void> {
    if (this.paused) throw new Error(`the ${this.projection.name} projector is already paused`);
    this.paused = true;
    await this.run;
    return () => {
      this.paused = false;
      this.wake();
    };
  }

  /** Starts no new batch; resolves once the batch in flight is applied with its checkpoint, so the model stops at one. */
  async stop({ waitMs = 5000 }: { waitMs?: number } = {}): Promise<void> {
    this.running = false;
    clearTimeout(this.throttled);
    this.unsubscribe?.();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new DomainError('SHUTTING_DOWN', 503, 'The server is shutting down.'));
    }
    this.waiters = [];
    // A batch waiting on another process (Chroma, the embedder, Kuzu) is not waited for past `waitMs`: it is not
    // checkpointed then, and the next start applies it again (every projection's writes are idempotent).
    const finished = await withTimeout(this.run, waitMs, `the ${this.projection.name} projector's batch`).then(
      () => true,
      () => false,
    );
    if (!finished) this.logger.warn({ projector: this.projection.name, waitMs }, 'stopped without waiting longer for the batch in flight');
  }

  status(): ProjectorStatus {
    return {
      name: this.projection.name,
      version: this.projection.version,
      position: this.position,
      lag: Math.max(0, this.head - this.position),
      running: this.running,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  get currentPosition(): number {
    return this.position;
  }

  /** Resolves once the model has applied `position`; refuses with 503 after `timeoutMs`. */
  waitFor(position: number, timeoutMs = 5000): Promise<void> {
    if (position <= this.position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new DomainError('READ_MODEL_LAGGING', 503, `The ${this.projection.name} read model has not reached position ${position} yet.`, {
            position,
            current: this.position,
          }),
        );
      }, timeoutMs);
      const waiter: Waiter = { position, resolve, timer, reject };
      this.waiters.push(waiter);
      this.wake();
    });
  }

  /** Applies everything up to the store's current head, then returns. */
  catchUp(): Promise<void> {
    if (this.paused || !this.running) return Promise.resolve();
    if (this.catchingUp) {
      this.again = true;
      return this.run;
    }
    this.run = this.catchUpNow();
    return this.run;
  }

  private async catchUpNow(): Promise<void> {
    if (this.catchingUp) {
      this.again = true;
      return;
    }
    this.catchingUp = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const handed = this.handedOver;
          this.handedOver = undefined;
          const follows = handed?.[0]?.position === this.position + 1 ? handed : undefined;
          // Nothing was announced past what is applied (the store tells of every append): no need to ask the log.
          if (!follows && this.head <= this.position) break;
          const events = follows ?? (await this.store.readAll({ fromPosition: this.position, maxCount: this.batchSize }));
          if (events.length === 0) break;
          await this.applyTraced(events);
          this.position = events.at(-1)!.position;
          this.head = Math.max(this.head, this.position);
          this.release();
          if (!this.running || this.paused) break;
          if (this.minIntervalMs > 0 && events.length < this.batchSize) {
            this.again = this.head > this.position;
            break;
          }
        }
      } while (this.again && this.running && !this.paused && this.minIntervalMs === 0);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.logger.error({ err: error, projector: this.projection.name }, 'projection failed; will retry');
      setTimeout(() => this.wake(), 1000).unref();
    } finally {
      this.catchingUp = false;
    }
    // A throttled projector takes what arrived meanwhile in its next interval, as one batch.
    if (this.again && this.minIntervalMs > 0) {
      this.again = false;
      this.wake();
    }
  }

  /**
   * Applies one batch in a span (a no-op while tracing is off) that continues the trace of the batch's first traced event
   * and links up to 32 others, so a request's trace shows the projection of its events.
   */
  private async applyTraced(events: readonly StoredEvent[]): Promise<void> {
    const tracer = trace.getTracer('vespera');
    let parent: Context | undefined;
    const links: Link[] = [];
    const seen = new Set<string>();
    for (const event of events) {
      const traceparent = event.metadata.traceparent;
      if (!traceparent || seen.has(traceparent) || links.length >= 32) continue;
      seen.add(traceparent);
      const ctx = propagation.extract(ROOT_CONTEXT, { traceparent });
      const linked = trace.getSpanContext(ctx);
      if (!linked) continue;
      if (parent) links.push({ context: linked });
      else parent = ctx;
    }
    const attributes = {
      'vespera.projector': this.projection.name,
      'vespera.from_position': events[0]!.position,
      'vespera.to_position': events.at(-1)!.position,
      'vespera.events': events.length,
    };
    await tracer.startActiveSpan(`project ${this.projection.name}`, { attributes, links }, parent ?? context.active(), async (span) => {
      try {
        await this.projection.applyBatch(events);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private wake(): void {
    if (!this.running || this.paused) return;
    if (this.catchingUp) {
      this.again = true;
      return;
    }
    if (this.minIntervalMs > 0) {
      if (this.throttled) return;
      const wait = Math.max(0, this.lastRun + this.minIntervalMs - Date.now());
      this.throttled = setTimeout(() => {
        this.throttled = undefined;
        this.lastRun = Date.now();
        void this.catchUp();
      }, wait);
      return;
    }
    queueMicrotask(() => void this.catchUp());
  }

  private release(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.position <= this.position) {
        clearTimeout(waiter.timer);
        waiter.resolve();
      } else still.push(waiter);
    }
    this.waiters = still;
  }
}
