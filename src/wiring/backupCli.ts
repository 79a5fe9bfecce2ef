import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import { SqliteEventStore } from '../eventstore/sqlite.js';
import { backupSqliteLog, restoreSqliteLog, type BackupProgress } from '../eventstore/sqliteBackup.js';
import { rebuildReadModelFile } from '../projections/sqlite/rebuild.js';
import { dataFiles } from './dataFiles.js';
import { readServerFile } from './serverFile.js';

type Options = Readonly<{ json?: boolean }>;

/** Progress on stderr: a bar on a terminal, otherwise a JSON line at most once a second. */
export const progressReporter = (label: string) => {
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: `${label} [{bar}] {percentage}% | {value}/{total} events`, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  let lastLine = 0;
  return {
    update: ({ done, total }: BackupProgress) => {
      if (bar) {
        if (!started) bar.start(Math.max(1, total), 0);
        started = true;
        bar.update(done);
      } else if (Date.now() - lastLine >= 1000 || done === total) {
        lastLine = Date.now();
        process.stderr.write(`${JSON.stringify({ phase: label, done, total })}\n`);
      }
    },
    stop: () => bar?.stop(),
  };
};

const refuse = (message: string, hint?: string): number => {
  process.stderr.write(`${message}${hint ? `\n${hint}` : ''}\n`);
  return 1;
};

const sqliteOnly = (cfg: Config, what: string): number | undefined =>
  cfg.eventStore === 'sqlite'
    ? undefined
    : refuse(
        `vespera ${what} works on the embedded SQLite event log; this configuration uses ${cfg.eventStore}.`,
        cfg.eventStore === 'postgres'
          ? 'Back up the PostgreSQL database with pg_dump and restore it with pg_restore: they keep the log positions (docs/event-stores.md).'
          : 'KurrentDB assigns its own log positions, so a restore could not keep them: back it up with its own tools (docs/audit.md#backup-and-restore).',
      );

/** `vespera backup FILE [--json]`: the log up to its head as NDJSON; safe while a server runs on the same data dir. */
export const backupCommand = async (cfg: Config, file: string, opts: Options): Promise<number> => {
  const refused = sqliteOnly(cfg, 'backup');
  if (refused !== undefined) return refused;
  const progress = progressReporter('backup');
  try {
    const summary = await backupSqliteLog(dataFiles(cfg.dataDir).events, path.resolve(file), progress.update);
    progress.stop();
    const eventsPerSecond = Math.round(summary.count / Math.max(summary.seconds, 1e-9));
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...summary, eventsPerSecond })}\n`);
    else
      process.stderr.write(
        `Backed up ${summary.count} events (positions up to ${summary.lastPosition}) to ${summary.file} in ${summary.seconds.toFixed(2)} s (${eventsPerSecond} events/s).\n`,
      );
    return 0;
  } catch (error) {
    progress.stop();
    if (error instanceof DomainError) return refuse(error.message, error.hint);
    throw error;
  }
};

/**
 * `vespera restore FILE [--json]`: into an empty data directory only. Verifies the whole file first (nothing is written
 * when a line is bad), imports the events, rebuilds the SQLite read model and drops the graph, which rebuilds at start.
 */
export const restoreCommand = async (cfg: Config, file: string, opts: Options): Promise<number> => {
  const refused = sqliteOnly(cfg, 'restore');
  if (refused !== undefined) return refused;
  const server = readServerFile(cfg.dataDir);
  if (server) {
    process.stderr.write(`A server (pid ${server.pid}, ${server.url}) owns ${cfg.dataDir}: stop it before restoring into that data directory.\n`);
    return 1;
  }
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const files = dataFiles(cfg.dataDir);
  const progress = progressReporter('restore');
  let store: SqliteEventStore | undefined;
  try {
    const restored = await restoreSqliteLog(files.events, path.resolve(file), progress.update);
    progress.stop();
    store = new SqliteEventStore({ path: files.events, synchronous: cfg.sync, pollIntervalMs: 0 });
    const rebuilt = await rebuildReadModelFile({ kind: 'sqlite', path: files.events }, files.readModel);
    for (const graph of ['graph.kuzu', 'graph.kuzu.wal']) fs.rmSync(path.join(cfg.dataDir, graph), { recursive: true, force: true });
    const summary = {
      file: path.resolve(file),
      count: restored.count,
      lastPosition: restored.lastPosition,
      restoreSeconds: restored.seconds,
      restoreEventsPerSecond: Math.round(restored.count / Math.max(restored.seconds, 1e-9)),
      rebuildSeconds: rebuilt.seconds,
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      process.stderr.write(
        `Restored ${summary.count} events (up to position ${summary.lastPosition}), checked and written in ${summary.restoreSeconds.toFixed(2)} s (${summary.restoreEventsPerSecond} events/s); SQLite read model rebuilt in ${rebuilt.seconds.toFixed(2)} s; the graph rebuilds when the server starts.\n`,
      );
    return 0;
  } catch (error) {
    progress.stop();
    if (error instanceof DomainError) return refuse(error.message, error.hint);
    throw error;
  } finally {
    await store?.close();
  }
};
