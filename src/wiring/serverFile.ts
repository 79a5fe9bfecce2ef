import fs from 'node:fs';
import path from 'node:path';

/** `<dataDir>/server.json`: the process that owns this data directory announces itself here while it listens. */
export type ServerFile = Readonly<{ pid: number; url: string; startedAt: string }>;

const fileOf = (dataDir: string) => path.join(dataDir, 'server.json');

export const writeServerFile = (dataDir: string, url: string): void =>
  fs.writeFileSync(fileOf(dataDir), `${JSON.stringify({ pid: process.pid, url, startedAt: new Date().toISOString() } satisfies ServerFile)}\n`, {
    mode: 0o600,
  });

/** Removed on stop, only when it is still this process's. */
export const removeServerFile = (dataDir: string): void => {
  if (runningServer(dataDir)?.pid === process.pid) fs.rmSync(fileOf(dataDir), { force: true });
};

/** The server that owns `dataDir`, when one runs (a file left by a crashed process names a dead pid and is ignored). */
export const runningServer = (dataDir: string): ServerFile | undefined => {
  let file: ServerFile;
  try {
    file = JSON.parse(fs.readFileSync(fileOf(dataDir), 'utf8')) as ServerFile;
  } catch {
    return undefined;
  }
  try {
    process.kill(file.pid, 0);
    return file;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? file : undefined;
  }
};
