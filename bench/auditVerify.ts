/**
 * Part of bench `audit`: `vespera verify` (sqlite + graph) over a large log. Runnable alone:
 * `npx tsx bench/auditVerify.ts [--quick] [--events N] [--dir DIR]`; prints a table, then one JSON line of figures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { CommandHandler } from '../src/commands/handler.js';
import { projectCommands } from '../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../src/commands/project/decider.js';
import type { ProjectState } from '../src/commands/project/project.js';
import { projectStreamId, type ProjectEvent } from '../src/events/project.js';
import type { EventStore } from '../src/eventstore/eventStore.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { KuzuGraphStore } from '../src/projections/graph/kuzu.js';
import { rebuildGraph } from '../src/projections/graph/projection.js';
import { rebuildReadModel } from '../src/projections/sqlite/rebuild.js';
import { dataFiles } from '../src/wiring/dataFiles.js';
import { kuzuFileGraph, verifyReadModels } from '../src/wiring/verify.js';
import { below, gc, info, makeTree, meta, nowMs, printResult, round, rssMb, tempDir, type Row } from './lib.js';

/**
 * A log of about `events` events through the real decider and store, in one data directory: trees of 1,000 tasks
 * (60 %), dependencies between nearby tasks (25 %) and title/tag updates (15 %). Then the live read models are
 * built from it (SQLite read model, Kuzu graph), as a server that followed the log would hold them.
 */
export const buildVerifyLog = async (dataDir: string, events: number): Promise<{ events: number; tasks: number }> => {
  const files = dataFiles(dataDir);
  const store = new SqliteEventStore({ path: files.events, synchronous: 'normal', pollIntervalMs: 0 });
  try {
    const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
    const commands = projectCommands({ handler, locateTask: async () => undefined, newId: uuidv7, now: () => new Date().toISOString() });
    const ids: string[] = [];
    const trees = Math.max(1, Math.round((events * 0.6) / 1000));
    for (let i = 0; i < trees; i++) {
      const result = await commands.createTaskTree({ root: makeTree(1000, `verify ${i}`) }, meta());
      for (const e of result.events) if (e.type === 'TaskCreated') ids.push((e.data as { taskId: string }).taskId);
    }
    const stream = projectStreamId('default');
    const send = async (make: (i: number) => Omit<ProjectCommand, 'metadata'>, count: number) => {
      for (let start = 0; start < count; start += 2000) {
        const batch: Promise<unknown>[] = [];
        for (let i = start; i < Math.min(count, start + 2000); i++) {
          const { commandId, actor, tool } = meta();
          const metadata = { now: new Date().toISOString(), commandId, actor, tool };
          batch.push(handler.handle(stream, { ...make(i), metadata } as ProjectCommand).catch(() => undefined));
        }
        await Promise.all(batch);
      }
    };
    await send(
      (i) => {
        const j = 1 + ((i * 7919) % (ids.length - 1));
        const k = Math.max(0, j - 1 - ((i * 104729) % 1000));
        return { type: 'AddDependency', data: { taskId: ids[j]!, dependsOn: ids[k]!, kind: i % 4 === 0 ? 'soft' : 'hard' } };
      },
      Math.round(events * 0.25),
    );
    await send(
      (i) => ({ type: 'UpdateTask', data: { taskId: ids[(i * 31) % ids.length]!, changes: { title: `renamed ${i}`, tags: ['x', `t${i % 50}`] } } }),
      Math.round(events * 0.15),
    );
    await rebuildReadModel(store, files.readModel);
    const graph = KuzuGraphStore.open(files.graph);
    try {
      await rebuildGraph(store, graph);
    } finally {
      graph.close();
    }
    return { events: (await store.stats()).events, tasks: ids.length };
  } finally {
    await store.close();
  }
};

