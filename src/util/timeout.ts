import { DomainError } from '../errors.js';

/** A dependency (Chroma, Redis, a worker thread) did not answer in time. A 503 if it reaches a caller. */
export class TimeoutError extends DomainError {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(
      'DEPENDENCY_TIMEOUT',
      503,
      `${what} did not answer within ${ms} ms.`,
      { what, ms },
      'Retry shortly; GET /health names the dependency that stopped answering.',
    );
  }
}

/**
 * Settles like `promise`, or rejects with a TimeoutError after `ms`. The work itself is not cancelled
 * (a late answer is dropped), so wrap only calls whose late completion is harmless: idempotent writes and reads.
 */
export const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
