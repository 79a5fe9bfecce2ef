/**
 * Cold start of a big project aggregate: a log of one project with 100,000 tasks and 300,000 hard edges (10,000 /
 * 30,000 with --quick), then a fresh process loads it the way the server's first command on the project does
 * (CommandHandler.load) — folded from the log's first event, or read from a snapshot plus the tail. Each load runs in
 * its own child process, so time and RSS are a real cold start's. Also: the time the server pays to take a snapshot.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandHandler } from '../src/commands/handler.js';
import { projectDecider, type ProjectCommand } from '../src/commands/project/decider.js';
import type { ProjectState } from '../src/commands/project/project.js';
import { projectSnapshotCodec } from '../src/commands/project/snapshot.js';
import type { ProjectEvent } from '../src/events/project.js';
import type { NewEvent } from '../src/events/types.js';
import { SqliteSnapshotStore } from '../src/eventstore/snapshots.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { mulberry32 } from '../test/support/random.js';
import { below, info, median, nowMs, round, type BenchOptions, type Result } from './lib.js';

const STREAM = 'project-cold';
const NOW = '2026-01-01T00:00:00.000Z';

const handlerFor = (dir: string, snapshots: boolean) => {
  const store = new SqliteEventStore({ path: path.join(dir, 'events.db'), pollIntervalMs: 0 });
  const snapshotStore = snapshots ? new SqliteSnapshotStore(path.join(dir, 'snapshots.db')) : undefined;
  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({
    store,
    decider: projectDecider(),
    ...(snapshotStore ? { snapshots: { store: snapshotStore, codec: projectSnapshotCodec, every: 5000 } } : {}),
  });
  return { handler, close: async () => (snapshotStore?.close(), await store.close()) };
};

/** The child: one cold load, then its time and RSS as a JSON line. */
const child = async (dir: string, mode: 'fold' | 'snapshot') => {
  const { handler, close } = handlerFor(dir, mode === 'snapshot');
  const t0 = nowMs();
  const state = await handler.load(STREAM);
  const ms = nowMs() - t0;
  global.gc?.();
  const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  process.stdout.write(`${JSON.stringify({ ms, rssMb, tasks: state.tasks.size })}\n`);
  await close();
};

if (process.env.VESPERA_BENCH_COLD_CHILD) {
  const [dir, mode] = process.env.VESPERA_BENCH_COLD_CHILD.split('|') as [string, 'fold' | 'snapshot'];
  child(dir, mode).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

const load = (dir: string, mode: 'fold' | 'snapshot'): { ms: number; rssMb: number; tasks: number } =>
  JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, VESPERA_BENCH_COLD_CHILD: `${dir}|${mode}` },
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    }).trim(),
  ) as { ms: number; rssMb: number; tasks: number };

const metadata = { actor: 'bench', tool: 'bench', commandId: 'seed', correlationId: 'seed', schemaVersion: 1 };

/** ProjectCreated, the tasks (one in ten under an earlier task) and the edges (each to one of the 1,000 tasks before it). */
const writeLog = async (dir: string, tasks: number, edges: number) => {
  const store = new SqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'normal', pollIntervalMs: 0 });
  const random = mulberry32(7);
  let revision = -1;
  let n = 0;
  let batch: NewEvent[] = [];
  const push = async (type: string, data: object) => {
    batch.push({ id: `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`, type, data, metadata });
    if (batch.length < 5000) return;
    await flush();
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await store.appendToStream(STREAM, batch, revision === -1 ? 'no_stream' : revision);
    revision = result.nextRevision;
    batch = [];
  };
  await push('ProjectCreated', { projectId: 'cold', name: 'Cold start', description: '', createdAt: NOW });
  for (let i = 0; i < tasks; i++) {
    const parentId = i > 0 && i % 10 === 0 ? `t${Math.floor(random() * i)}` : null;
    await push('TaskCreated', {
      taskId: `t${i}`,
      projectId: 'cold',
      parentId,
      title: `task ${i}`,
      description: '',
      status: 'pending',
      priority: 'normal',
      tags: [],
      estimate: null,
      files: [`src/m${i % 500}/f${i % 7}.ts`],
      requiredCapabilities: [],
      metadata: {},
      createdAt: NOW,
    });
  }
  const seen = new Set<string>();
  for (let added = 0; added < edges;) {
    const j = 1 + Math.floor(random() * (tasks - 1));
    const i = Math.max(0, j - 1 - Math.floor(random() * 1000));
    const key = `${j}>${i}`;
    if (seen.has(key)) continue;
    seen.add(key);
    await push('DependencyAdded', { taskId: `t${j}`, projectId: 'cold', dependsOn: `t${i}`, kind: 'hard', addedAt: NOW });
    added++;
  }
  await flush();
  await store.close();
  return revision + 1;
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const tasks = opts.quick ? 10_000 : 100_000;
  const edges = tasks * 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-bench-cold-'));
  try {
    const t0 = nowMs();
    const events = await writeLog(dir, tasks, edges);
    const writeMs = nowMs() - t0;
    const folds = Array.from({ length: opts.reps }, () => load(dir, 'fold'));
    // The first load with snapshots folds the log and takes the snapshot (what a server pays once); then cold loads read it.
    const { handler, close } = handlerFor(dir, true);
    const s0 = nowMs();
    await handler.load(STREAM);
    const firstMs = nowMs() - s0;
    await close();
    const snapshotBytes = fs.statSync(path.join(dir, 'snapshots.db')).size;
    const fromSnapshot = Array.from({ length: opts.reps }, () => load(dir, 'snapshot'));
    for (const r of [...folds, ...fromSnapshot]) if (r.tasks !== tasks) throw new Error(`a cold load held ${r.tasks} tasks, not ${tasks}`);
    const fold = { ms: median(folds.map((r) => r.ms)), rss: median(folds.map((r) => r.rssMb)) };
    const snap = { ms: median(fromSnapshot.map((r) => r.ms)), rss: median(fromSnapshot.map((r) => r.rssMb)) };
    return {
      name: 'coldStart',
      setup: `one project of ${tasks.toLocaleString('en-US')} tasks / ${edges.toLocaleString('en-US')} hard edges (${events.toLocaleString('en-US')} events, SQLite), loaded by CommandHandler.load in a fresh child process (RSS after a GC); median of ${opts.reps}`,
      rows: [
        info('write the log', round(writeMs / 1000, 1), 's'),
        info('cold load, folded from the first event', round(fold.ms, 0), 'ms'),
        info('  RSS', fold.rss, 'MB'),
        below('cold load, snapshot + tail', round(snap.ms, 0), 1500, 'ms'),
        below('  RSS', snap.rss, 400, 'MB'),
        info('first load with snapshots on (fold + take the snapshot)', round(firstMs, 0), 'ms'),
        info('snapshot file', round(snapshotBytes / 2 ** 20, 1), 'MB'),
      ],
      figures: {
        coldFoldMs: round(fold.ms, 0),
        coldFoldRssMb: fold.rss,
        coldSnapshotMs: round(snap.ms, 0),
        coldSnapshotRssMb: snap.rss,
        snapshotTakeMs: round(firstMs, 0),
        snapshotMb: round(snapshotBytes / 2 ** 20, 1),
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};
