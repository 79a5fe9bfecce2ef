import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';
import { writeAdminToken } from '../auth/bootstrap.js';
import { readToken, tokenSource, type TokenSource } from '../auth/tokenSource.js';
import type { Authorizer, Caller } from '../auth/authorizer.js';
import type { AnyOperation } from '../catalog/operation.js';
import type { IdempotencyKeys } from '../idempotency.js';
import type { Validators } from '../validation.js';
import type { ResourceChanges } from './changes.js';
import { buildMcpServer } from './server.js';
import { JsonRpcLineTransport } from './stdioLines.js';
import { servedTools } from './tools.js';

/** What the stdio server needs from the composition root. */
export type StdioDeps = Readonly<{
  operations: readonly AnyOperation[];
  validators: ReadonlyMap<string, Validators>;
  authorizer: Authorizer;
  /** Idempotency keys, shared with REST: a retried write over stdio is the same request as over HTTP. */
  idempotency?: IdempotencyKeys;
  logger: Logger;
  /** The administrator token the server keeps in its data directory, used when VESPERA_TOKEN is unset. */
  adminTokenFile: string;
  /** The tool selection (VESPERA_MCP_TOOLS). */
  mcpTools: string;
  /** Change notices, so a stdio client can subscribe to resources too. */
  resourceChanges?: ResourceChanges;
  version: string;
}>;

/** What an agent is told to do when its token no longer works: the tool error's hint, with the command to run. */
export const TOKEN_HINT =
  'Ask an administrator for a new token — `vespera token create --plugin <id> --capabilities task_reading,task_modification --ttl 90d > <file>` — ' +
  'and point VESPERA_TOKEN_FILE at the file: this process reads it again at the next call, no restart needed.';

/** A refusal of the session's own token (401) gets the hint above; everything else passes unchanged. */
const withTokenHint = (error: unknown): never => {
  // In the message too: an MCP tool error shows the catalog's hint for the code, which cannot know about token files.
  if (error instanceof DomainError && error.status === 401)
    throw new DomainError(error.code, 401, `${error.message} ${TOKEN_HINT}`, error.details, TOKEN_HINT);
  throw error;
};

type RecheckedCaller = (() => Promise<Caller | undefined>) & { forget: () => void };

/**
 * The caller behind the session's token, checked again (signature, expiry, revocation in the log) at most every
 * `ttlMs`: verifying the JWT is most of the cost of a call, and a revocation still bites within a second.
 * `forget()` drops the cached answer, for when the session's token changes.
 */
const recheckedCaller = (authenticate: () => Promise<Caller | undefined>, ttlMs = 1000): RecheckedCaller => {
  let checkedAt = -Infinity;
  let caller: Promise<Caller | undefined> = Promise.resolve(undefined);
  const current = () => {
    const now = performance.now();
    if (now - checkedAt >= ttlMs) {
      checkedAt = now;
      caller = authenticate();
      caller.catch(() => (checkedAt = -Infinity));
    }
    return caller;
  };
  return Object.assign(current, { forget: () => (checkedAt = -Infinity) });
};

/**
 * refresh_token revokes the token it is called with, which over stdio is the session's own: the session goes
 * on with the new token (and keeps the data directory's admin token file current when it came from there).
 */
const switchingOnRefresh = (op: AnyOperation, switchTo: (token: string) => void): AnyOperation =>
  op.name !== 'refreshToken'
    ? op
    : {
        ...op,
        run: async (input, ctx) => {
          const result = await op.run(input, ctx);
          switchTo((result.body as { token: string }).token);
          return result;
        },
      };

const RENEW_CHECK_MS = 60_000;

