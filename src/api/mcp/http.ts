import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { Router, type Request, type Response } from 'express';
import { DomainError } from '../../errors.js';
import type { Caller } from '../auth/authorizer.js';
import { buildMcpServer, type McpDeps } from './server.js';

export type McpHttpDeps = Omit<McpDeps, 'caller'>;

const unauthenticated = () =>
  new DomainError(
    'AUTHENTICATION_REQUIRED',
    401,
    'The MCP endpoint needs a plugin token.',
    {},
    'Send `Authorization: Bearer <token>` with a valid plugin token.',
  );

/**
 * Streamable HTTP in stateless mode: every POST gets a fresh server and transport, so nothing is shared
 * between callers. The API server's middleware has already authenticated the token (a bad one is a 401 there).
 */
export const mcpHttpRouter = (deps: McpHttpDeps): Router => {
  const router = Router();
  const jsonSchemaValidator = new AjvJsonSchemaValidator();
  router.post('/', async (req: Request, res: Response) => {
    const caller = res.locals.caller as Caller | undefined;
    if (!caller) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw unauthenticated();
    }
    const server = buildMcpServer({ ...deps, jsonSchemaValidator, caller: async () => caller });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no server-initiated streams to GET and no sessions to DELETE.
  router.all('/', (_req, res) => {
    res
      .status(405)
      .setHeader('Allow', 'POST')
      .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages to /mcp.' }, id: null });
  });
  return router;
};
