/**
 * Bench `audit` (issue 12): the administrator's reads and tools over a log of ~1,000,000 events (`bench/auditLog.ts`,
 * 100,000 with --quick): a filtered page of the event browser, backup and restore, verify (sqlite + graph) and the
 * SQLite rebuild that verify and blue-green rebuilds run on; plus the state of a 10,000-task project as of a mid-log
 * position (`bench/auditState.ts`, its own project). The log is built once and cached; building it is not timed.
 */
import path from 'node:path';
import { auditLog } from './auditLog.js';
import { measureBackup, measureBrowse } from './auditBrowse.js';
import { measureAsOf } from './auditState.js';
import { liveDataDir, measureVerify } from './auditVerify.js';
import { atLeast, info, medianOf, round, spread, type BenchOptions, type Result, type Row } from './lib.js';

export const run = async (opts: BenchOptions): Promise<Result> => {
  const log = await auditLog(opts.quick);
  const asOf = await measureAsOf(opts);
  const browse = await measureBrowse(log.storePath, opts.quick ? 100 : 300, { actors: log.actors, role: log.roles[0]! });
  const backup = await measureBackup(log.storePath);
  const live = await liveDataDir(log.storePath, opts.reps);
  try {
    const rebuilt = medianOf(live.rebuilt.map(({ eventsPerSecond, seconds }) => ({ eventsPerSecond, seconds })));
    const verify = await measureVerify(live.dir);
    const rows: Row[] = [
      info('events in the log', log.events),
      info(`  built through the decider${log.cached ? ' (cached from an earlier run)' : ''}`, log.buildSeconds, 's'),
      ...asOf.rows.slice(1),
      ...browse.rows.slice(1),
      ...backup.rows,
      atLeast(`SQLite read-model rebuild (bulk, offline), median of ${live.rebuilt.length}`, rebuilt.eventsPerSecond!, 50_000, 'events/s'),
      info('  spread over rebuilds', spread(live.rebuilt, 'eventsPerSecond')),
      info('  rebuild time', round(rebuilt.seconds!, 1), 's'),
      info('graph built from the log for verify (not timed in verify)', live.graphSeconds, 's'),
      ...verify.rows,
    ];
    return {
      name: 'audit',
      setup: `SQLite log of ${log.events.toLocaleString('en-US')} events (${log.projects.length} projects of ${log.tasksPerProject.toLocaleString('en-US')} tasks, ${log.actors.length} agents, ${log.roles.length} roles; phases interleaved); as-of: ${asOf.setup}`,
      rows,
      figures: {
        events: log.events,
        ...asOf.figures,
        ...browse.figures,
        ...backup.figures,
        rebuildEventsPerSec: rebuilt.eventsPerSecond!,
        rebuildSeconds: round(rebuilt.seconds!, 2),
        ...Object.fromEntries(Object.entries(verify.figures).map(([k, v]) => [`verify${k[0]!.toUpperCase()}${k.slice(1)}`, v])),
      },
    };
  } finally {
    live.remove();
  }
};

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { printResult } = await import('./lib.js');
  const result = await run({ quick: process.argv.includes('--quick'), reps: 3 });
  printResult(result);
  console.log(JSON.stringify(result.figures));
}
