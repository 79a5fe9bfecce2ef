import { randomUUID } from 'node:crypto';
import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';
import type { Authorizer, Caller } from '../auth/authorizer.js';
import type { AnyOperation } from '../catalog/operation.js';
import type { IdempotencyKeys } from '../idempotency.js';
import { openApiDocument } from '../openapi.js';
import type { Validators } from '../validation.js';
import { accessLog } from './accessLog.js';
import { dashboardRouter } from './dashboard.js';
import { notFoundRoute, problemMiddleware, problemOf, sendProblem } from './problem.js';
import { restRouter } from './router.js';

export type HttpSettings = Readonly<{
  bodyLimitBytes: number;
  corsOrigins: readonly string[];
  /** Requests per minute per token, and per IP for requests without one; 0 disables. */
  rateLimitPerMinute: number;
  anonymousRateLimitPerMinute: number;
  /** Length of a rate-limit window; the limits above count requests per window. */
  rateLimitWindowMs: number;
  metrics: 'public' | 'admin' | 'off';
  /** The web dashboard at `/`; on unless `off`. */
  dashboard?: 'on' | 'off';
}>;

export type HttpDeps = Readonly<{
  operations: readonly AnyOperation[];
  validators: ReadonlyMap<string, Validators>;
  logger: Logger;
  version: string;
  settings: HttpSettings;
  authorizer: Authorizer;
  health: () => Promise<{ status: 'ok' | 'degraded' | 'down' } & Record<string, unknown>>;
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** `/health/ready`: 503 with the reasons while the server should get no traffic. Without it, ready once it answers. */
  ready?: () => Promise<{ ready: boolean } & Record<string, unknown>>;
  /** Each finished request, for the request duration histogram. */
  observeRequest?: (method: string, route: string, status: number, seconds: number) => void;
  /** Remembers Idempotency-Keys per caller (see idempotency.ts). */
  idempotency?: IdempotencyKeys;
  /** Extra routers mounted before the 404 handler (e.g. MCP over HTTP). */
  mount?: (app: Express) => void;
  /**
   * Where the rate limits count, one store per limit (`anonymous`, `token`): shared by every node when given
   * (see sharedRateLimit.ts); this process's memory otherwise.
   */
  rateLimitStore?: (limit: 'anonymous' | 'token') => Store;
}>;

const CORRELATION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

const limiter = (
  perMinute: number,
  windowMs: number,
  key: (caller: Caller | undefined, ip: string) => string | undefined,
  store: Store | undefined,
  logger: Logger,
) =>
  rateLimit({
    windowMs,
    ...(store ? { store, passOnStoreError: true } : {}),
    // The store reports its own outages once (sharedRateLimit.ts); a line per request that passes uncounted is noise.
    logger: {
      error: (error, message) => logger.debug({ err: error }, message ?? 'rate limit'),
      warn: (error, message) => logger.warn({ err: error }, message ?? 'rate limit'),
    },
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skip: (req, res) => perMinute === 0 || req.method === 'OPTIONS' || key(res.locals.caller as Caller | undefined, req.ip ?? '') === undefined,
    keyGenerator: (req, res) => key(res.locals.caller as Caller | undefined, ipKeyGenerator(req.ip ?? '0.0.0.0')) ?? 'none',
    handler: (req, res, _next, options) => {
      const reset = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime?.getTime() ?? Date.now() + options.windowMs;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((reset - Date.now()) / 1000))));
      const message = `Too many requests: at most ${perMinute} every ${Math.round(windowMs / 1000)} s.`;
      sendProblem(res, problemOf(new DomainError('RATE_LIMITED', 429, message, {}, 'Wait for Retry-After seconds.')));
    },
  });

/**
 * helmet's headers, worked out once: with its default settings (no directive computed per request) they are the same
 * for every response, and setting them from a list costs a fraction of running its thirteen middlewares each time.
 */
