import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Request, RequestHandler, Response } from 'express';
import type { Level, Logger } from 'pino';
import type { Caller } from '../auth/authorizer.js';
import { activeTraceparent, validTraceparent } from '../traceContext.js';

export type AccessLogDeps = Readonly<{
  logger: Logger;
  /** Called once per finished request with its route pattern (`unmatched` when no route answered). */
  observe?: (method: string, route: string, status: number, seconds: number) => void;
}>;

/** Probes and scrapes, logged at debug: they arrive every few seconds and say nothing about users. */
const QUIET = /^\/(health(\/.*)?|metrics)$/;
/** An MCP tool name as the catalog spells them; anything else a client sends is not echoed into the log. */
const TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;

const joinRoute = (base: string, route: string) => {
  const joined = `${base}${route === '/' && base ? '' : route}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined || '/';
};

/**
 * Records the route pattern (`/api/v1/tasks/:id`) and the catalog operation of the handler that runs now: by the time
 * an error reaches the app-level problem handler, express has set `req.baseUrl` back to the app's.
 */
export const noteRoute = (req: Request, res: Response, operation?: string, pattern?: string): void => {
  // `pattern`: the route a router other than express's matched (the catalog's), relative to where it is mounted.
  const route = pattern ?? (req.route as { path: string } | undefined)?.path;
  if (route !== undefined) res.locals.routePattern = joinRoute(req.baseUrl, String(route));
  if (operation) res.locals.operation = operation;
};

/** The route pattern of a request, never its raw path: a pattern has no ids in it. */
export const routeOf = (req: Request, res: Response): string => {
  const noted = res.locals.routePattern as string | undefined;
  if (noted) return noted;
  if (req.route) return joinRoute(req.baseUrl, String((req.route as { path: string }).path));
  return 'unmatched';
};

/** The surface as the events record it: `mcp:<tool>` for an MCP tools/call, `rest` for a catalog route. */
const toolOf = (req: Request, res: Response): string | undefined => {
  if (res.locals.operation) return 'rest';
  const body = req.body as { method?: unknown; params?: { name?: unknown } } | undefined;
  if (body && typeof body === 'object' && body.method === 'tools/call') {
    const name = body.params?.name;
    if (typeof name === 'string' && TOOL_NAME.test(name)) return `mcp:${name}`;
  }
  return undefined;
};

/** 5xx (or a response cut off) at error, probes and scrapes at debug, the rest (4xx included) at info. */
const levelOf = (req: Request, res: Response): Level =>
  res.statusCode >= 500 || !res.writableFinished ? 'error' : QUIET.test(req.originalUrl.split('?')[0]!) ? 'debug' : 'info';

/**
 * One line per request: method, route pattern, status, ms, actor, role, operation, tool, correlationId; `/health*`
 * and `/metrics` at debug, 5xx at error, everything else at info (a 4xx is the caller's mistake, counted by
 * `vespera_refusals_total`). Never a header, a body or the raw URL. Also the request's server span (W3C
 * `traceparent` continued when valid), the traceparent the request's events carry (`res.locals.traceparent`) and
 * the request duration histogram.
 *
 * Written on pino directly rather than through pino-http: pino-http makes two child loggers per request. Measured in
 * one process (express, keep-alive, 8 connections, a JSON answer): +60 µs of CPU per request with pino-http 11 even
 * with quiet loggers and minimal serializers, +15 µs here — a quarter of a whole `GET /api/v1/tasks/:id`.
 */
export const accessLog = ({ logger, observe }: AccessLogDeps): RequestHandler => {
  const tracer = trace.getTracer('vespera');
  const log = (req: Request, res: Response, seconds: number, route: string) => {
    const level = levelOf(req, res);
    if (!logger.isLevelEnabled(level)) return;
    const caller = res.locals.caller as Caller | undefined;
    const operation = res.locals.operation as string | undefined;
    const tool = toolOf(req, res);
    const correlationId = res.getHeader('x-correlation-id');
    logger[level](
      {
        method: req.method,
        route,
        status: res.statusCode,
        ms: Math.round(seconds * 100_000) / 100,
        ...(caller ? { actor: caller.actor } : {}),
        ...(caller?.role ? { role: caller.role } : {}),
        ...(operation ? { operation } : {}),
        ...(tool ? { tool } : {}),
        ...(correlationId ? { correlationId: String(correlationId) } : {}),
        ...(res.writableFinished ? {} : { aborted: true }),
      },
      res.writableFinished ? 'request' : 'request aborted',
    );
  };
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    const incoming = validTraceparent(req.get('traceparent'));
    const tracestate = req.get('tracestate');
    const parent = incoming
      ? propagation.extract(ROOT_CONTEXT, { traceparent: incoming, ...(tracestate && tracestate.length <= 512 ? { tracestate } : {}) })
      : ROOT_CONTEXT;
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req, res);
      if (span.isRecording()) {
        span.updateName(`${req.method} ${route}`);
        span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
        if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      observe?.(req.method, route, res.statusCode, seconds);
      log(req, res, seconds, route);
    });
    context.with(trace.setSpan(parent, span), () => {
      // Tracing on: the events carry this request's span; off: the traceparent the caller sent, as it was.
      const traceparent = activeTraceparent() ?? incoming;
      if (traceparent) res.locals.traceparent = traceparent;
      next();
    });
  };
};
