import fs from 'node:fs';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from 'pino';
import { ConfigError } from '../../errors.js';
import { writeAdminToken } from '../auth/bootstrap.js';
import type { Authorizer, Caller } from '../auth/authorizer.js';
import type { AnyOperation } from '../catalog/operation.js';
import type { IdempotencyKeys } from '../idempotency.js';
import type { Validators } from '../validation.js';
import type { ResourceChanges } from './changes.js';
import { buildMcpServer } from './server.js';
import { JsonRpcLines } from './stdioLines.js';
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

/** `VESPERA_TOKEN`, or the administrator token the server keeps in its data directory. */
const stdioToken = (adminTokenFile: string, env: NodeJS.ProcessEnv): string => {
  const token = env.VESPERA_TOKEN?.trim() || (fs.existsSync(adminTokenFile) ? fs.readFileSync(adminTokenFile, 'utf8').trim() : '');
  if (!token) throw new ConfigError([`VESPERA_TOKEN is not set and ${adminTokenFile} holds no token`]);
  return token;
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

/** Serves the app's catalog over stdin/stdout. stdout carries protocol only: the app logs to stderr. */
export const serveStdio = async (app: StdioDeps, env: NodeJS.ProcessEnv = process.env): Promise<Server> => {
  const fromFile = !env.VESPERA_TOKEN?.trim();
  let token = stdioToken(app.adminTokenFile, env);
  const role = env.VESPERA_ROLE || undefined;
  const authenticate = () => app.authorizer.authenticate(`Bearer ${token}`, role);
  await authenticate();
  const caller = recheckedCaller(authenticate);
  const switchTo = (fresh: string) => {
    token = fresh;
    caller.forget();
    if (fromFile) writeAdminToken(app.adminTokenFile, fresh);
  };
  const operations = app.operations.map((op) => switchingOnRefresh(op, switchTo));
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
  const lines = new JsonRpcLines((answer) => process.stdout.write(`${JSON.stringify(answer)}\n`));
  process.stdin.pipe(lines);
  await server.connect(new StdioServerTransport(lines, process.stdout));
  return server;
};
