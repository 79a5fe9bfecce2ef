/** 7. Rebuild of the SQLite read model (rebuildReadModelFile, in a worker thread) from a log of ≥ 200,000 events. */
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { CommandHandler } from '../src/commands/handler.js';
import { projectCommands } from '../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../src/commands/project/decider.js';
import type { ProjectState } from '../src/commands/project/project.js';
import { projectStreamId, type ProjectEvent } from '../src/events/project.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger } from '../src/logger.js';
import { Projector } from '../src/projections/projector.js';
import { rebuildSqliteBlueGreen } from '../src/projections/sqlite/blueGreen.js';
import { SqliteProjection } from '../src/projections/sqlite/projection.js';
import { openReadModel } from '../src/projections/sqlite/readModel.js';
import { rebuildReadModelFile } from '../src/projections/sqlite/rebuild.js';
import { swappableDatabase } from '../src/projections/sqlite/swappable.js';
import { getTask } from '../src/queries/tasks.js';
import { atLeast, gc, info, makeTree, median, meta, nowMs, round, rssMb, spread, tempDir, type BenchOptions, type Result } from './lib.js';

/** A realistic log through the real decider and store: trees of 1,000 tasks, then dependencies and updates. */
const buildLog = async (store: SqliteEventStore, trees: number, deps: number, updates: number) => {
  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
  const commands = projectCommands({ handler, locateTask: async () => undefined, newId: uuidv7, now: () => new Date().toISOString() });
  const ids: string[] = [];
  for (let i = 0; i < trees; i++) {
    const result = await commands.createTaskTree({ root: makeTree(1000, `rebuild ${i}`) }, meta());
    for (const e of result.events) if (e.type === 'TaskCreated') ids.push((e.data as { taskId: string }).taskId);
  }
  const stream = projectStreamId('default');
  const send = async (make: (i: number) => Omit<ProjectCommand, 'metadata'>, count: number) => {
    for (let start = 0; start < count; start += 2000) {
      const batch: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(count, start + 2000); i++) {
        const { commandId, actor, tool } = meta();
        batch.push(
          handler
            .handle(stream, { ...make(i), metadata: { now: new Date().toISOString(), commandId, actor, tool } } as ProjectCommand)
            .catch(() => undefined),
        );
      }
      await Promise.all(batch);
    }
  };
  // Dependencies point from a task to one created within the 1,000 before it: acyclic, and the projection's open-deps upkeep runs.
  await send((i) => {
    const j = 1 + ((i * 7919) % (ids.length - 1));
    const k = Math.max(0, j - 1 - ((i * 104729) % 1000));
    return { type: 'AddDependency', data: { taskId: ids[j]!, dependsOn: ids[k]!, kind: i % 4 === 0 ? 'soft' : 'hard' } };
  }, deps);
  await send(
    (i) => ({ type: 'UpdateTask', data: { taskId: ids[(i * 31) % ids.length]!, changes: { title: `renamed ${i}`, tags: ['x', `t${i % 50}`] } } }),
    updates,
  );
  return ids.length;
};

/**
 * Blue-green in a serving process: reads of a task loop on the event loop while the model is rebuilt aside (in its
 * worker) and swapped in. Reports the rebuild's time, the longest event-loop stall and whether every read answered.
 */
const blueGreen = async (store: SqliteEventStore, dir: string, ids: readonly string[]) => {
  const file = path.join(dir, 'read.db');
  const handle = swappableDatabase(openReadModel(file));
  const projector = new Projector(store, new SqliteProjection(handle.db), createLogger('silent'));
  await projector.start();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let reads = 0;
  let missing = 0;
  let running = true;
  const reader = (async () => {
    while (running) {
      if (!getTask(handle.db, ids[reads % ids.length]!)) missing += 1;
      reads += 1;
      if (reads % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  delay.enable();
  const t0 = nowMs();
  await rebuildSqliteBlueGreen({ projector, handle, file, spec: { kind: 'sqlite', path: path.join(dir, 'events.db') } });
  const seconds = (nowMs() - t0) / 1000;
  delay.disable();
  running = false;
  await reader;
  projector.stop();
  handle.current().close();
  return { seconds, maxStallMs: delay.max / 1e6, reads, missing };
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const trees = opts.quick ? 20 : 160;
  const deps = opts.quick ? 3000 : 30_000;
  const updates = opts.quick ? 1000 : 10_000;
  const { dir, remove } = tempDir('rebuild');
  const store = new SqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'normal', pollIntervalMs: 0 });
  try {
    const t0 = nowMs();
    const tasks = await buildLog(store, trees, deps, updates);
    const { events } = await store.stats();
    const buildSeconds = (nowMs() - t0) / 1000;
    const runs: { eventsPerSecond: number; seconds: number; rss: number }[] = [];
    for (let r = 0; r < opts.reps; r++) {
      gc();
      // As `vespera rebuild` runs it: a worker thread over its own connection to the log.
      const result = await rebuildReadModelFile({ kind: 'sqlite', path: path.join(dir, 'events.db') }, path.join(dir, 'read.db'));
      if (result.events !== events) throw new Error(`rebuild applied ${result.events} of ${events} events`);
      runs.push({ eventsPerSecond: result.eventsPerSecond, seconds: result.seconds, rss: rssMb() });
    }
    const eps = median(runs.map((r) => r.eventsPerSecond));
    const ids = store
      .readAllSync({ fromPosition: 0, maxCount: 5000 })
      .flatMap((e) => (e.type === 'TaskCreated' ? [(e.data as { taskId: string }).taskId] : []));
    const bg = await blueGreen(store, dir, ids);
    return {
      name: 'rebuild',
      setup: `rebuildReadModelFile (the worker thread vespera rebuild uses) over a SQLite event log (built with sync=normal, not timed) of ${events.toLocaleString('en-US')} events: ${tasks.toLocaleString('en-US')} TaskCreated in trees of 1,000, ${deps.toLocaleString('en-US')} AddDependency, ${updates.toLocaleString('en-US')} UpdateTask; median of ${opts.reps}`,
      rows: [
        info('events in the log', events),
        info('building the log through decider + store', round(buildSeconds, 1), 's'),
        atLeast('rebuild throughput', round(eps, 0), 50_000, 'events/s'),
        info(
          '  spread over reps',
          spread(
            runs.map((r) => ({ v: r.eventsPerSecond })),
            'v',
          ),
        ),
        info('rebuild time', round(median(runs.map((r) => r.seconds)), 2), 's'),
        info('RSS after rebuild', median(runs.map((r) => r.rss)), 'MB'),
        info('blue-green rebuild while reads loop (build aside in a worker, catch up, swap)', round(bg.seconds, 2), 's'),
        info('  longest event-loop stall during it', round(bg.maxStallMs, 0), 'ms'),
        info('  reads answered during it (every one found its task)', `${bg.reads.toLocaleString('en-US')}, ${bg.missing} missing`),
      ],
      figures: {
        events,
        eventsPerSec: round(eps, 0),
        seconds: round(median(runs.map((r) => r.seconds)), 3),
        buildSeconds: round(buildSeconds, 1),
        rssMb: median(runs.map((r) => r.rss)),
        blueGreenSeconds: round(bg.seconds, 3),
        blueGreenMaxStallMs: round(bg.maxStallMs, 0),
        blueGreenMissingReads: bg.missing,
      },
    };
  } finally {
    await store.close();
    remove();
  }
};
