/**
 * Part of bench `audit`: `vespera verify` (sqlite + graph) over a large log. Runnable alone:
 * `npx tsx bench/auditVerify.ts [--quick] [--events N] [--dir DIR]`; prints a table, then one JSON line of figures.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventStore } from '../src/eventstore/eventStore.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { KuzuGraphStore } from '../src/projections/graph/kuzu.js';
import { rebuildGraph } from '../src/projections/graph/projection.js';
import { rebuildReadModelFile, type RebuildResult } from '../src/projections/sqlite/rebuild.js';
import { dataFiles } from '../src/wiring/dataFiles.js';
import { kuzuFileGraph, verifyReadModels } from '../src/wiring/verify.js';
import { auditLog } from './auditLog.js';
import { below, gc, info, nowMs, printResult, round, rssMb, tempDir, type Row } from './lib.js';

/** `sync(1)`: every dirty page of the machine written out, so a timed run does not pay for an earlier step's writes. */
const flushDirtyPages = (): void => void execFileSync('sync');

/**
 * A data directory over a copy of the log, with the live SQLite model and graph built from it. The model is built
 * `rebuilds` times (each replacing the last), every build timed: one long CPU-bound run moves by ±15% on the shared
 * machine, so a caller reports their median.
 */
export const liveDataDir = async (storePath: string, rebuilds = 1) => {
  const scratch = tempDir('audit-verify');
  const files = dataFiles(scratch.dir);
  fs.copyFileSync(storePath, files.events);
  const store = new SqliteEventStore({ path: files.events, pollIntervalMs: 0 });
  try {
    const rebuilt: RebuildResult[] = [];
    for (let r = 0; r < rebuilds; r++) {
      // The copy's dirty pages, and those the steps before it left (a backup, a restore, the last build), are written
      // out first, so the kernel's writeback does not run inside the timed rebuild.
      flushDirtyPages();
      // The offline rebuild as `vespera rebuild` and `vespera restore` run it: in a worker thread with its own heap settings.
      rebuilt.push(await rebuildReadModelFile({ kind: 'sqlite', path: files.events }, files.readModel));
    }
    const t0 = nowMs();
    const graph = KuzuGraphStore.open(files.graph);
    try {
      await rebuildGraph(store, graph);
    } finally {
      graph.close();
    }
    return { ...scratch, rebuilt, graphSeconds: round((nowMs() - t0) / 1000, 1) };
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

// Alone: `npx tsx bench/auditVerify.ts [--quick]` verifies the models built from the audit log (bench/auditLog.ts).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const log = await auditLog(process.argv.includes('--quick'));
  const live = await liveDataDir(log.storePath);
  try {
    const { rows, figures } = await measureVerify(live.dir);
    printResult({
      name: 'audit: verify',
      setup: `SQLite log of ${log.events.toLocaleString('en-US')} events (bench/auditLog.ts), read model and graph built from it; no server`,
      rows: [info('events in the log', log.events), ...rows],
      figures,
    });
    console.log(JSON.stringify({ verify: figures }));
  } finally {
    live.remove();
  }
}
