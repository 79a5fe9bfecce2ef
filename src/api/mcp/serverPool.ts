import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';

/** Idle servers kept for the next stateless request; a burst past this builds more and closes them after. */
export const POOL_SIZE = 16;

/** Whether a body asks to initialize, valid or not: the transport checks it; this only decides a server's reuse. */
const initializes = (body: unknown): boolean =>
  (Array.isArray(body) ? body : [body]).some((message) => (message as { method?: unknown } | null)?.method === 'initialize');

/**
 * The servers that answer stateless requests, built once and reused instead of once per request. A pooled server
 * knows no caller: like a session's, it reads who calls (and the request's correlation id) from each request's
 * `authInfo`, so what one request's token may list or call never reaches another's. Each request gets its own
 * transport (the SDK refuses to reuse a stateless one); the server is connected to it for that request only and
 * returns to the pool once the answer is sent. A server that answered `initialize` keeps that client's
 * capabilities, so it is closed instead of kept.
 */
export class ServerPool {
  private readonly idle: Server[] = [];
  private closed = false;

  constructor(
    private readonly build: () => Server,
    private readonly logger: Logger,
    private readonly size = POOL_SIZE,
  ) {}

  /** Idle servers now (for specs and metrics). */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Answers one stateless POST on an idle server (or a new one when all are busy). */
  async serve(req: IncomingMessage, res: ServerResponse, body: unknown, auth: AuthInfo): Promise<void> {
    const server = this.idle.pop() ?? this.build();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const reusable = !initializes(body);
    res.on('close', () => void this.release(server, transport, reusable));
    await server.connect(transport);
    await transport.handleRequest(Object.assign(req, { auth }), res, body);
  }

  /** Closes the idle servers; a server still answering is closed when its answer is sent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((server) => server.close()));
  }

  private async release(server: Server, transport: StreamableHTTPServerTransport, reusable: boolean): Promise<void> {
    try {
      // Disconnects the server (the SDK aborts a handler still running, so it answers nobody) and ends the transport.
      await transport.close();
      if (reusable && !this.closed && this.idle.length < this.size) this.idle.push(server);
      else await server.close();
    } catch (error) {
      this.logger.debug({ err: error }, 'releasing a stateless MCP server failed');
    }
  }
}
