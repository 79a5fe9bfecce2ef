import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';
import type { EventLogReader, StoredEvent } from '../../events/types.js';
import { requireSubscriber, streamReader, type FeedCaller } from './access.js';

export type { FeedCaller } from './access.js';

/**
 * The live feed: one hub over the global log that hands events to subscriptions in position order. A subscription
 * catches up from the log in pages, then follows what the store announces (`onAppended`). It reads only the log,
 * never a read model, so rebuilds and replays of projections never reach it.
 */

/** What the feed reads: the log and its append announcements (every EventStore is one). */
export type FeedLog = Pick<EventLogReader, 'readAll' | 'headPosition'> & {
  onAppended(listener: (position: number, events?: readonly StoredEvent[]) => void): () => void;
};

export type FeedFilter = Readonly<{ projectId?: string; taskId?: string; types?: readonly string[] }>;

/** One transport connection (a WebSocket or an SSE response) as the hub sees it. */
export interface FeedSink {
  /** Queues one event; `body` is the event's JSON members without braces (shared by every subscriber). */
  event(sub: string, event: StoredEvent, body: string): void;
  caughtUp(sub: string, position: number): void;
  /** Bytes queued in this process and not yet handed to the kernel. */
  buffered(): number;
  /** Resolves when the queue has emptied (or the connection is gone). */
  drained(): Promise<void>;
  /** Ends the connection; resolves once it is closed. */
  end(code: number, reason: string): Promise<void>;
}

export type FeedOptions = Readonly<{
  /** Per-connection cap on queued bytes: past it live delivery stops and the consumer reads the log at its own pace. */
  bufferBytes: number;
  /** Longest a consumer past half the cap may take to drain before it is dropped (close 4008). */
  stallMs: number;
  /** Subscriptions one connection may hold. */
  maxSubscriptions?: number;
  /** Events read per catch-up page. */
  pageSize?: number;
  logger?: Logger;
}>;

export type FeedStats = { connections: number; subscriptions: number; dropped: number };

/** Longest one fan-out slice holds the event loop before yielding to other work. */
const FAN_OUT_SLICE_MS = 2;
/** Events the hub may hold for live delivery; past it live subscriptions read the log instead (memory stays bounded). */
const MAX_QUEUED = 10_000;

/** Close codes the feed uses (docs/feed.md#close-codes). */
export const CLOSE = { normal: 1000, goingAway: 1001, idle: 4000, unauthenticated: 4001, forbidden: 4003, slowConsumer: 4008 } as const;

const matcher = (filter: FeedFilter): ((event: StoredEvent) => boolean) => {
  const stream = filter.projectId === undefined ? undefined : `project-${filter.projectId}`;
  const types = filter.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
  const { taskId } = filter;
  return (event) =>
    (stream === undefined || event.streamId === stream) &&
    (types === undefined || types.has(event.type)) &&
    (taskId === undefined || (event.data as { taskId?: unknown }).taskId === taskId);
};

/** An event's JSON, serialised once however many subscribers receive it. */
const bodies = new WeakMap<StoredEvent, string>();
const bodyOf = (event: StoredEvent): string => {
  let body = bodies.get(event);
  if (body === undefined) {
    const { position, type, streamId, data, metadata, recordedAt } = event;
    body = JSON.stringify({ position, type, streamId, data, metadata, recordedAt }).slice(1, -1);
    bodies.set(event, body);
  }
  return body;
};

class Subscription {
  /** The last position this subscription has looked at (delivered or filtered out). */
  cursor: number;
  live = false;
  stopped = false;
  readonly matches: (event: StoredEvent) => boolean;

  constructor(
    readonly id: string,
    filter: FeedFilter,
    fromPosition: number,
    readonly connection: FeedConnection,
  ) {
    this.cursor = fromPosition - 1;
    this.matches = matcher(filter);
  }

  /** A live event from the hub: anything at or below the cursor was already seen in catch-up. */
  offer(event: StoredEvent): void {
    if (this.stopped || event.position <= this.cursor) return;
    this.cursor = event.position;
    if (this.matches(event)) this.connection.deliver(this.id, event, true);
  }
}

