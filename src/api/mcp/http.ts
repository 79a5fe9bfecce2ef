import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { Router, type Request, type Response } from 'express';
import { DomainError } from '../../errors.js';
import type { Caller } from '../auth/authorizer.js';
import type { AnyOperation } from '../catalog/operation.js';
import type { ResourceChanges } from './changes.js';
import { buildMcpServer, type RequestContext, type McpDeps } from './server.js';
import { ServerPool } from './serverPool.js';
import { authInfoOf, callerOfRequest, contextOfRequest, McpSessions, type McpSessionSettings } from './sessions.js';

export type McpHttpDeps = Omit<McpDeps, 'caller' | 'resources'> &
  Readonly<{
    /** The whole catalog, which resources are read through. */
    operations: readonly AnyOperation[];
    /** Change notices for resource subscriptions (sessions only: a stateless request has no stream to send them on). */
    changes?: ResourceChanges;
    sessions?: McpSessionSettings;
  }>;

/** The /mcp router, and `close()` to end its sessions and pooled servers when the app stops (before the HTTP server closes). */
export type McpHttpRouter = Router & Readonly<{ close: () => Promise<void>; sessions: McpSessions; stateless: ServerPool }>;

const SESSIONS_OFF: McpSessionSettings = { enabled: false, idleMs: 30 * 60_000, max: 1 };

const unauthenticated = () =>
  new DomainError(
    'AUTHENTICATION_REQUIRED',
    401,
    'The MCP endpoint needs a plugin token.',
    {},
    'Send `Authorization: Bearer <token>` with a valid plugin token.',
  );

const callerOf = (res: Response): Caller => {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw unauthenticated();
  }
  return caller;
};

/** The request's X-Correlation-Id (set by the API server for every request) and the traceparent its events carry. */
const requestOf = (res: Response): RequestContext => {
  const correlationId = res.getHeader('x-correlation-id');
  const traceparent = res.locals.traceparent as string | undefined;
  return { ...(typeof correlationId === 'string' ? { correlationId } : {}), ...(traceparent ? { traceparent } : {}) };
};

/**
 * Streamable HTTP, stateless or in sessions. A request with `Mcp-Session-Id` belongs to that session; an `initialize`
 * without one opens a session when sessions are on (the answer names it in `Mcp-Session-Id`); anything else is
 * served statelessly, by a server of the pool and a fresh transport, so a client that never sends the header works
 * as before. Session and pooled servers alike read the caller from each request (`authInfo`), never from how they
 * were built. The API server's middleware has already authenticated the token (a bad one is a 401 there).
 */
export const mcpHttpRouter = (deps: McpHttpDeps): McpHttpRouter => {
  const router = Router();
  const jsonSchemaValidator = new AjvJsonSchemaValidator();
  const { operations, changes, sessions: settings = SESSIONS_OFF, ...common } = deps;
  const build = (resources: McpDeps['resources']) => () =>
    buildMcpServer({ ...common, jsonSchemaValidator, caller: async (extra) => callerOfRequest(extra), requestContext: contextOfRequest, resources });
  const sessions = new McpSessions(
    settings,
    build({ operations, ...(changes ? { changes } : {}) }),
    (authorization) => deps.authorizer.authenticate(authorization),
    deps.logger,
  );
  // A stateless request has no stream to send change notices on: its servers offer no subscriptions.
  const stateless = new ServerPool(build({ operations }), deps.logger);
  const sessionOf = (req: Request): string | undefined => (sessions.enabled ? req.get('mcp-session-id') : undefined);

  router.post('/', async (req: Request, res: Response) => {
    const caller = callerOf(res);
    const request = requestOf(res);
    const id = sessionOf(req);
    if (id !== undefined) return sessions.handle(id, caller, req, res, req.body, request);
    if (sessions.enabled && isInitializeRequest(req.body)) return sessions.open(caller, req, res, req.body, request);
    return stateless.serve(req, res, req.body, authInfoOf(caller, request));
  });
  // GET opens a session's notice stream and DELETE ends a session; without a session there is neither.
  router.all('/', async (req, res) => {
    const id = sessionOf(req);
    if (id !== undefined && (req.method === 'GET' || req.method === 'DELETE')) return sessions.handle(id, callerOf(res), req, res);
    res
      .status(405)
      .setHeader('Allow', 'POST')
      .json({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages to /mcp (GET and DELETE need an Mcp-Session-Id).' },
        id: null,
      });
  });
  const close = async () => {
    await Promise.all([sessions.close(), stateless.close()]);
  };
  return Object.assign(router, { close, sessions, stateless });
};
