/**
 * 8. Graph read model and analytics: critical path at 10,000 tasks, ready queue for a role and transitive
 * dependents at 100,000 tasks / 300,000 edges (graph vs SQLite vs the in-memory index), adjacency load
 * (graph vs SQLite, which decides the analytics' source), and a graph rebuild from the log.
 */
import path from 'node:path';
import type Database from 'better-sqlite3';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import type { NewEvent } from '../src/events/types.js';
import type { GraphSnapshot } from '../src/projections/graph/graphStore.js';
import { KuzuGraphStore } from '../src/projections/graph/kuzu.js';
import { rebuildGraph } from '../src/projections/graph/projection.js';
import { openReadModel } from '../src/projections/sqlite/readModel.js';
import { READ_MODEL_DDL } from '../src/projections/sqlite/schema.js';
import { getCriticalPath } from '../src/queries/analytics/analytics.js';
import { computeCpm } from '../src/algorithms/cpm.js';
import { ProjectIndex } from '../src/queries/analytics/projectIndex.js';
import { graphSource, sqliteSource, type AdjacencySource } from '../src/queries/analytics/source.js';
import { listReadyTasks } from '../src/queries/tasks.js';
import { atLeast, below, gc, info, median, nowMs, percentile, round, tempDir, type BenchOptions, type Result, type Row } from './lib.js';
import { mulberry32 } from '../test/support/random.js';

const ROLES = ['backend', 'frontend', 'tester', 'docs', 'ops'];
const STATUSES = ['pending', 'pending', 'pending', 'in_progress', 'completed'];
const PRIORITIES = ['low', 'normal', 'normal', 'high', 'critical'];

/**
 * `tasks` tasks in projects of `perProject`, each depending on `edgesPer` earlier tasks of the same module of
 * 1,000 (features depend on their neighbours, not on the whole company).
 */
const makeGraph = (tasks: number, perProject: number, edgesPer: number, seed: number): GraphSnapshot => {
  const random = mulberry32(seed);
  const snapshot: GraphSnapshot = { tasks: [], edges: [], children: [], links: [] };
  for (let i = 0; i < tasks; i++) {
    const status = STATUSES[Math.floor(random() * STATUSES.length)]!;
    snapshot.tasks.push({
      id: `t${i}`,
      project: `p${Math.floor(i / perProject)}`,
      title: `task ${i}`,
      status,
      priority: PRIORITIES[Math.floor(random() * PRIORITIES.length)]!,
      estimate: random() < 0.1 ? null : 1 + Math.floor(random() * 16),
      role: ROLES[i % ROLES.length]!,
      files: [],
      claimedBy: null,
      depth: 0,
      createdSeq: i + 1,
    });
    const moduleStart = i - (i % 1000);
    const seen = new Set<number>();
    for (let k = 0; k < edgesPer && i > moduleStart; k++) {
      const j = moduleStart + Math.floor(random() * (i - moduleStart));
      if (seen.has(j)) continue;
      seen.add(j);
      snapshot.edges.push({ taskId: `t${i}`, dependsOn: `t${j}`, kind: random() < 0.9 ? 'hard' : 'soft' });
    }
  }
  return snapshot;
};

/** The same graph as SQLite read-model rows (direct SQL: a bench-only model, open_hard_deps computed once). */
const loadSqlite = (db: Database.Database, snapshot: GraphSnapshot) => {
  db.exec(READ_MODEL_DDL);
  const task = db.prepare(`INSERT INTO tasks (id, project_id, parent_id, path, depth, title, description, status, priority, priority_rank, role, tags,
    estimate, files, required_capabilities, metadata, open_hard_deps, version, created_at, updated_at, seq)
    VALUES (?, ?, NULL, ?, 0, ?, '', ?, ?, ?, ?, '[]', ?, '[]', '[]', '{}', 0, 0, '2025-01-01', '2025-01-01', ?)`);
  const edge = db.prepare("INSERT INTO dependencies (task_id, depends_on, kind, project_id, created_at) VALUES (?, ?, ?, ?, '2025-01-01')");
  const project = new Map(snapshot.tasks.map((t) => [t.id, t.project]));
  db.transaction(() => {
    for (const t of snapshot.tasks) {
      task.run(t.id, t.project, `/${t.id}/`, t.id, t.status, t.priority, PRIORITIES.indexOf(t.priority) % 4, t.role, t.estimate, t.createdSeq);
    }
    for (const e of snapshot.edges) edge.run(e.taskId, e.dependsOn, e.kind, project.get(e.taskId));
    db.exec(`UPDATE tasks SET open_hard_deps = (SELECT COUNT(*) FROM dependencies d JOIN tasks t ON t.id = d.depends_on
      WHERE d.task_id = tasks.id AND d.kind = 'hard' AND t.status <> 'completed')`);
  })();
  db.exec('ANALYZE');
};