/** One client connection: its caller, its subscriptions and what it was last sent. */
export class FeedConnection {
  /** Position of the last event sent on this connection (in the close reason). */
  lastPosition = 0;
  closed = false;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly readable: (streamId: string) => boolean;

  constructor(
    private readonly hub: Feed,
    readonly caller: FeedCaller,
    private readonly sink: FeedSink,
  ) {
    this.readable = streamReader(caller.capabilities);
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /**
   * Starts a subscription at `fromPosition` (inclusive; omitted: from now on). Resolves once it is live (after
   * `caught_up` was sent); refusals are DomainErrors with the stable codes of docs/feed.md#errors.
   */
  async subscribe(id: string, filter: FeedFilter, fromPosition?: number): Promise<void> {
    requireSubscriber(this.caller);
    if (this.closed) return;
    if (this.subscriptions.has(id)) throw new DomainError('SUBSCRIPTION_EXISTS', 409, `Subscription \`${id}\` already exists on this connection.`);
    if (this.subscriptions.size >= this.hub.maxSubscriptions) {
      throw new DomainError('TOO_MANY_SUBSCRIPTIONS', 429, `A connection holds at most ${this.hub.maxSubscriptions} subscriptions.`);
    }
    const start = fromPosition ?? this.hub.position + 1;
    if (fromPosition !== undefined) await this.hub.checkFrom(fromPosition);
    const subscription = new Subscription(id, filter, Math.max(1, start), this);
    this.subscriptions.set(id, subscription);
    this.hub.changed();
    try {
      await this.hub.catchUp(this, subscription);
    } catch (error) {
      this.unsubscribe(id);
      throw error;
    }
  }

  unsubscribe(id: string): boolean {
    const subscription = this.subscriptions.get(id);
    if (!subscription) return false;
    subscription.stopped = true;
    this.subscriptions.delete(id);
    this.hub.leave(subscription);
    return true;
  }

  /** Ends the connection with `code`; the reason carries the last position sent, the point to resume after. */
  end(code: number, why: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const id of [...this.subscriptions.keys()]) this.unsubscribe(id);
    this.hub.disconnect(this);
    return this.sink.end(code, `${why}; lastPosition=${this.lastPosition}`);
  }

  /** The transport went away on its own (the client closed it). */
  gone(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.subscriptions.keys()]) this.unsubscribe(id);
    this.hub.disconnect(this);
  }

  /**
   * @internal Hands one event (already matched by the subscription) to the transport, unless the caller may not
   * read it. A live event that takes the queue past the cap sends the connection's subscriptions back to reading
   * the log at the consumer's pace (`Feed.fallBehind`), so a burst never grows the queue further.
   */
  deliver(sub: string, event: StoredEvent, live: boolean): void {
    if (this.closed || !this.readable(event.streamId)) return;
    this.sink.event(sub, event, bodyOf(event));
    this.lastPosition = event.position;
    if (live && this.sink.buffered() > this.hub.bufferBytes) this.hub.fallBehind(this);
  }

  /** @internal */
  liveSubscriptions(): Subscription[] {
    return [...this.subscriptions.values()].filter((s) => s.live);
  }

  /** @internal */
  caughtUp(subscription: Subscription): void {
    if (!this.closed && !subscription.stopped) this.sink.caughtUp(subscription.id, subscription.cursor);
  }

  buffered(): number {
    return this.sink.buffered();
  }

  /** @internal Whether the transport holds more than half the cap: a catch-up then waits (`pressure`). */
  pressed(): boolean {
    return this.sink.buffered() > this.hub.bufferBytes / 2;
  }

  /** @internal Waits for the transport to drain; false when it did not within the stall limit. */
  async pressure(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.hub.stallMs);
    });
    const drained = await Promise.race([this.sink.drained().then(() => true), stalled]);
    clearTimeout(timer);
    return drained && !this.closed;
  }
}

