import type http from 'node:http';
import type { Socket } from 'node:net';
import { withTimeout } from '../util/timeout.js';

/** No request in flight for this long counts as drained: a connection accepted just before the listener closed has its request read by then. */
const QUIET_MS = 50;

export type DrainResult = Readonly<{
  ms: number;
  /** Requests still unanswered, and connections still open, when the bound was reached (both 0 after a clean drain). */
  cutRequests: number;
  cutConnections: number;
}>;

export type DrainHook = () => void | Promise<void>;

const delay = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * The graceful end of an HTTP server: stop accepting, let the requests in flight finish (each answer then closes its
 * keep-alive connection), let the hooks close long-lived streams (feed sockets, SSE), and cut only what is left at the bound.
 */
export const drainable = (server: http.Server) => {
  const inFlight = new Set<http.ServerResponse>();
  const sockets = new Set<Socket>();
  let draining = false;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Ahead of express, so even an answer written at once carries `Connection: close` while draining.
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => inFlight.delete(res));
  });

  const quiet = async (deadline: number, hooksDone: () => boolean): Promise<boolean> => {
    let quietSince: number | undefined;
    while (Date.now() < deadline) {
      if (inFlight.size > 0 || !hooksDone()) quietSince = undefined;
      else if (Date.now() - (quietSince ??= Date.now()) >= QUIET_MS) return true;
      await delay(10);
    }
    return inFlight.size === 0 && hooksDone();
  };

  const close = async (boundMs: number, hooks: readonly DrainHook[] = []): Promise<DrainResult> => {
    const started = Date.now();
    const deadline = started + boundMs;
    draining = true;
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    // http.Server.close() drops idle connections at once, and one accepted just now is idle until its request is read:
    // its client would see the request reset unanswered. Idle connections are closed once the requests in flight are done.
    const closeIdle = server.closeIdleConnections;
    server.closeIdleConnections = () => undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections = closeIdle;
    let hooksSettled = false;
    void Promise.allSettled(hooks.map(async (hook) => hook())).then(() => (hooksSettled = true));
    const clean = await quiet(deadline, () => hooksSettled);
    // Keep-alive connections left idle (idle when the drain began, or past a streamed answer): they carry no request now.
    server.closeIdleConnections();
    const cutRequests = clean ? 0 : inFlight.size;
    const allClosed = await withTimeout(closed, Math.max(0, deadline - Date.now()), 'the drain').then(
      () => true,
      () => false,
    );
    const cutConnections = allClosed ? 0 : sockets.size;
    if (!allClosed) {
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    }
    return { ms: Date.now() - started, cutRequests, cutConnections };
  };

  return {
    /** Stops accepting at once and resolves once every connection is closed, at most `boundMs` later (then cutting them). */
    close,
  };
};
