import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Caller } from '../auth/authorizer.js';
import { activeTraceparent, runInRequestScope, validTraceparent, type RequestScope } from '../requestScope.js';

export type AccessLogDeps = Readonly<{
  logger: Logger;
  /** Called once per finished request with its route pattern (`unmatched` when no route answered). */
  observe?: (method: string, route: string, status: number, seconds: number) => void;
}>;

/** Probes and scrapes, logged at debug: they arrive every few seconds and say nothing about users. */
const QUIET = /^\/(health(\/.*)?|metrics)$/;

const START = Symbol('vespera.accessLog.start');
const SCOPE = Symbol('vespera.accessLog.scope');
type Timed = Response & { [START]?: bigint; [SCOPE]?: RequestScope };

const joinRoute = (base: string, route: string) => {
  const joined = `${base}${route === '/' && base ? '' : route}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined || '/';
};

/**
 * Records the route pattern of the handler that runs now (`/api/v1/tasks/:id`), for a handler whose errors travel on to
 * app-level middleware: by then express has set `req.baseUrl` back to the app's.
 */
export const noteRoute = (req: Request, res: Response): void => {
  if (req.route) res.locals.routePattern = joinRoute(req.baseUrl, String((req.route as { path: string }).path));
};

/** The route pattern of a request, never its raw path: a pattern has no ids in it. */
export const routeOf = (req: Request, res: Response): string => {
  const noted = res.locals.routePattern as string | undefined;
  if (noted) return noted;
  if (req.route) return joinRoute(req.baseUrl, String((req.route as { path: string }).path));
  return 'unmatched';
};

/**
 * One line per request (pino-http): method, route pattern, status, ms, actor, role, operation, tool, correlationId;
 * `/health*` and `/metrics` at debug, 5xx at error, everything else at info (a 4xx is the caller's mistake, counted by
 * `vespera_refusals_total`). Never a header, a body or the raw URL. Also the request's server span (W3C `traceparent`
 * continued when valid) and the request duration histogram.
 */
export const accessLog = ({ logger, observe }: AccessLogDeps): RequestHandler => {
  const tracer = trace.getTracer('vespera');
  const fields = (req: Request, res: Response) => {
    const timed = res as Timed;
    const caller = res.locals.caller as Caller | undefined;
    const scope = timed[SCOPE];
    const ms = Number(process.hrtime.bigint() - (timed[START] ?? process.hrtime.bigint())) / 1e6;
    return {
      method: req.method,
      route: routeOf(req, res),
      status: res.statusCode,
      ms: Math.round(ms * 100) / 100,
      ...(caller ? { actor: caller.actor } : {}),
      ...(caller?.role ? { role: caller.role } : {}),
      ...(scope?.operation ? { operation: scope.operation } : {}),
      ...(scope?.tool ? { tool: scope.tool } : {}),
      ...(res.writableFinished ? {} : { aborted: true }),
    };
  };
  const http = pinoHttp({
    logger,
    genReqId: (_req, res) => String(res.getHeader('x-correlation-id') ?? ''),
    customAttributeKeys: { reqId: 'correlationId' },
    quietReqLogger: true,
    quietResLogger: true,
    wrapSerializers: false,
    serializers: { req: () => undefined, res: () => undefined, err: () => undefined },
    customLogLevel: (req, res, err) => (QUIET.test(req.url ?? '') ? 'debug' : err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessObject: (req, res) => fields(req as Request, res as Response),
    customErrorObject: (req, res) => fields(req as Request, res as Response),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
  });
  return (req, res, next) => {
    const timed = res as Timed;
    timed[START] = process.hrtime.bigint();
    const incoming = validTraceparent(req.get('traceparent'));
    const tracestate = req.get('tracestate');
    const parent = incoming
      ? propagation.extract(ROOT_CONTEXT, { traceparent: incoming, ...(tracestate && tracestate.length <= 512 ? { tracestate } : {}) })
      : ROOT_CONTEXT;
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    const active = trace.setSpan(parent, span);
    const scope: RequestScope = {};
    timed[SCOPE] = scope;
    res.once('close', () => {
      const route = routeOf(req, res);
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
      if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      observe?.(req.method, route, res.statusCode, Number(process.hrtime.bigint() - timed[START]!) / 1e9);
    });
    context.with(active, () => {
      // Tracing on: the events carry this request's span; off: the traceparent the caller sent, as it was.
      const traceparent = activeTraceparent() ?? incoming;
      if (traceparent) scope.traceparent = traceparent;
      runInRequestScope(scope, () => http(req, res, next));
    });
  };
};
