import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { DomainError } from '../../errors.js';
import type { Authorizer, Caller } from '../auth/authorizer.js';
import { problemOf } from '../rest/problem.js';
import { requireSubscriber } from './access.js';
import { CLOSE, type Feed, type FeedConnection, type FeedSink } from './feed.js';
import { parseClientMessage, type SubscribeMessage } from './messages.js';

export const FEED_WS_PATH = '/api/v1/ws';

export type FeedSettings = Readonly<{
  /** How long an unauthenticated socket may take to send {"op":"auth"}. */
  authTimeoutMs: number;
  /** Ping interval; a socket that did not answer the previous ping is terminated. */
  heartbeatMs: number;
  /** A socket without any subscription for this long is closed (4000). */
  idleMs: number;
  maxConnections: number;
}>;

export type FeedWsDeps = Readonly<{
  feed: Feed;
  authorizer: Pick<Authorizer, 'authenticate'>;
  settings: FeedSettings;
  logger: Logger;
}>;

/** Messages a socket may send behind its auth message before the answer. */
const MAX_HELD = 16;

/** Query parameters that would put a credential into a URL, where logs and proxies keep it. */
const CREDENTIAL_PARAMS = ['token', 'access_token', 'jwt', 'authorization', 'auth', 'bearer'];

/** Answers an upgrade request with a problem+json response and closes the socket. */
const refuse = (socket: Duplex, error: DomainError): void => {
  const body = JSON.stringify(problemOf(error));
  const status = `${error.status} ${http.STATUS_CODES[error.status] ?? 'Error'}`;
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};

/** A whole unmasked text frame (RFC 6455 §5.2), as a server sends it. */
const textFrame = (payload: Buffer): Buffer => {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, header);
  return frame;
};

/**
 * One event's message as a ready frame, built once per subscription id: a thousand subscribers that name their
 * subscription alike share one buffer, and each socket gets one write.
 */
const frames = new WeakMap<object, Map<string, Buffer>>();
const frameOf = (sub: string, event: object, body: string): Buffer => {
  let bySub = frames.get(event);
  if (!bySub) frames.set(event, (bySub = new Map()));
  let frame = bySub.get(sub);
  if (!frame) {
    frame = textFrame(Buffer.from(`{"op":"event","sub":${JSON.stringify(sub)},${body}}`));
    if (bySub.size < 16) bySub.set(sub, frame);
  }
  return frame;
};

type Socket = {
  ws: WebSocket;
  raw: Duplex;
  corked?: boolean;
  /** The Authorization header value the caller proved itself with (re-checked at every heartbeat). */
  authorization?: string;
  role?: string;
  caller?: Caller;
  connection?: FeedConnection;
  alive: boolean;
  authorizing?: boolean;
  /** Messages that arrived while the auth message was being checked, handled once it succeeds. */
  held?: Array<[RawData, boolean]>;
  authTimer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
};

/**
 * The WebSocket transport of the live feed on `GET /api/v1/ws` (docs/feed.md). Authentication is the
 * Authorization header at the upgrade or a first {"op":"auth"} message; never a token in the URL.
 */