/** The hub: one listener on the store, every connection and live subscription of this process. */
export class Feed {
  readonly bufferBytes: number;
  readonly stallMs: number;
  readonly maxSubscriptions: number;
  private readonly pageSize: number;
  private readonly connections = new Set<FeedConnection>();
  private readonly live = new Set<Subscription>();
  private subscriptionCount = 0;
  private dropped = 0;
  /** Every event up to here has been handed to the live subscriptions. */
  private dispatched = 0;
  /** The highest position the store has announced. */
  private target = 0;
  private pumping = false;
  /** Events accepted for live delivery, not yet offered to every live subscription (oldest first). */
  private queue: StoredEvent[] = [];
  private queueHead = 0;
  /** The live set the event at the queue's head is being offered to, and how far that got. */
  private fanning: { subscriptions: Subscription[]; at: number } | undefined;
  private fanOutScheduled = false;
  private closing = false;
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly log: FeedLog,
    private readonly options: FeedOptions,
  ) {
    this.bufferBytes = options.bufferBytes;
    this.stallMs = options.stallMs;
    this.maxSubscriptions = options.maxSubscriptions ?? 100;
    this.pageSize = options.pageSize ?? 1000;
  }

  /** Listens to the store from its current head. */
  async start(): Promise<void> {
    this.unlisten = this.log.onAppended((position, events) => this.announced(position, events));
    const head = await this.log.headPosition();
    this.dispatched = Math.max(this.dispatched, head);
    this.target = Math.max(this.target, head);
  }

  /** The position live delivery has reached. */
  get position(): number {
    return this.dispatched;
  }

  get accepting(): boolean {
    return !this.closing;
  }

  connect(caller: FeedCaller, sink: FeedSink): FeedConnection {
    const connection = new FeedConnection(this, caller, sink);
    if (this.closing) {
      connection.closed = true;
      void sink.end(CLOSE.goingAway, 'server shutting down; lastPosition=0');
      return connection;
    }
    this.connections.add(connection);
    return connection;
  }

  stats(): { connections: number; subscriptions: number; dropped: number } {
    return { connections: this.connections.size, subscriptions: this.subscriptionCount, dropped: this.dropped };
  }

  /** Bytes queued for all connections and not yet handed to the kernel (bounded by connections × bufferBytes). */
  bufferedBytes(): number {
    let total = 0;
    for (const connection of this.connections) total += connection.buffered();
    return total;
  }

  /** Closes every connection with `code` and the last position each was sent; resolves when all are closed. */
  async close(code: number = CLOSE.goingAway): Promise<void> {
    this.closing = true;
    this.unlisten?.();
    this.unlisten = undefined;
    const why = code === CLOSE.goingAway ? 'server shutting down' : 'feed closed';
    await Promise.all([...this.connections].map((c) => c.end(code, why)));
  }

  /** @internal A resume point past the head of the log is refused: it names events that do not exist. */
  async checkFrom(fromPosition: number): Promise<void> {
    const head = Math.max(this.target, await this.log.headPosition());
    if (fromPosition > head + 1) {
      throw new DomainError('POSITION_NOT_REACHED', 400, `Log position ${fromPosition} does not exist yet; the log ends at ${head}.`, {
        position: fromPosition,
        head,
      });
    }
  }

  /** @internal */
  changed(): void {
    this.subscriptionCount += 1;
  }

  /** @internal */
  leave(subscription: Subscription): void {
    this.live.delete(subscription);
    this.subscriptionCount -= 1;
  }

  /** @internal */
  disconnect(connection: FeedConnection): void {
    this.connections.delete(connection);
  }

  /**
   * @internal A connection whose queue passed the cap: its live subscriptions leave the live set and read the log
   * from their cursors again, paced by the consumer. One that does not drain within `stallMs` is dropped (4008).
   */
  fallBehind(connection: FeedConnection): void {
    for (const subscription of connection.liveSubscriptions()) {
      subscription.live = false;
      this.live.delete(subscription);
      this.catchUp(connection, subscription).catch((error: unknown) => {
        this.options.logger?.error({ err: error }, 'a lagging feed subscription could not read the log');
        void connection.end(CLOSE.goingAway, 'log unavailable');
      });
    }
  }

  /** @internal A consumer that stopped draining: closed with 4008 so memory stays bounded. */
  drop(connection: FeedConnection): void {
    if (connection.closed) return;
    this.dropped += 1;
    this.options.logger?.info({ actor: connection.caller.actor, lastPosition: connection.lastPosition }, 'slow feed consumer dropped');
    void connection.end(CLOSE.slowConsumer, 'slow consumer');
  }

  /**
   * Reads the log from the subscription's cursor in pages until it has reached what the hub has handed out live,
   * then joins the live set in the same tick: every later event reaches it through `offer`, and anything it read
   * past the hub's position is skipped there. No live event is buffered while catching up.
   */
  async catchUp(connection: FeedConnection, subscription: Subscription): Promise<void> {
    const gone = () => subscription.stopped || connection.closed;
    for (;;) {
      if (connection.pressed() && !(await connection.pressure())) return this.drop(connection);
      if (gone()) return;
      if (subscription.cursor >= this.dispatched) break;
      const page = await this.log.readAll({ fromPosition: subscription.cursor, maxCount: this.pageSize });
      if (gone()) return;
      if (page.length === 0) break;
      for (const event of page) {
        if (event.position <= subscription.cursor) continue;
        subscription.cursor = event.position;
        if (!subscription.matches(event)) continue;
        connection.deliver(subscription.id, event, false);
        if (connection.pressed() && !(await connection.pressure())) return this.drop(connection);
        if (gone()) return;
      }
    }
    subscription.live = true;
    this.live.add(subscription);
    connection.caughtUp(subscription);
  }

  private announced(position: number, events?: readonly StoredEvent[]): void {
    if (this.closing || position <= this.dispatched) return;
    this.target = Math.max(this.target, position);
    // The store's own events arrive in order; when they start right after the last one handed out, use them.
    if (!this.pumping && events && events.length > 0 && events[0]!.position === this.dispatched + 1) {
      for (const event of events) if (event.position > this.dispatched) this.dispatch(event);
    } else if (!this.pumping && this.live.size === 0) {
      // Nobody listens live: catching-up subscriptions read up to the new position from the log themselves.
      this.dispatched = this.target;
    }
    if (this.dispatched < this.target) void this.pump();
  }

  /** Reads from the log what the announcements did not carry (another process's appends, EventStoreDB). */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closing && this.dispatched < this.target) {
        const page = await this.log.readAll({ fromPosition: this.dispatched, maxCount: this.pageSize });
        if (page.length === 0) break;
        for (const event of page) if (event.position > this.dispatched) this.dispatch(event);
      }
    } catch (error) {
      this.options.logger?.error({ err: error }, 'the live feed could not read the log; it tries again at the next append');
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(event: StoredEvent): void {
    this.dispatched = event.position;
    if (this.live.size === 0) return;
    this.queue.push(event);
    if (this.queue.length - this.queueHead > MAX_QUEUED) return this.overloaded();
    if (!this.fanOutScheduled) this.fanOut();
  }

  /**
   * Offers the queued events to the live subscriptions in order, yielding after a slice of time so a fan-out to
   * thousands of sockets never holds the event loop (and the requests waiting on it) for long.
   */
  private fanOut(): void {
    const started = performance.now();
    while (this.queueHead < this.queue.length) {
      const event = this.queue[this.queueHead]!;
      this.fanning ??= { subscriptions: [...this.live], at: 0 };
      const { subscriptions } = this.fanning;
      while (this.fanning.at < subscriptions.length) {
        const subscription = subscriptions[this.fanning.at++]!;
        // One that left the live set meanwhile reads this event from the log; one that rejoined is past it.
        if (subscription.live) subscription.offer(event);
        if ((this.fanning.at & 63) === 0 && performance.now() - started > FAN_OUT_SLICE_MS) {
          this.fanOutScheduled = true;
          setImmediate(() => {
            this.fanOutScheduled = false;
            this.fanOut();
          });
          return;
        }
      }
      this.fanning = undefined;
      this.queueHead += 1;
    }
    this.queue = [];
    this.queueHead = 0;
  }

  /** Appends outrun the fan-out: every live subscription goes back to reading the log at its own pace. */
  private overloaded(): void {
    const connections = new Set([...this.live].map((s) => s.connection));
    this.queue = [];
    this.queueHead = 0;
    this.fanning = undefined;
    this.options.logger?.warn({ connections: connections.size }, 'the live feed fell behind the log; subscriptions read it at their own pace');
    for (const connection of connections) this.fallBehind(connection);
  }
}