/** Refreshes the session's token when 80% of its lifetime is behind it; a token it cannot read is left alone. */
const renewIfDue = async (
  refresh: AnyOperation | undefined,
  authenticate: () => Promise<Caller | undefined>,
  switchTo: (token: string) => void,
): Promise<void> => {
  const caller = await authenticate().catch(() => undefined);
  if (!refresh || !caller?.jti || !caller.issuedAt || !caller.expiresAt) return;
  const issued = Date.parse(caller.issuedAt);
  const expires = Date.parse(caller.expiresAt);
  if (Date.now() < issued + 0.8 * (expires - issued)) return;
  const result = await refresh.run(
    {},
    { actor: caller.pluginId ?? 'mcp', caller, tool: 'mcp:stdio-renewal', commandId: randomUUID(), correlationId: randomUUID() },
  );
  switchTo((result.body as { token: string }).token);
};

export type McpSession = Readonly<{ server: Server; close: () => Promise<void> }>;

/**
 * One MCP session over a line stream (stdin/stdout, or a bridged client's socket): the catalog's tools and resources
 * for the caller behind `source`'s token, checked again at every call.
 */
export const mcpSession = async (
  app: StdioDeps,
  source: TokenSource,
  role: string | undefined,
  input: Readable,
  output: Writable,
): Promise<McpSession> => {
  let token = readToken(source);
  // A token file is read again whenever it changes, so a new token reaches a running agent without a restart.
  let readAt = source.kind === 'env' ? 0 : fs.statSync(source.file).mtimeMs;
  const current = () => {
    if (source.kind === 'env') return token;
    const changed = fs.existsSync(source.file) ? fs.statSync(source.file).mtimeMs : readAt;
    if (changed !== readAt) {
      readAt = changed;
      token = readToken(source);
    }
    return token;
  };
  const authenticate = () => app.authorizer.authenticate(`Bearer ${current()}`, role).catch(withTokenHint);
  // An expired or revoked token does not stop the process: each call answers a tool error saying what to run.
  await authenticate().catch((error: unknown) =>
    app.logger.warn({ err: error, source: source.kind }, 'the MCP token is refused; every tool call will say so until it is replaced'),
  );
  const caller = recheckedCaller(authenticate);
  const switchTo = (fresh: string) => {
    token = fresh;
    caller.forget();
    if (source.kind !== 'env') {
      writeAdminToken(source.file, fresh);
      readAt = fs.statSync(source.file).mtimeMs;
    }
  };
  const operations = app.operations.map((op) => switchingOnRefresh(op, switchTo));
  // A token kept in a file is renewed once 80% of its lifetime has passed (refresh_token, as the agent could call it):
  // a 90-day token lives as long as the agent keeps running, and the file holds the new one for its next start.
  const refresh = app.operations.find((op) => op.name === 'refreshToken');
  const renewal =
    source.kind === 'env' || !refresh
      ? undefined
      : setInterval(() => {
          renewIfDue(refresh, authenticate, switchTo).catch((error: unknown) => app.logger.warn({ err: error }, 'could not renew the MCP token'));
        }, RENEW_CHECK_MS);
  renewal?.unref();
  void renewIfDue(refresh, authenticate, switchTo).catch(() => undefined);
  const server = buildMcpServer({
    tools: servedTools(operations, app.mcpTools, app.logger),
    validators: app.validators,
    authorizer: app.authorizer,
    ...(app.idempotency ? { idempotency: app.idempotency } : {}),
    caller,
    logger: app.logger,
    version: app.version,
    resources: { operations, ...(app.resourceChanges ? { changes: app.resourceChanges } : {}) },
  });
  await server.connect(new JsonRpcLineTransport(input, output));
  let closed = false;
  return {
    server,
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(renewal);
      await server.close();
    },
  };
};

/** Serves the app's catalog over stdin/stdout. stdout carries protocol only: the app logs to stderr. */
export const serveStdio = async (app: StdioDeps, env: NodeJS.ProcessEnv = process.env): Promise<Server> =>
  (await mcpSession(app, tokenSource(app.adminTokenFile, env), env.VESPERA_ROLE || undefined, process.stdin, process.stdout)).server;
