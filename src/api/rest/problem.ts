import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export type Problem = {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  hint?: string;
  correlationId?: string;
  [extra: string]: unknown;
};

export const problemOf = (error: DomainError, correlationId?: string): Problem => ({
  ...error.details,
  type: `https://vespera.dev/problems/${error.code.toLowerCase().replaceAll('_', '-')}`,
  title: TITLES[error.status] ?? 'Error',
  status: error.status,
  code: error.code,
  detail: error.message,
  ...(error.hint ? { hint: error.hint } : {}),
  ...(correlationId ? { correlationId } : {}),
});

export const sendProblem = (res: Response, problem: Problem): void => {
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
};

/** Errors thrown by body-parser carry a `type`; map the ones a client can cause. */
const fromBodyParser = (error: { type?: string; status?: number; limit?: number }): DomainError | undefined => {
  switch (error.type) {
    case 'entity.parse.failed':
      return new DomainError('MALFORMED_JSON', 400, 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new DomainError('PAYLOAD_TOO_LARGE', 413, `The request body exceeds the limit of ${error.limit ?? 'the server'} bytes.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new DomainError('UNSUPPORTED_ENCODING', 415, 'The request body encoding is not supported; send UTF-8 JSON.');
    case 'request.aborted':
      return new DomainError('REQUEST_ABORTED', 400, 'The request was aborted before its body arrived.');
    default:
      // Other client errors raised by express or body-parser (bad percent-encoding, bad gzip): keep their status.
      if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
        return new DomainError('BAD_REQUEST', error.status, 'The request could not be read: check its encoding, path and body.');
      }
      return undefined;
  }
};

export const notFoundRoute: RequestHandler = (req, res) =>
  sendProblem(
    res,
    problemOf(
      new DomainError('ROUTE_NOT_FOUND', 404, `No route ${req.method} ${req.path}.`),
      String(res.getHeader('x-correlation-id') ?? '') || undefined,
    ),
  );

/** Mounted last: every error becomes application/problem+json; unknown ones are 500 with a correlation id. */
export const problemMiddleware =
  (logger: Logger): ErrorRequestHandler =>
  (error: unknown, req, res, _next) => {
    const correlationId = String(res.getHeader('x-correlation-id') ?? '');
    const known = error instanceof DomainError ? error : fromBodyParser(error as { type?: string });
    if (known) {
      if (known.status >= 500) logger.warn({ code: known.code, correlationId }, known.message);
      return sendProblem(res, problemOf(known, correlationId || undefined));
    }
    logger.error({ err: error, correlationId, method: req.method, path: req.path }, 'unhandled error');
    sendProblem(
      res,
      problemOf(
        new DomainError('INTERNAL_ERROR', 500, 'Something went wrong on our side; the correlation id identifies it in the log.'),
        correlationId,
      ),
    );
  };
