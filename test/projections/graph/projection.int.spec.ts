import path from 'node:path';
import kuzu from 'kuzu';
import { pino } from 'pino';
import { expect } from 'chai';
import type Database from 'better-sqlite3';
import type { StoredEvent } from '../../../src/events/types.js';
import { findCycle } from '../../../src/projections/graph/cycleDetection.js';
import type { GraphStore } from '../../../src/projections/graph/graphStore.js';
import { startGraphModel } from '../../../src/projections/graph/index.js';
import { KuzuGraphStore } from '../../../src/projections/graph/kuzu.js';
import { applyGraphEvent, GRAPH_PROJECTION_VERSION, GraphProjection, rebuildGraph } from '../../../src/projections/graph/projection.js';
import { compareGraphs } from '../../../src/projections/graph/verify.js';
import { SqliteProjection } from '../../../src/projections/sqlite/projection.js';
import { openReadModel } from '../../../src/projections/sqlite/readModel.js';
import { getDependencies } from '../../../src/queries/taskGraph.js';
import { mulberry32 } from '../../support/random.js';
import { idsOf, meta, openFixture, randomDag, type Fixture } from './support.js';

const readLog = async (fixture: Fixture): Promise<StoredEvent[]> => fixture.store.readAll({ fromPosition: 0, maxCount: 1_000_000 });

