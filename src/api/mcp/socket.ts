import fs from 'node:fs';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { tokenSource, type TokenSource } from '../auth/tokenSource.js';
import { mcpSession, type McpSession, type StdioDeps } from './stdio.js';

/**
 * The owner of a data directory serves MCP to the other `vespera mcp` processes on it over a local socket
 * (`<dataDir>/mcp.sock`, mode 0600 in the 0700 data directory): the same newline-delimited JSON-RPC as stdio, so a
 * bridge only forwards lines. The first line a bridge sends is its hello, not MCP: which token its session acts with
 * (the token itself, the file it is kept in, or the data directory's admin token), and its role. Like stdio, the
 * socket is reached only by the user who owns the data directory, so it is not rate limited; HTTP is.
 */
export type BridgeHello = Readonly<{
  vespera: 'bridge';
  version: 1;
  /** VESPERA_TOKEN of the bridged process. */
  token?: string;
  /** VESPERA_TOKEN_FILE of the bridged process (absolute), read by the owner at every change, renewed like stdio's. */
  tokenFile?: string;
  role?: string;
}>;

export const BRIDGE_HELLO_VERSION = 1;
const MAX_HELLO_BYTES = 64 * 1024;
const HELLO_TIMEOUT_MS = 10_000;

export type McpSocketServer = Readonly<{ path: string; sessions: () => number; close: () => Promise<void> }>;

/** The hello names its token as the bridged process's environment does, in the same order (auth/tokenSource.ts). */
const sourceOf = (hello: BridgeHello, adminTokenFile: string): TokenSource =>
  tokenSource(adminTokenFile, {
    ...(typeof hello.token === 'string' ? { VESPERA_TOKEN: hello.token } : {}),
    ...(typeof hello.tokenFile === 'string' ? { VESPERA_TOKEN_FILE: hello.tokenFile } : {}),
  });

const parseHello = (line: string): BridgeHello | undefined => {
  try {
    const hello = JSON.parse(line) as Partial<BridgeHello>;
    return hello?.vespera === 'bridge' && hello.version === BRIDGE_HELLO_VERSION ? (hello as BridgeHello) : undefined;
  } catch {
    return undefined;
  }
};

/** A refusal the bridge shows its agent: a JSON-RPC error without an id, then the socket ends. */
const refuse = (socket: net.Socket, message: string) =>
  socket.end(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message } })}\n`);

/** Listens on `socketPath` (a stale socket file of a dead owner is replaced: whoever calls this holds the owner lock). */
export const serveMcpSocket = async (app: StdioDeps, socketPath: string): Promise<McpSocketServer> => {
  const open = new Map<net.Socket, McpSession | undefined>();
  const server = net.createServer((socket) => {
    open.set(socket, undefined);
    socket.setNoDelay(true);
    const rest = new PassThrough();
    let head = Buffer.alloc(0);
    let greeted = false;
    const timer = setTimeout(() => refuse(socket, 'No bridge hello within 10 s.'), HELLO_TIMEOUT_MS);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      const session = open.get(socket);
      open.delete(socket);
      rest.end();
      void session?.close().catch(() => undefined);
    });
    socket.on('data', (chunk: Buffer) => {
      if (greeted) return void rest.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(0x0a);
      if (end === -1) {
        if (head.length > MAX_HELLO_BYTES) refuse(socket, 'The bridge hello is longer than 64 KiB.');
        return;
      }
      greeted = true;
      clearTimeout(timer);
      const hello = parseHello(head.subarray(0, end).toString('utf8'));
      if (!hello) return refuse(socket, `Expected a bridge hello {"vespera":"bridge","version":${BRIDGE_HELLO_VERSION}} as the first line.`);
      rest.write(head.subarray(end + 1));
      head = Buffer.alloc(0);
      mcpSession(app, sourceOf(hello, app.adminTokenFile), hello.role || undefined, rest, socket).then(
        (session) => {
          if (open.has(socket)) open.set(socket, session);
          else void session.close().catch(() => undefined);
        },
        (error: unknown) => {
          app.logger.warn({ err: error }, 'a bridged MCP session could not start');
          refuse(socket, (error as Error).message);
        },
      );
    });
  });
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (process.platform !== 'win32') fs.chmodSync(socketPath, 0o600);
  let closed = false;
  return {
    path: socketPath,
    sessions: () => open.size,
    close: async () => {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Bridges see their socket end and reconnect to the next owner (or become it).
      for (const socket of open.keys()) socket.destroy();
      await stopped;
      fs.rmSync(socketPath, { force: true });
    },
  };
};
