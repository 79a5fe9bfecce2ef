import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DomainError } from '../errors.js';
import { dataFiles } from './dataFiles.js';
import { readServerFile } from './serverFile.js';

/**
 * One process owns a data directory's stores (Kuzu allows one process per database file; the SQLite files and the
 * vector collections are written by one projector each). Ownership is an exclusive lock on `owner.lock`, taken
 * through SQLite: its file locks are the kernel's, so a process killed with -9 lets go of the directory with its
 * last breath, and no stale-lock guessing by pid or age is ever needed. Another process asking for it is refused
 * at once (timeout 0), whatever server.json says.
 */
export type OwnerLock = Readonly<{ release: () => void }>;

export const tryOwnerLock = (dataDir: string): OwnerLock | undefined => {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(dataFiles(dataDir).ownerLock, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return undefined;
    throw error;
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      db.close();
    },
  };
};

/** The lock, or 409 DATA_DIR_OWNED naming the process that holds it when server.json says which. */
export const ownerLock = (dataDir: string): OwnerLock => {
  const lock = tryOwnerLock(dataDir);
  if (lock) return lock;
  const owner = readServerFile(dataDir);
  throw new DomainError(
    'DATA_DIR_OWNED',
    409,
    owner
      ? `Another Vespera process (pid ${owner.pid}, ${owner.url}) owns ${dataDir}.`
      : `Another Vespera process is opening ${dataDir} (it has not announced itself yet).`,
    owner ? { pid: owner.pid, url: owner.url } : {},
    'Stop it, or give this one another VESPERA_DATA_DIR; `vespera mcp` on the same directory bridges to it instead.',
  );
};

/**
 * Where the owner listens for bridged MCP clients: `<dataDir>/mcp.sock`, or (a socket path is limited to ~107 bytes)
 * a name in the temp directory derived from the data directory's real path.
 */
export const mcpSocketPath = (dataDir: string): string => {
  const inDir = dataFiles(dataDir).mcpSocket;
  if (process.platform === 'win32')
    return `\\\\.\\pipe\\vespera-${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16)}`;
  if (Buffer.byteLength(inDir) <= 100) return inDir;
  return path.join(os.tmpdir(), `vespera-${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16)}.sock`);
};
