import net from 'node:net';
import type { Logger } from 'pino';
import { tryOwnerLock, type OwnerLock } from './ownerLock.js';
import { readServerFile } from './serverFile.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dial = (socketPath: string, timeoutMs = 2000): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer on ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });

export type OwnerConnectorDeps = Readonly<{
  dataDir: string;
  /** Opens the stores and listens (HTTP and the MCP socket, announced in server.json), with the lock just taken. */
  becomeOwner: (lock: OwnerLock) => Promise<void>;
  logger: Logger;
}>;

/**
 * Finds the data directory's owner for a bridge, as long as it takes: the MCP socket server.json names; else, when
 * nobody holds the owner lock (no server, or one that died), this process takes it and becomes the owner itself;
 * else someone is starting up and announces itself soon. Each way ends connected to an owner's socket.
 */
export const ownerConnector = (deps: OwnerConnectorDeps) => async (): Promise<net.Socket> => {
  for (let attempt = 0; ; attempt++) {
    const owner = readServerFile(deps.dataDir);
    if (owner?.mcpSocket) {
      try {
        return await dial(owner.mcpSocket);
      } catch (error) {
        deps.logger.debug({ err: error, owner }, 'the announced owner does not answer on its MCP socket');
      }
    }
    const lock = tryOwnerLock(deps.dataDir);
    if (lock) {
      deps.logger.info({ dataDir: deps.dataDir }, 'no process owns the data directory: this one takes it over');
      try {
        await deps.becomeOwner(lock);
      } catch (error) {
        // The stores would not open (a dependency down, a configuration problem): say so, and try again.
        lock.release();
        deps.logger.error({ err: error }, 'could not take the data directory over; trying again');
        await sleep(2000);
      }
      continue;
    }
    await sleep(Math.min(500, 25 * 2 ** Math.min(attempt, 5)));
  }
};
