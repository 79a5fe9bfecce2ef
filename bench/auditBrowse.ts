/**
 * The event browser and backup/restore parts of bench `audit` (issue 12): `measureBrowse` and `measureBackup` over a
 * SQLite event log. Alone: `tsx bench/auditBrowse.ts [--quick]` runs both over the audit log (bench/auditLog.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditLogOperations } from '../src/api/catalog/auditLog.js';
import type { OperationContext } from '../src/api/catalog/operation.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { backupSqliteLog, restoreSqliteLog } from '../src/eventstore/sqliteBackup.js';
import { atLeast, below, fmt, info, nowMs, percentile, printResult, round, tempDir, type Row } from './lib.js';
import { mulberry32 } from '../test/support/random.js';
import { auditLog } from './auditLog.js';

const ctx: OperationContext = { actor: 'bench', tool: 'bench', commandId: 'bench', correlationId: 'bench' };

/** p50/p99 of one page of 100 through the catalog operation (filters, store page, items, cursor), at random starting points. */
export const measureBrowse = async (
  storePath: string,
  samples = 300,
  /** Who wrote the log: its actors and one of its roles. */
  { actors, role }: { actors: readonly string[]; role: string },
): Promise<{ rows: Row[]; figures: Record<string, number> }> => {
  const store = new SqliteEventStore({ path: storePath, pollIntervalMs: 0 });
  try {
    const listEvents = auditLogOperations({ store }).find((op) => op.name === 'listEvents')!;
    const head = await store.headPosition();
    const random = mulberry32(7);
    const [someTask] = (await store.readAll({ fromPosition: Math.floor(head / 2), maxCount: 1 })).map((e) => (e.data as { taskId: string }).taskId);
    const time = async (input: () => Record<string, unknown>): Promise<{ p50: number; p99: number; items: number }> => {
      const latencies: number[] = [];
      let items = 0;
      for (let i = 0; i < samples; i++) {
        const args = { limit: 100, ...input() };
        const t0 = nowMs();
        const { body } = await listEvents.run(args, ctx);
        latencies.push(nowMs() - t0);
        items += (body as { items: unknown[] }).items.length;
      }
      return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), items: items / samples };
    };
    const cursorAt = () => Buffer.from(JSON.stringify([Math.floor(random() * head * 0.9)])).toString('base64url');
    const shapes: Array<[string, () => Record<string, unknown>]> = [
      ['actor', () => ({ actor: actors[Math.floor(random() * actors.length)], cursor: cursorAt() })],
      ['actor + type', () => ({ actor: actors[Math.floor(random() * actors.length)], type: ['TaskUpdated'], cursor: cursorAt() })],
      ['two types', () => ({ type: ['TaskCreated', 'TaskUpdated'], cursor: cursorAt() })],
      ['role (no index: scanned in position order)', () => ({ role, cursor: cursorAt() })],
      ['task', () => ({ taskId: someTask })],
      ['no filter', () => ({ cursor: cursorAt() })],
    ];
    const measured: Record<string, { p50: number; p99: number; items: number }> = {};
    for (const [name, input] of shapes) measured[name] = await time(input);
    const actor = measured.actor!;
    const rows: Row[] = [
      info('events in the log', head),
      below('page of 100 filtered by actor, p99', round(actor.p99, 2), 50, 'ms'),
      info('  p50', round(actor.p50, 2), 'ms'),
      ...shapes
        .slice(1)
        .map(([name]) =>
          info(`page filtered by ${name}, p50 / p99`, `${fmt(round(measured[name]!.p50, 2))} / ${fmt(round(measured[name]!.p99, 2))}`, 'ms'),
        ),
    ];
    const figures = {
      events: head,
      actorPageP50Ms: round(actor.p50, 2),
      actorPageP99Ms: round(actor.p99, 2),
      twoTypesPageP99Ms: round(measured['two types']!.p99, 2),
      rolePageP99Ms: round(measured['role (no index: scanned in position order)']!.p99, 2),
    };
    return { rows, figures };
  } finally {
    await store.close();
  }
};

/** Backup of the whole log, then a restore into an empty store (verify + import + indexes), before any read-model rebuild. */
export const measureBackup = async (storePath: string): Promise<{ rows: Row[]; figures: Record<string, number> }> => {
  const { dir, remove } = tempDir('audit-backup');
  try {
    const file = path.join(dir, 'log.ndjson');
    const backup = await backupSqliteLog(storePath, file);
    const restored = await restoreSqliteLog(path.join(dir, 'restored.db'), file);
    const restorePerSec = Math.round(restored.count / restored.seconds);
    const scaled1M = round((backup.seconds * 1_000_000) / Math.max(1, backup.count), 1);
    const rows: Row[] = [
      info('events backed up', backup.count),
      info('backup time', round(backup.seconds, 2), 's'),
      below('backup time, scaled to 1,000,000 events', scaled1M, 30, 's'),
      info('backup size', round(backup.bytes / 1048576, 1), 'MB'),
      atLeast('restore before the rebuild (check every line + write + indexes)', restorePerSec, 50_000, 'events/s'),
      info('  restore time', round(restored.seconds, 2), 's'),
    ];
    const figures = {
      backupEvents: backup.count,
      backupSeconds: round(backup.seconds, 2),
      backupSecondsPer1M: scaled1M,
      backupMb: round(backup.bytes / 1048576, 1),
      restoreEventsPerSec: restorePerSec,
      restoreSeconds: round(restored.seconds, 2),
    };
    return { rows, figures };
  } finally {
    remove();
  }
};

// Alone: `npx tsx bench/auditBrowse.ts [--quick]` over the audit log (bench/auditLog.ts).
const main = async () => {
  const log = await auditLog(process.argv.includes('--quick'));
  const browse = await measureBrowse(log.storePath, 300, { actors: log.actors, role: log.roles[0]! });
  const backup = await measureBackup(log.storePath);
  const result = {
    name: 'audit (browse, backup)',
    setup: `SQLite log of ${log.events.toLocaleString('en-US')} events (bench/auditLog.ts)`,
    rows: [...browse.rows, ...backup.rows],
    figures: { ...browse.figures, ...backup.figures },
  };
  printResult(result);
  console.log(JSON.stringify(result.figures));
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