/** Verifies both models of `dataDir` as `vespera verify` does without a server; the rows say which phase dominates. */
export const measureVerify = async (dataDir: string, store?: EventStore): Promise<{ rows: Row[]; figures: Record<string, number> }> => {
  const own = store ?? new SqliteEventStore({ path: dataFiles(dataDir).events, pollIntervalMs: 0 });
  const phases = new Map<string, number>();
  let phase = '';
  let phaseStarted = 0;
  const close = (at: number) => phase && phases.set(phase, (phases.get(phase) ?? 0) + (at - phaseStarted));
  try {
    gc();
    const started = nowMs();
    phaseStarted = started;
    const report = await verifyReadModels({ store: own, dataDir, liveGraph: kuzuFileGraph(dataFiles(dataDir).graph) }, ['sqlite', 'graph'], (p) => {
      if (p.phase === phase) return;
      const at = nowMs();
      close(at);
      phase = p.phase;
      phaseStarted = at;
    });
    const ended = nowMs();
    close(ended);
    if (!report.equal) throw new Error(`verify found differences in a freshly built data directory: ${JSON.stringify(report).slice(0, 2000)}`);
    const seconds = (ended - started) / 1000;
    const sqlite = report.models.find((m) => m.model === 'sqlite')!;
    const s = (name: string) => round((phases.get(name) ?? 0) / 1000, 2);
    const figures = {
      events: sqlite.position,
      seconds: round(seconds, 2),
      graphLiveDumpSeconds: s('graph: reading the live graph'),
      sqliteRebuildSeconds: s('sqlite: rebuilding aside'),
      sqliteCompareSeconds: s('sqlite: comparing'),
      graphFoldSeconds: s('graph: folding the log'),
      graphCompareSeconds: s('graph: comparing'),
      rssMb: rssMb(),
    };
    const rows: Row[] = [
      below(`verify sqlite + graph, ${sqlite.position.toLocaleString('en-US')} events`, figures.seconds, 60, 's'),
      info('  graph: dump the live Kuzu graph', figures.graphLiveDumpSeconds, 's'),
      info('  sqlite: rebuild aside up to the checkpoint (graph fold riding along)', figures.sqliteRebuildSeconds, 's'),
      info('  sqlite: compare 9 tables in key order', figures.sqliteCompareSeconds, 's'),
      info('  graph: fold the rest of the log', figures.graphFoldSeconds, 's'),
      info('  graph: compare nodes, edges, tree links', figures.graphCompareSeconds, 's'),
      info('RSS after verify', figures.rssMb, 'MB'),
    ];
    return { rows, figures };
  } finally {
    if (!store) await own.close();
  }
};

const countLog = async (dir: string) => {
  const store = new SqliteEventStore({ path: dataFiles(dir).events, pollIntervalMs: 0 });
  const events = (await store.stats()).events;
  await store.close();
  return { events, tasks: Math.round(events * 0.6) };
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--events');
  const events = at >= 0 ? Number(args[at + 1]) : args.includes('--quick') ? 20_000 : 1_000_000;
  // --dir DIR keeps the data directory (built once if it holds no log), so phases can be measured again quickly.
  const dirAt = args.indexOf('--dir');
  const kept = dirAt >= 0 ? args[dirAt + 1]! : undefined;
  const { dir, remove } = kept ? { dir: kept, remove: () => undefined } : tempDir('verify');
  try {
    const t0 = nowMs();
    const reuse = kept !== undefined && fs.existsSync(dataFiles(kept).graph);
    if (kept) fs.mkdirSync(kept, { recursive: true });
    const built = reuse ? await countLog(dir) : await buildVerifyLog(dir, events);
    const buildSeconds = reuse ? 0 : round((nowMs() - t0) / 1000, 1);
    const { rows, figures } = await measureVerify(dir);
    printResult({
      name: 'audit: verify',
      setup: `SQLite log of ${built.events.toLocaleString('en-US')} events (${built.tasks.toLocaleString('en-US')} tasks in trees of 1,000, dependencies, updates; built in ${buildSeconds} s, not timed), read model and graph built from it; no server`,
      rows: [info('events in the log', built.events), ...rows],
      figures,
    });
    console.log(JSON.stringify({ verify: { ...figures, buildSeconds } }));
  } finally {
    remove();
  }
}
