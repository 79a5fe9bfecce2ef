/**
 * Business refusals and request errors carry a stable `code` and their HTTP status; one middleware
 * (REST) and one mapper (MCP) turn them into problem documents. Anything else is an internal error.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export const notFound = (code: string, message: string, details: Record<string, unknown> = {}) => new DomainError(code, 404, message, details);

export const conflict = (code: string, message: string, details: Record<string, unknown> = {}, hint?: string) =>
  new DomainError(code, 409, message, details, hint);

export const unprocessable = (code: string, message: string, details: Record<string, unknown> = {}, hint?: string) =>
  new DomainError(code, 422, message, details, hint);

export const badRequest = (code: string, message: string, details: Record<string, unknown> = {}) => new DomainError(code, 400, message, details);

/** The operator's configuration is wrong (environment, tool selection, missing token): the process refuses to start. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** The stream moved on since the caller (or our cache) read it. */
export class ConcurrencyError extends DomainError {
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: number,
  ) {
    super(
      'CONCURRENCY_CONFLICT',
      412,
      `Stream ${streamId} is at revision ${actual}, expected ${expected}.`,
      {
        streamId,
        expected,
        actual,
      },
      'Read the resource again and retry with its current ETag.',
    );
  }
}

/** The event store does not answer (down, restarting, unreachable): nothing was written; retry once it is back. */
export class EventStoreUnavailableError extends DomainError {
  constructor(
    /** The store's address without its password. */
    readonly url: string,
    reason: string,
  ) {
    super(
      'EVENT_STORE_UNAVAILABLE',
      503,
      `The event store at ${url} is unavailable (${reason}); nothing was written.`,
      { url },
      'Retry in a few seconds; the operator should check that the event store is running.',
    );
  }
}

/** A connection string fit for logs and messages: the password removed. */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1@');
  }
};
