import { randomUUID } from 'node:crypto';
import express, { type Express, type Request } from 'express';
import type { Logger } from 'pino';
import type { AnyOperation } from '../catalog/operation.js';
import { openApiDocument } from '../openapi.js';
import type { Validators } from '../validation.js';
import { notFoundRoute, problemMiddleware } from './problem.js';
import { restRouter, type Caller } from './router.js';

export type HttpDeps = Readonly<{
  operations: readonly AnyOperation[];
  validators: ReadonlyMap<string, Validators>;
  logger: Logger;
  version: string;
  bodyLimitBytes: number;
  health: () => Promise<{ status: 'ok' | 'degraded' | 'down' } & Record<string, unknown>>;
  authorize: (req: Request, operation: AnyOperation) => Promise<Caller>;
}>;

const CORRELATION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The express application: public health and OpenAPI, the catalog under /api/v1, problem+json for every error. */
export const httpApp = (deps: HttpDeps): Express => {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const incoming = req.get('x-correlation-id');
    res.setHeader('X-Correlation-Id', incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID());
    next();
  });
  app.use(express.json({ limit: deps.bodyLimitBytes, strict: true, type: ['application/json', 'application/*+json'] }));

  const openapi = openApiDocument(deps.operations, deps.version);
  app.get('/health', async (_req, res) => {
    const health = await deps.health();
    res.status(health.status === 'down' ? 503 : 200).json(health);
  });
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/api/v1', restRouter(deps));
  app.use(notFoundRoute);
  app.use(problemMiddleware(deps.logger));
  return app;
};