const time = (fn: () => unknown, count: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = nowMs();
    fn();
    out.push(nowMs() - t0);
  }
  return out;
};

/** A log of TaskCreated + DependencyAdded events appended straight to the store (the decider is not under test). */
const buildLog = async (store: SqliteEventStore, snapshot: GraphSnapshot) => {
  const metadata = { actor: 'bench', tool: 'bench', commandId: 'bench', correlationId: 'bench', schemaVersion: 1 };
  const at = '2025-01-01T00:00:00.000Z';
  const events: NewEvent[] = [];
  for (const t of snapshot.tasks) {
    events.push({
      id: `c-${t.id}`,
      type: 'TaskCreated',
      data: {
        taskId: t.id,
        projectId: 'bench',
        parentId: null,
        title: t.id,
        description: '',
        status: 'pending',
        priority: t.priority,
        tags: [],
        estimate: t.estimate,
        files: [],
        requiredCapabilities: [],
        metadata: {},
        createdAt: at,
      },
      metadata,
    });
  }
  for (const [n, e] of snapshot.edges.entries()) {
    events.push({ id: `d-${n}`, type: 'DependencyAdded', data: { ...e, projectId: 'bench', addedAt: at }, metadata });
  }
  for (let i = 0; i < events.length; i += 5000) await store.appendToStream('project-bench', events.slice(i, i + 5000), 'any');
  return events.length;
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const big = opts.quick ? 20_000 : 100_000;
  const { dir, remove } = tempDir('graph');
  const rows: Row[] = [];
  const figures: Record<string, number> = {};
  const db = openReadModel(path.join(dir, 'read.db'));
  const graph = KuzuGraphStore.open(path.join(dir, 'graph.kuzu'));
  const store = new SqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'normal', pollIntervalMs: 0 });
  try {
    // 100,000 tasks in 10 projects of 10,000, about 300,000 edges.
    const snapshot = makeGraph(big, 10_000, 3, 42);
    loadSqlite(db, snapshot);
    graph.bulkLoad(snapshot);
    const edges = snapshot.edges.length;
    rows.push(info('graph', `${big.toLocaleString('en-US')} tasks / ${edges.toLocaleString('en-US')} edges, projects of 10,000, modules of 1,000`));

    // ── Adjacency load for one 10,000-task project: SQLite vs graph (decides the analytics' source) ──
    const sources: AdjacencySource[] = [sqliteSource(db), graphSource(graph)];
    const load: Record<string, number> = {};
    for (const source of sources) {
      source.loadProject('p0');
      load[source.name] = median(time(() => source.loadProject('p0'), opts.reps * 3));
      rows.push(info(`load a 10,000-task project's adjacency from ${source.name}`, round(load[source.name]!, 2), 'ms'));
      figures[`load${source.name}Ms`] = round(load[source.name]!, 3);
    }

    // ── Critical path at 10,000 tasks ──
    const project = new ProjectIndex(sources[0]!.loadProject('p0'));
    const cpmMs = median(time(() => computeCpm(project.tasks, project.graph.edges, { defaultEstimate: 8 }), 5 + opts.reps * 3).slice(5));
    rows.push(below('critical path, 10,000 tasks: computeCpm on a warm index (no write since the last query)', round(cpmMs, 2), 50, 'ms'));
    // Any write invalidates the cached index, so the first query after it pays load + index + CPM: the cold figure.
    for (const source of sources) {
      const deps = { projectOf: () => 'p0', project: () => new ProjectIndex(source.loadProject('p0')), defaultEstimate: 8 };
      getCriticalPath(deps, { projectId: 'p0' });
      const ms = median(time(() => getCriticalPath(deps, { projectId: 'p0', limit: 20 }), opts.reps * 3));
      rows.push(
        info(`critical path COLD, 10,000 tasks: first query after a write (load from ${source.name} + index + CPM + top 20)`, round(ms, 2), 'ms'),
      );
      figures[`criticalPathCold${source.name}Ms`] = round(ms, 3);
    }
    figures.cpmMs = round(cpmMs, 3);

    // ── Ready queue for a role at 100,000 tasks ──
    listReadyTasks(db, { role: 'tester', limit: 20 });
    const ready = time(() => listReadyTasks(db, { role: ROLES[Math.floor(Math.random() * ROLES.length)]!, limit: 20 }), 200);
    rows.push(
      below(`ready queue for a role at ${big.toLocaleString('en-US')} tasks (SQLite listReadyTasks) p50`, round(percentile(ready, 50), 3), 10, 'ms'),
    );
    rows.push(info('  p99', round(percentile(ready, 99), 3), 'ms'));
    figures.readyP50Ms = round(percentile(ready, 50), 4);

    // ── Transitive dependents at 100,000 tasks / 300,000 edges ──
    const random = mulberry32(7);
    const picks = Array.from({ length: 50 }, () => `t${Math.floor(random() * big)}`);
    const indexStarted = nowMs();
    const index = new ProjectIndex({ projectId: 'all', tasks: snapshot.tasks.map((t) => ({ ...t, parentId: null })), edges: snapshot.edges });
    const indexMs = nowMs() - indexStarted;
    const ways: Array<[string, (id: string) => number]> = [
      ['graph (kuzu recursive)', (id) => graph.reach(id, 'dependents', 10_000).length],
      ['SQLite (BFS, one indexed query per task)', (id) => sources[0]!.reach(id, 'dependents', 10_000).length],
      [
        'in-memory index, WARM (cached per read-model position: no write since it was built)',
        (id) => index.walk(index.index.get(id)!, 'dependents', 10_000).length,
      ],
    ];
    let reached = 0;
    for (const [name, fn] of ways) {
      fn(picks[0]!);
      let i = 0;
      const samples = time(() => (reached = Math.max(reached, fn(picks[i++ % picks.length]!))), picks.length);
      const p50 = percentile(samples, 50);
      const key = name.split(' ')[0]!.replace(/[^a-z]/gi, '');
      rows.push(
        name.startsWith('in-memory')
          ? below(`transitive dependents: ${name} p50`, round(p50, 3), 20, 'ms')
          : info(`transitive dependents: ${name} p50`, round(p50, 3), 'ms'),
      );
      rows.push(info('  p99', round(percentile(samples, 99), 3), 'ms'));
      figures[`dependents${key}P50Ms`] = round(p50, 4);
    }
    rows.push(info('  largest answer (tasks)', reached));
    rows.push(
      info(`  cold: building that index for ${big.toLocaleString('en-US')} tasks (paid by the first query after a write)`, round(indexMs, 1), 'ms'),
    );
    figures.dependentsIndexBuildMs = round(indexMs, 1);

    // ── Graph rebuild from the log ──
    const logSnapshot = makeGraph(opts.quick ? 10_000 : 50_000, 1_000_000, 3, 11);
    const events = await buildLog(store, logSnapshot);
    const rebuildGraphStore = KuzuGraphStore.open(path.join(dir, 'rebuild.kuzu'));
    try {
      const runs: number[] = [];
      for (let r = 0; r < opts.reps; r++) {
        gc();
        const result = await rebuildGraph(store, rebuildGraphStore);
        if (result.events !== events) throw new Error(`rebuild applied ${result.events} of ${events} events`);
        runs.push(result.eventsPerSecond);
      }
      rows.push(atLeast(`graph rebuild (fold + COPY) of ${events.toLocaleString('en-US')} events`, round(median(runs), 0), 20_000, 'events/s'));
      figures.rebuildEventsPerSec = round(median(runs), 0);
    } finally {
      rebuildGraphStore.close();
    }
    return {
      name: 'graph',
      setup: `Kuzu ${'0.11.3'} graph model and the SQLite read model loaded directly with the same random module-local DAG (no server, no HTTP: query functions in-process; warm = caches built before timing, cold = rebuilt per query as after a write); median of ${opts.reps}`,
      rows,
      figures,
    };
  } finally {
    graph.close();
    db.close();
    await store.close();
    remove();
  }
};
