import fs from 'node:fs';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { VERSION, type App } from '../../app.js';
import type { Caller } from '../auth/authorizer.js';
import { ConfigError } from '../../config.js';
import { buildMcpServer } from './server.js';
import { servedTools } from './tools.js';

/** `VESPERA_TOKEN`, or the administrator token the server keeps in its data directory. */
export const stdioToken = (app: App, env: NodeJS.ProcessEnv = process.env): string => {
  const token = env.VESPERA_TOKEN?.trim() || (fs.existsSync(app.adminTokenFile) ? fs.readFileSync(app.adminTokenFile, 'utf8').trim() : '');
  if (!token) throw new ConfigError([`VESPERA_TOKEN is not set and ${app.adminTokenFile} holds no token`]);
  return token;
};

/**
 * The caller behind one fixed token, checked again (signature, expiry, revocation in the log) at most every
 * `ttlMs`: verifying the JWT is most of the cost of a call, and a revocation still bites within a second.
 */
export const recheckedCaller = (authenticate: () => Promise<Caller | undefined>, ttlMs = 1000): (() => Promise<Caller | undefined>) => {
  let checkedAt = -Infinity;
  let caller: Promise<Caller | undefined> = Promise.resolve(undefined);
  return () => {
    const now = performance.now();
    if (now - checkedAt >= ttlMs) {
      checkedAt = now;
      caller = authenticate();
      caller.catch(() => (checkedAt = -Infinity));
    }
    return caller;
  };
};

/** Serves the app's catalog over stdin/stdout. stdout carries protocol only: the app logs to stderr. */
export const serveStdio = async (app: App, env: NodeJS.ProcessEnv = process.env): Promise<Server> => {
  const authorization = `Bearer ${stdioToken(app, env)}`;
  const role = env.VESPERA_ROLE || undefined;
  await app.authorizer.authenticate(authorization, role);
  const server = buildMcpServer({
    tools: servedTools(app.operations, app.config.mcpTools, app.logger),
    validators: app.validators,
    authorizer: app.authorizer,
    caller: recheckedCaller(() => app.authorizer.authenticate(authorization, role)),
    logger: app.logger,
    version: VERSION,
  });
  await server.connect(new StdioServerTransport());
  return server;
};