const securityHeaders = (): RequestHandler => {
  const headers: Array<[string, string | number | readonly string[]]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => void headers.push([name, value]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let failure: unknown;
  helmet()({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => void (failure = error));
  if (failure) throw failure;
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
};

/** The express application: security headers, public health and OpenAPI, the catalog under /api/v1, problem+json errors. */
export const httpApp = (deps: HttpDeps): Express => {
  const { settings, authorizer } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use(securityHeaders());
  app.use(
    cors({
      origin: settings.corsOrigins.length > 0 ? [...settings.corsOrigins] : false,
      exposedHeaders: ['ETag', 'X-Vespera-Position', 'X-Correlation-Id', 'Retry-After', 'Mcp-Session-Id'],
    }),
  );
  app.use((req, res, next) => {
    const incoming = req.get('x-correlation-id');
    res.setHeader('X-Correlation-Id', incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID());
    next();
  });
  app.use(accessLog({ logger: deps.logger, ...(deps.observeRequest ? { observe: deps.observeRequest } : {}) }));

  const openapi = openApiDocument(deps.operations, deps.version);
  app.get('/health', async (_req, res) => {
    const health = await deps.health();
    res.status(health.status === 'down' ? 503 : 200).json(health);
  });
  // Liveness: the process answers; nothing else is checked, so a slow dependency never gets the pod restarted.
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get('/health/ready', async (_req, res) => {
    const ready = deps.ready ? await deps.ready() : { ready: true };
    res.status(ready.ready ? 200 : 503).json({ status: ready.ready ? 'ready' : 'not_ready', ...ready });
  });
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  // The web dashboard's files (docs/dashboard.md): public like the OpenAPI document, since they hold no data; the
  // page asks for a token and sends it on every API call.
  if (settings.dashboard !== 'off') app.use(dashboardRouter());

  // Who is calling. A request whose authentication fails counts against its address like an anonymous one, so
  // guessing tokens meets the per-IP limit (429) before its refusal (401/422) is sent; a missing token is refused
  // only where an operation needs one.
  app.use(async (req, res, next) => {
    try {
      res.locals.caller = await authorizer.authenticate(req.get('authorization'), req.get('x-vespera-role'));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      res.locals.authFailure = error;
    }
    next();
  });
  const anonymousKey = (caller: Caller | undefined, ip: string) => (caller?.pluginId ? undefined : `ip:${ip}`);
  const tokenKey = (caller: Caller | undefined) => (caller?.jti ? `token:${caller.jti}` : undefined);
  app.use(limiter(settings.anonymousRateLimitPerMinute, settings.rateLimitWindowMs, anonymousKey, deps.rateLimitStore?.('anonymous'), deps.logger));
  app.use(limiter(settings.rateLimitPerMinute, settings.rateLimitWindowMs, tokenKey, deps.rateLimitStore?.('token'), deps.logger));
  app.use((_req, res, next) => {
    if (res.locals.authFailure) throw res.locals.authFailure as DomainError;
    next();
  });

  if (settings.metrics !== 'off') {
    app.get('/metrics', async (_req, res) => {
      if (settings.metrics === 'admin') authorizer.authorize(res.locals.caller as Caller | undefined, 'admin');
      const { contentType, body } = await deps.metrics();
      res.type(contentType).send(body);
    });
  }
  const jsonTypes = ['application/json', 'application/*+json'];
  // Routes that take whole files parse their bodies first with their own limit; the parser below then skips them.
  for (const op of deps.operations) {
    if (op.bodyLimitBytes === undefined || op.method === 'get' || op.method === 'delete') continue;
    app[op.method](`/api/v1${op.path}`, express.json({ limit: Math.max(op.bodyLimitBytes, settings.bodyLimitBytes), strict: true, type: jsonTypes }));
  }
  app.use(express.json({ limit: settings.bodyLimitBytes, strict: true, type: jsonTypes }));
  deps.mount?.(app);
  app.use('/api/v1', restRouter(deps));
  app.use(notFoundRoute);
  app.use(problemMiddleware(deps.logger));
  return app;
};