export const attachFeedWebSocket = (server: http.Server, deps: FeedWsDeps): { close: () => void } => {
  const { feed, authorizer, settings, logger } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false, clientTracking: false });
  const sockets = new Set<Socket>();

  const sendJson = (s: Socket, message: object) => {
    if (s.ws.readyState === s.ws.OPEN) s.ws.send(JSON.stringify(message));
  };
  const sendError = (s: Socket, error: DomainError, sub?: string) =>
    sendJson(s, {
      op: 'error',
      ...(sub === undefined ? {} : { sub }),
      code: error.code,
      detail: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
    });

  // A socket written twice in one tick (a catch-up page, a group commit) is corked until the tick ends, so its
  // messages leave in one write; a single live message goes straight out. One flush per tick for every socket.
  const touched = new Set<Socket>();
  const flush = () => {
    for (const s of touched) {
      if (s.corked) {
        s.corked = false;
        s.raw.uncork();
      }
    }
    touched.clear();
  };
  const cork = (s: Socket) => {
    if (touched.size === 0) process.nextTick(flush);
    if (!touched.has(s)) touched.add(s);
    else if (!s.corked) {
      s.corked = true;
      s.raw.cork();
    }
  };

  const sinkOf = (s: Socket): FeedSink => ({
    event: (sub, event, body) => {
      if (s.ws.readyState !== s.ws.OPEN) return;
      cork(s);
      // Straight to the socket: with compression off, ws's sender keeps no queue of its own, so order holds.
      s.raw.write(frameOf(sub, event, body));
    },
    caughtUp: (sub, position) => sendJson(s, { op: 'caught_up', sub, position }),
    buffered: () => s.ws.bufferedAmount,
    drained: () =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (s.ws.bufferedAmount === 0 || s.ws.readyState !== s.ws.OPEN) {
            s.raw.off('drain', check);
            s.ws.off('close', check);
            resolve();
          }
        };
        s.raw.on('drain', check);
        s.ws.once('close', check);
        check();
      }),
    end: (code, reason) =>
      new Promise<void>((resolve) => {
        if (s.ws.readyState === s.ws.CLOSED) return resolve();
        s.ws.once('close', () => resolve());
        // A consumer that does not read never answers the close frame: its socket is cut after a grace period.
        const grace = setTimeout(() => s.ws.terminate(), code === CLOSE.slowConsumer ? 5000 : 2000);
        grace.unref();
        s.ws.once('close', () => clearTimeout(grace));
        s.ws.close(code, reason.slice(0, 123));
      }),
  });

  const armIdle = (s: Socket) => {
    clearTimeout(s.idleTimer);
    if (s.connection && s.connection.size > 0) return;
    s.idleTimer = setTimeout(() => {
      if (s.connection) void s.connection.end(CLOSE.idle, 'idle: no subscription');
      else s.ws.close(CLOSE.idle, 'idle: no subscription');
    }, settings.idleMs);
    s.idleTimer.unref();
  };

  const authenticated = (s: Socket, caller: Caller) => {
    clearTimeout(s.authTimer);
    s.caller = caller;
    s.connection = feed.connect(caller, sinkOf(s));
    sendJson(s, { op: 'authenticated', actor: caller.actor, capabilities: caller.capabilities, position: feed.position });
    armIdle(s);
  };

  const authenticateMessage = async (s: Socket, token: string) => {
    try {
      const authorization = `Bearer ${token}`;
      const caller = await authorizer.authenticate(authorization, s.role);
      if (!caller) throw new DomainError('AUTHENTICATION_REQUIRED', 401, 'The auth message carried no token.');
      requireSubscriber(caller);
      s.authorization = authorization;
      authenticated(s, caller);
      for (const [data, isBinary] of s.held?.splice(0) ?? []) onMessage(s, data, isBinary);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      s.held = [];
      sendError(s, error);
      s.ws.close(error.status === 403 ? CLOSE.forbidden : CLOSE.unauthenticated, error.code);
    }
  };

  const subscribe = async (s: Socket, message: SubscribeMessage) => {
    const { id, fromPosition, ...filter } = message;
    clearTimeout(s.idleTimer);
    try {
      await s.connection!.subscribe(id, filter, fromPosition);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      sendError(s, error, id);
      armIdle(s);
    }
  };

  const onMessage = (s: Socket, data: RawData, isBinary: boolean): void => {
    // A client may subscribe right behind its auth message, without waiting for the answer.
    if (s.authorizing && !s.connection) {
      if ((s.held ??= []).length < MAX_HELD) s.held.push([data, isBinary]);
      else
        sendError(s, new DomainError('AUTHENTICATION_PENDING', 429, `At most ${MAX_HELD} messages may follow the auth message before its answer.`));
      return;
    }
    const parsed = parseClientMessage(isBinary ? undefined : data.toString('utf8'));
    if (parsed instanceof DomainError) return sendError(s, parsed);
    if (!s.connection) {
      if (parsed.op === 'auth') {
        if (!s.authorizing) {
          s.authorizing = true;
          void authenticateMessage(s, parsed.token);
        }
        return;
      }
      return sendError(
        s,
        new DomainError(
          'AUTHENTICATION_REQUIRED',
          401,
          'Authenticate first: send {"op":"auth","token":"…"}.',
          {},
          'Or send the Authorization header.',
        ),
      );
    }
    switch (parsed.op) {
      case 'auth':
        return sendError(s, new DomainError('ALREADY_AUTHENTICATED', 409, 'This socket is already authenticated.'));
      case 'subscribe':
        return void subscribe(s, parsed).catch((error: unknown) => logger.error({ err: error }, 'feed subscription failed'));
      case 'unsubscribe':
        if (!s.connection.unsubscribe(parsed.id)) {
          return sendError(s, new DomainError('UNKNOWN_SUBSCRIPTION', 404, `No subscription \`${parsed.id}\` on this connection.`), parsed.id);
        }
        sendJson(s, { op: 'unsubscribed', sub: parsed.id });
        return armIdle(s);
    }
  };

  const onConnection = (ws: WebSocket, raw: Duplex, authorization: string | undefined, role: string | undefined, caller: Caller | undefined) => {
    const s: Socket = { ws, raw, alive: true, ...(role === undefined ? {} : { role }) };
    sockets.add(s);
    ws.on('pong', () => {
      s.alive = true;
    });
    ws.on('message', (data, isBinary) => onMessage(s, data, isBinary));
    ws.on('error', (error) => logger.debug({ err: error }, 'feed socket error'));
    ws.on('close', () => {
      sockets.delete(s);
      clearTimeout(s.authTimer);
      clearTimeout(s.idleTimer);
      s.connection?.gone();
    });
    if (caller) {
      s.authorization = authorization!;
      authenticated(s, caller);
      return;
    }
    s.authTimer = setTimeout(() => {
      sendError(s, new DomainError('AUTHENTICATION_REQUIRED', 401, `No auth message within ${settings.authTimeoutMs} ms.`));
      ws.close(CLOSE.unauthenticated, 'authentication timeout');
    }, settings.authTimeoutMs);
    s.authTimer.unref();
  };

  const onUpgrade = async (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== FEED_WS_PATH) return refuse(socket, new DomainError('ROUTE_NOT_FOUND', 404, `No WebSocket at ${url.pathname}.`));
    const named = [...url.searchParams.keys()].find((k) => CREDENTIAL_PARAMS.includes(k.toLowerCase()));
    if (named !== undefined) {
      return refuse(
        socket,
        new DomainError(
          'TOKEN_IN_URL',
          400,
          `A credential in the URL (\`${named}\`) is refused: URLs end up in logs.`,
          {},
          'Send the Authorization header, or a first message {"op":"auth","token":"…"}.',
        ),
      );
    }
    if (!feed.accepting) return refuse(socket, new DomainError('SHUTTING_DOWN', 503, 'The server is shutting down.'));
    if (sockets.size >= settings.maxConnections) {
      return refuse(socket, new DomainError('TOO_MANY_CONNECTIONS', 503, `This server holds at most ${settings.maxConnections} feed sockets.`));
    }
    const authorization = req.headers.authorization;
    const role = typeof req.headers['x-vespera-role'] === 'string' ? req.headers['x-vespera-role'] : undefined;
    let caller: Caller | undefined;
    try {
      // Without a header the caller authenticates by message (unless auth is off: then everyone is anonymous).
      caller = await authorizer.authenticate(authorization, role);
      if (caller) requireSubscriber(caller);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return refuse(socket, error);
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket, authorization ?? '', role, caller));
  };

  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket, head).catch((error: unknown) => {
      logger.error({ err: error }, 'feed upgrade failed');
      socket.destroy();
    });
  };
  server.on('upgrade', upgrade);

  // One timer for every socket: a ping each beat, a socket silent since the last one is cut, and the token is
  // checked again, so a revoked or expired token loses its feed within one beat.
  const beat = setInterval(() => {
    for (const s of sockets) {
      if (!s.alive) {
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
      if (s.caller && s.authorization) {
        authorizer
          .authenticate(s.authorization, s.role)
          .then((caller) => {
            if (!caller) throw new DomainError('AUTHENTICATION_REQUIRED', 401, 'The token no longer authenticates.');
            if (caller.expiresAt !== undefined && Date.parse(caller.expiresAt) <= Date.now()) {
              throw new DomainError('TOKEN_EXPIRED', 401, 'The token has expired.');
            }
          })
          .catch((error: unknown) => {
            const refusal = error instanceof DomainError ? error : new DomainError('AUTHENTICATION_REQUIRED', 401, 'The token could not be checked.');
            sendError(s, refusal);
            void (s.connection ? s.connection.end(CLOSE.unauthenticated, refusal.code) : s.ws.close(CLOSE.unauthenticated, refusal.code));
          });
      }
    }
  }, settings.heartbeatMs);
  beat.unref();

  return {
    close: () => {
      clearInterval(beat);
      server.off('upgrade', upgrade);
      for (const s of sockets) if (!s.connection) s.ws.terminate();
    },
  };
};
