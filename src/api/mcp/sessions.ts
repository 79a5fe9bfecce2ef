import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';
import type { Caller } from '../auth/authorizer.js';
import type { RequestContext } from './server.js';

export type McpSessionSettings = Readonly<{
  /** `VESPERA_MCP_SESSIONS`: an `initialize` without `Mcp-Session-Id` opens a session; `off` keeps /mcp stateless. */
  enabled: boolean;
  /** A session that has had no request and no open stream for this long is closed. */
  idleMs: number;
  /** Sessions open at once; past it a new one is refused with 503 until one ends. */
  max: number;
}>;

type Session = {
  readonly id: string;
  /** The token that opened it (its jti; the actor when authentication is off): only that token may use it. */
  readonly owner: string;
  readonly expiresAt: number;
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  lastSeen: number;
  /** Open GET streams: a client listening for notices is not idle. */
  streams: number;
  /** The Authorization header of the latest request, to check a listening session's token again while it sends nothing. */
  authorization: string | undefined;
};

const ownerOf = (caller: Caller): string => caller.jti ?? `actor:${caller.actor}`;

const sessionNotFound = () =>
  new DomainError(
    'MCP_SESSION_NOT_FOUND',
    404,
    'No MCP session with this Mcp-Session-Id is open for this token.',
    {},
    'Start a new session: send initialize without Mcp-Session-Id.',
  );

/** The caller of one HTTP request and the request itself, handed to a session's or a pooled server in `extra.authInfo.extra`. */
export const authInfoOf = (caller: Caller, request: RequestContext): AuthInfo => ({
  token: '',
  clientId: caller.pluginId ?? caller.actor,
  scopes: [...caller.capabilities],
  extra: { caller, request },
});

type SessionExtra = { authInfo?: { extra?: { caller?: Caller; request?: RequestContext } } } | undefined;

export const callerOfRequest = (extra: unknown): Caller | undefined => (extra as SessionExtra)?.authInfo?.extra?.caller;

export const contextOfRequest = (extra: unknown): RequestContext | undefined => (extra as SessionExtra)?.authInfo?.extra?.request;

/**
 * Stateful Streamable HTTP sessions: one server and transport per session, kept until the client sends DELETE,
 * goes idle, its token expires, or the app stops. Every request of a session is authenticated anew by the API's
 * middleware and must come with the token that opened it.
 */
export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly settings: McpSessionSettings,
    private readonly build: () => Server,
    /** Who a token is now (signature, expiry, revocation): a refusal throws. */
    private readonly authenticate: (authorization: string | undefined) => Promise<Caller | undefined>,
    private readonly logger: Logger,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(250, Math.floor(settings.idleMs / 4))));
    this.sweeper.unref();
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Opens a session for an `initialize` request and answers it (the answer carries `Mcp-Session-Id`). */
  async open(caller: Caller, req: IncomingMessage, res: ServerResponse, body: unknown, request: RequestContext = {}): Promise<void> {
    if (this.closing) throw new DomainError('SHUTTING_DOWN', 503, 'The server is shutting down.');
    if (this.sessions.size >= this.settings.max) this.sweep();
    if (this.sessions.size >= this.settings.max) {
      res.setHeader('Retry-After', '60');
      throw new DomainError(
        'MCP_SESSIONS_EXHAUSTED',
        503,
        `The server holds its maximum of ${this.settings.max} MCP sessions.`,
        { max: this.settings.max },
        'End sessions you no longer use (DELETE /mcp), retry later, or send requests without a session (stateless).',
      );
    }
    const server = this.build();
    let session: Session | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        session = {
          id,
          owner: ownerOf(caller),
          expiresAt: caller.expiresAt ? Date.parse(caller.expiresAt) : Infinity,
          transport,
          server,
          lastSeen: Date.now(),
          streams: 0,
          authorization: req.headers.authorization,
        };
        this.sessions.set(id, session);
        this.logger.debug({ session: id, actor: caller.actor }, 'MCP session opened');
      },
    });
    transport.onclose = () => {
      if (session && this.sessions.get(session.id) === session) {
        this.sessions.delete(session.id);
        this.logger.debug({ session: session.id }, 'MCP session closed');
      }
    };
    res.on('close', () => {
      // An initialize that failed opened nothing.
      if (!session) void this.end(transport, server);
    });
    await server.connect(transport);
    await transport.handleRequest(Object.assign(req, { auth: authInfoOf(caller, request) }), res, body);
  }

  /** Hands a request (POST, GET for the notice stream, DELETE to end) to the session `id` of this caller. */
  async handle(id: string, caller: Caller, req: IncomingMessage, res: ServerResponse, body?: unknown, request: RequestContext = {}): Promise<void> {
    const session = this.sessions.get(id);
    if (!session || session.owner !== ownerOf(caller)) throw sessionNotFound();
    session.lastSeen = Date.now();
    session.authorization = req.headers.authorization;
    if (req.method === 'GET') {
      session.streams++;
      res.on('close', () => {
        session.streams--;
        session.lastSeen = Date.now();
      });
    }
    await session.transport.handleRequest(Object.assign(req, { auth: authInfoOf(caller, request) }), res, body);
  }

  /** Ends every session (their notice streams close); new sessions are refused from now on. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(open.map((s) => this.end(s.transport, s.server)));
  }

  /** Closes idle sessions and those whose token expired; a session only listening has its token checked again. */
  private sweep(): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      const idle = session.streams === 0 && now - session.lastSeen > this.settings.idleMs;
      if (idle || session.expiresAt <= now) this.drop(session, idle ? 'idle' : 'token expired');
      else if (session.streams > 0) void this.recheck(session);
    }
  }

  private async recheck(session: Session): Promise<void> {
    let caller: Caller | undefined;
    try {
      caller = await this.authenticate(session.authorization);
    } catch {
      caller = undefined;
    }
    if (!caller || ownerOf(caller) !== session.owner) this.drop(session, 'token refused');
  }

  private drop(session: Session, reason: string): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.logger.debug({ session: session.id, reason }, 'MCP session closed');
    void this.end(session.transport, session.server);
  }

  private async end(transport: StreamableHTTPServerTransport, server: Server): Promise<void> {
    try {
      await transport.close();
      await server.close();
    } catch (error) {
      this.logger.debug({ err: error }, 'closing an MCP session failed');
    }
  }
}
