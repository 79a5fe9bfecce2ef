import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import { RedisStore, type RedisReply } from 'rate-limit-redis';

/** Sends one raw command to Redis (ioredis' `call`), rejecting at once while Redis is away. */
export type RedisCommand = (command: string, ...args: string[]) => Promise<RedisReply>;

/**
 * A rate-limit counter kept in Redis, so every node behind a load balancer spends one budget per token and
 * per address (rate-limit-redis: one Lua script per hit, the window's expiry set by Redis).
 *
 * Redis being away must not take the API down with it: a failed count lets the request through (express-rate-
 * limit's `passOnStoreError`, logged once per outage), and the next request loads the scripts again, so limits
 * come back by themselves when Redis does — rate-limit-redis alone would keep the failed script load forever.
 */
export class SharedRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly inner: RedisStore;
  private options: Options | undefined;
  private loading: Promise<void> | undefined;
  private failing = false;

  constructor(
    send: RedisCommand,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.prefix = prefix;
    this.inner = new RedisStore({ sendCommand: (command: string, ...args: string[]) => send(command, ...args), prefix });
  }

  init(options: Options): void {
    this.options = options;
    this.load();
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.guard(() => this.inner.get(key));
  }

  async increment(key: string): Promise<IncrementResponse> {
    return this.guard(() => this.inner.increment(key));
  }

  async decrement(key: string): Promise<void> {
    await this.guard(() => this.inner.decrement(key));
  }

  async resetKey(key: string): Promise<void> {
    await this.guard(() => this.inner.resetKey(key));
  }

  private load(): Promise<void> {
    if (this.loading === undefined && this.options !== undefined) {
      // A failed load is tried again by the next call (and reported by the call that waits for it).
      const loading = this.inner.init(this.options).catch(() => {
        if (this.loading === loading) this.loading = undefined;
      });
      this.loading = loading;
    }
    return this.loading ?? Promise.resolve();
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    await this.load();
    try {
      const result = await call();
      if (this.failing) this.logger.info({ prefix: this.prefix }, 'shared rate limits are counted in Redis again');
      this.failing = false;
      return result;
    } catch (error) {
      this.loading = undefined;
      if (!this.failing)
        this.logger.warn({ err: error, prefix: this.prefix }, 'Redis does not answer: requests pass without a shared rate limit until it does');
      this.failing = true;
      throw error;
    }
  }
}