describe('Graph projection', () => {
  let fixture: Fixture;
  const opened: GraphStore[] = [];
  const open = (name: string) => {
    const graph = KuzuGraphStore.open(path.join(fixture.dir, name));
    opened.push(graph);
    return graph;
  };

  beforeEach(() => {
    fixture = openFixture();
  });
  afterEach(async () => {
    for (const graph of opened.splice(0)) graph.close();
    await fixture.close();
  });

  /** A log with every kind of change: a tree, dependencies, status changes, an update, a move and a delete. */
  const buildLog = async () => {
    const c = fixture.commands;
    const [root, a, b, c1] = idsOf(
      await c.createTaskTree(
        {
          root: {
            title: 'root',
            children: [
              { title: 'a', estimate: 2 },
              { title: 'b', children: [{ title: 'c1' }] },
            ],
          },
        },
        meta(),
      ),
    );
    const [d] = idsOf(await c.createTask({ title: 'd', estimate: 3, priority: 'high' } as never, meta()));
    await c.addDependency(b!, a!, 'hard', meta());
    await c.addDependency(d!, b!, 'soft', meta());
    await c.addDependency(c1!, a!, 'hard', meta());
    await c.changeTaskStatus(a!, 'in_progress', undefined, meta());
    await c.changeTaskStatus(a!, 'completed', undefined, meta());
    await c.updateTask(d!, { estimate: 5, priority: 'critical' }, meta());
    await c.moveTask(c1!, root!, meta());
    await c.moveTask(d!, c1!, meta());
    await c.deleteTask(b!, true, meta());
    return { root: root!, a: a!, b: b!, c1: c1!, d: d! };
  };

  describe('when the log is replayed twice', () => {
    it('gives the same graph as one replay, and as a bulk rebuild', async () => {
      const ids = await buildLog();
      const events = await readLog(fixture);
      const once = new GraphProjection(open('once.kuzu'));
      once.applyBatch(events);
      const twice = new GraphProjection(open('twice.kuzu'));
      for (let i = 0; i < events.length; i += 3) twice.applyBatch(events.slice(i, i + 3));
      // Redelivery: the whole log again (skipped by the checkpoint), then every event re-applied without it.
      twice.applyBatch(events);
      twice.graph.transaction(() => events.forEach((e) => applyGraphEvent(twice.graph, e)));
      const bulk = open('bulk.kuzu');
      const rebuilt = await rebuildGraph(fixture.store, bulk);

      const dump = once.graph.dump();
      expect(twice.graph.dump()).to.deep.equal(dump);
      expect(bulk.dump()).to.deep.equal(dump);
      expect(rebuilt.events).to.equal(events.length);
      expect(once.checkpoint()).to.equal(events.at(-1)!.position);

      expect(dump.tasks.map((t) => t.id)).to.deep.equal([ids.root, ids.a, ids.c1, ids.d].sort());
      const d = dump.tasks.find((t) => t.id === ids.d)!;
      expect(d).to.include({ estimate: 5, priority: 'critical', depth: 2, status: 'pending' });
      expect(dump.tasks.find((t) => t.id === ids.a)!.status).to.equal('completed');
      expect(dump.edges).to.deep.equal([{ taskId: ids.c1, dependsOn: ids.a, kind: 'hard' }]);
      expect(dump.children).to.deep.include({ taskId: ids.d, parentId: ids.c1 });
    });

    it('applies each event once even when a batch is delivered again', async () => {
      await buildLog();
      const events = await readLog(fixture);
      const projection = new GraphProjection(open('again.kuzu'));
      projection.applyBatch(events);
      const before = projection.graph.dump();
      projection.applyBatch(events.slice(-5));
      expect(projection.graph.dump()).to.deep.equal(before);
    });
  });

  describe('the properties graph questions need (title, files, claimedBy, typed links)', () => {
    /** Claims, a release, a completion, a status change out of in_progress, file changes and links. */
    const buildClaims = async () => {
      const c = fixture.commands;
      const [auth, api, ui, docs] = idsOf(
        await c.createTaskTree(
          {
            root: {
              title: 'Auth, "login"\nand sessions',
              files: ['src/auth/login.ts'],
              children: [{ title: 'API' }, { title: 'UI', files: ['web/ui.tsx', 'it\'s [odd], "quoted".css'] }, { title: 'Docs' }],
            },
          },
          meta(),
        ),
      );
      await c.addDependency(api!, auth!, 'hard', meta());
      await c.linkTasks(ui!, 'discovered_from', api!, meta());
      await c.linkTasks(ui!, 'related', api!, meta());
      await c.linkTasks(docs!, 'duplicates', ui!, meta());
      await c.linkTasks(docs!, 'related', auth!, meta());
      await c.unlinkTasks(ui!, 'related', api!, meta());
      await c.updateTask(api!, { title: 'Public API', files: ['src/api/routes.ts', 'src/auth/tokens.ts'] }, meta());
      await c.updateTask(ui!, { files: [] }, meta());
      await c.claimTask(auth!, 'ada', 600, undefined, meta());
      await c.claimTask(docs!, 'bob', 600, undefined, meta());
      await c.releaseTask(docs!, 'bob', 'later', meta());
      await c.claimTask(ui!, 'cy', 600, undefined, meta());
      await c.completeTask(ui!, 'cy', { output: 'done', artifacts: [], changedFiles: [] }, null, meta());
      await c.claimTask(docs!, 'dee', 600, undefined, meta());
      await c.changeTaskStatus(docs!, 'blocked', undefined, meta());
      return { auth: auth!, api: api!, ui: ui!, docs: docs! };
    };

    it('follow claims, releases, completions, status changes, file updates and links, event by event, in one batch and in bulk', async () => {
      const ids = await buildClaims();
      const events = await readLog(fixture);
      const live = new GraphProjection(open('claims.kuzu'));
      for (const event of events) live.applyBatch([event]);
      const bulk = open('claims-bulk.kuzu');
      const rebuilt = await rebuildGraph(fixture.store, bulk);
      // One batch: each task's moves (two claims of docs, its release, the status change) go in as one row each.
      const batched = new GraphProjection(open('claims-batch.kuzu'));
      batched.applyBatch(events);
      const dump = live.graph.dump();
      expect(bulk.dump()).to.deep.equal(dump);
      expect(batched.graph.dump()).to.deep.equal(dump);
      expect(rebuilt.links).to.equal(3);
      const task = (id: string) => dump.tasks.find((t) => t.id === id)!;
      expect(task(ids.auth)).to.deep.include({
        title: 'Auth, "login"\nand sessions',
        files: ['src/auth/login.ts'],
        claimedBy: 'ada',
        status: 'in_progress',
      });
      expect(task(ids.api)).to.deep.include({ title: 'Public API', files: ['src/api/routes.ts', 'src/auth/tokens.ts'], claimedBy: null });
      expect(task(ids.ui)).to.deep.include({ title: 'UI', files: [], claimedBy: null, status: 'completed' });
      expect(task(ids.docs)).to.deep.include({ claimedBy: null, status: 'blocked' });
      expect(dump.links).to.deep.equal(
        [
          { taskId: ids.docs, kind: 'duplicates', target: ids.ui },
          { taskId: ids.docs, kind: 'related', target: ids.auth },
          { taskId: ids.ui, kind: 'discovered_from', target: ids.api },
        ].sort((a, b) => (a.taskId + a.target < b.taskId + b.target ? -1 : 1)),
      );
      // Links are no dependencies: the cycle check and the critical path see only DEPENDS_ON.
      expect(live.graph.allEdges()).to.deep.equal([{ taskId: ids.api, dependsOn: ids.auth, kind: 'hard' }]);
    });

    it('are compared by verify: equal after a rebuild, a differing claim or file list and a lost link reported', async () => {
      const ids = await buildClaims();
      const live = open('verify-live.kuzu');
      new GraphProjection(live).applyBatch(await readLog(fixture));
      const bulk = open('verify-bulk.kuzu');
      await rebuildGraph(fixture.store, bulk);
      const expected = bulk.dump();
      const same = compareGraphs(live.dump(), expected);
      for (const part of [same.nodes, same.edges, same.children, same.links]) expect(part).to.include({ missing: 0, extra: 0, differing: 0 });
      const changed = live.dump();
      changed.tasks = changed.tasks.map((t) => (t.id === ids.auth ? { ...t, claimedBy: 'mallory', files: [...t.files, 'x'] } : t));
      changed.links = changed.links.filter((l) => l.kind !== 'duplicates');
      const diff = compareGraphs(changed, expected);
      expect(diff.nodes.examples).to.deep.equal([
        {
          kind: 'differing',
          id: ids.auth,
          fields: [
            { field: 'files', live: ['src/auth/login.ts', 'x'], expected: ['src/auth/login.ts'] },
            { field: 'claimedBy', live: 'mallory', expected: 'ada' },
          ],
        },
      ]);
      expect(diff.links.examples).to.deep.equal([{ kind: 'missing', taskId: ids.docs, linkKind: 'duplicates', target: ids.ui }]);
    });

    it('answer the src/auth/** question in one Cypher query', async () => {
      const ids = await buildClaims();
      const graph = open('auth.kuzu');
      new GraphProjection(graph).applyBatch(await readLog(fixture));
      const c = fixture.commands;
      const [waiter] = idsOf(await c.createTask({ title: 'waits on the API' } as never, meta()));
      await c.addDependency(waiter!, ids.api, 'hard', meta());
      new GraphProjection(graph).applyBatch(await readLog(fixture));
      const answer = graph.query(
        // A parameter inside any(…) trips an assertion in kuzu 0.11.3: it is bound to a name first.
        `WITH $prefix AS prefix MATCH (t:Task)-[:DEPENDS_ON*1..100]->(d:Task)
         WHERE NOT t.status IN ['completed', 'cancelled'] AND any(f IN d.files WHERE f STARTS WITH prefix)
         RETURN DISTINCT t.id AS id ORDER BY id`,
        { prefix: 'src/auth/' },
        { maxRows: 100, timeoutMs: 3000 },
      );
      // api waits on auth (src/auth/login.ts); the new task waits on api (src/auth/tokens.ts) and, through it, on auth.
      expect(answer.rows.map((r) => r.id)).to.deep.equal([ids.api, waiter!].sort());
    });
  });

  describe('when a projector version changes', () => {
    it('reports -1 so the projector rebuilds, and reset clears everything', async () => {
      await buildLog();
      const graph = open('version.kuzu');
      graph.setCheckpoint({ position: 3, version: GRAPH_PROJECTION_VERSION - 1 });
      const projection = new GraphProjection(graph);
      expect(projection.checkpoint()).to.equal(-1);
      projection.applyBatch(await readLog(fixture));
      projection.reset();
      expect(graph.dump()).to.deep.equal({ tasks: [], edges: [], children: [], links: [] });
      expect(projection.checkpoint()).to.equal(0);
    });

    it('rebuilds a version 1 graph (no title, files, claimedBy or LINKED) from the log at start', async () => {
      const ids = await buildLog();
      const file = path.join(fixture.dir, 'v1.kuzu');
      const head = await fixture.store.headPosition();
      // The version 1 schema, with a checkpoint at the head: only the version says it is stale.
      const db = new kuzu.Database(file);
      const conn = new kuzu.Connection(db);
      for (const ddl of [
        'CREATE NODE TABLE Task(id STRING PRIMARY KEY, project STRING, status STRING, priority STRING, estimate DOUBLE, role STRING, depth INT64, createdSeq INT64)',
        'CREATE REL TABLE DEPENDS_ON(FROM Task TO Task, kind STRING)',
        'CREATE REL TABLE CHILD_OF(FROM Task TO Task)',
        'CREATE NODE TABLE Checkpoint(name STRING PRIMARY KEY, position INT64, version INT64)',
        `CREATE (:Checkpoint {name: 'graph', position: ${head}, version: 1})`,
      ]) {
        const result = await conn.query(ddl);
        for (const r of Array.isArray(result) ? result : [result]) r.close();
      }
      await conn.close();
      await db.close();
      const model = await startGraphModel({ store: fixture.store, file, logger: pino({ level: 'silent' }), now: () => new Date().toISOString() });
      try {
        expect(model.graph.checkpoint()).to.deep.equal({ position: head, version: GRAPH_PROJECTION_VERSION });
        expect(model.graph.dump().tasks.find((t) => t.id === ids.d)).to.deep.include({ title: 'd', files: [], claimedBy: null });
      } finally {
        await model.stop();
      }
    });
  });

  describe('on a random DAG of 2,000 tasks', () => {
    let db: Database.Database;
    afterEach(() => db?.close());

    it('answers transitive dependents and dependencies like the SQLite model', async () => {
      const ids = await randomDag(fixture, 2000, 2, 20_240_601);
      const events = await readLog(fixture);
      db = openReadModel(path.join(fixture.dir, 'read.db'));
      new SqliteProjection(db).applyBatch(events);
      const graph = open('dag.kuzu');
      await rebuildGraph(fixture.store, graph);
      expect(findCycle(graph.allEdges())).to.equal(null);

      const random = mulberry32(99);
      for (let n = 0; n < 40; n++) {
        const id = ids[Math.floor(random() * ids.length)]!;
        for (const direction of ['dependents', 'dependencies'] as const) {
          const depth = n % 4 === 0 ? 3 : 100;
          const sqlite = getDependencies(db, id, { direction, maxDepth: depth, limit: 100_000 })
            .items.map((i) => `${i.id}@${i.distance}`)
            .sort();
          const kuzu = graph
            .reach(id, direction, depth)
            .map((r) => `${r.id}@${r.distance}`)
            .sort();
          expect(kuzu, `${direction} of ${id} (depth ${depth})`).to.deep.equal(sqlite);
        }
      }
    });
  });
});

describe('cycle_detection', () => {
  it('finds no cycle in a DAG and reports one that slipped in', () => {
    const edge = (taskId: string, dependsOn: string) => ({ taskId, dependsOn, kind: 'hard' as const });
    expect(findCycle([edge('b', 'a'), edge('c', 'b'), edge('c', 'a')])).to.equal(null);
    const cycle = findCycle([edge('x', 'a'), edge('a', 'b'), edge('b', 'c'), edge('c', 'a')])!;
    expect(cycle[0]).to.equal(cycle.at(-1));
    expect(new Set(cycle)).to.deep.equal(new Set(['a', 'b', 'c']));
  });
});
