import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dataFiles } from './dataFiles.js';

/** The server that owns a data directory, as it announces itself in `<dataDir>/server.json` while it listens. */
export type ServerFile = Readonly<{
  pid: number;
  url: string;
  startedAt: string;
  /** The local MCP socket other `vespera mcp` processes bridge to (api/mcp/socket.ts). */
  mcpSocket?: string;
}>;

/** The URL a local client reaches a listening address at (a wildcard bind answers on loopback). */
export const localUrl = (address: AddressInfo): string => {
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
};

/** Written once the server listens (mode 0600, replaced atomically). */
export const writeServerFile = (dataDir: string, address: AddressInfo, mcpSocket?: string, now = new Date()): ServerFile => {
  const file = dataFiles(dataDir).server;
  const info: ServerFile = { pid: process.pid, url: localUrl(address), startedAt: now.toISOString(), ...(mcpSocket ? { mcpSocket } : {}) };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return info;
};

/** Removed on stop, only when it is still this process's own (another server may have taken the directory over). */
export const removeServerFile = (dataDir: string, url?: string): void => {
  const current = readServerFile(dataDir);
  if (current && current.pid === process.pid && (url === undefined || current.url === url)) fs.rmSync(dataFiles(dataDir).server, { force: true });
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The server announced in the directory, or undefined when there is none or its process is gone (a crash leaves the file). */
export const readServerFile = (dataDir: string): ServerFile | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(dataFiles(dataDir).server, 'utf8'));
  } catch {
    return undefined;
  }
  const info = parsed as Partial<ServerFile>;
  if (typeof info?.pid !== 'number' || typeof info.url !== 'string' || typeof info.startedAt !== 'string') return undefined;
  return alive(info.pid) ? (info as ServerFile) : undefined;
};
