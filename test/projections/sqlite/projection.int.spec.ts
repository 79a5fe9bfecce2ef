import type Database from 'better-sqlite3';
import { expect } from 'chai';
import { CommandHandler, type CommandResult } from '../../../src/commands/handler.js';
import { projectCommands, type ProjectCommands, type RequestMeta } from '../../../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { ProjectState } from '../../../src/commands/project/project.js';
import { DomainError } from '../../../src/errors.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import type { StoredEvent } from '../../../src/events/types.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite.js';
import { createLogger } from '../../../src/logger.js';
import { Projector } from '../../../src/projections/projector.js';
import { SqliteProjection } from '../../../src/projections/sqlite/projection.js';
import { dumpReadModel, openReadModel } from '../../../src/projections/sqlite/readModel.js';
import { SQLITE_PROJECTION_VERSION } from '../../../src/projections/sqlite/schema.js';
import { getDashboard, getProject, getTaskHistory } from '../../../src/queries/projects.js';
import { getDependencies, getTaskTree } from '../../../src/queries/taskGraph.js';
import { getTask, listTasks, OPEN_CHILDREN, projectOfTask, READY_SQL } from '../../../src/queries/tasks.js';
import { mulberry32 } from '../../support/random.js';

// ─── Harness ─────────────────────────────────────────────────────────────────────────────────────

const clock = (start = '2026-03-01T09:00:00.000Z') => {
  let at = Date.parse(start);
  return () => new Date((at += 1000)).toISOString();
};

type World = {
  store: SqliteEventStore;
  /** The model the commands were projected into as they ran, one batch per command. */
  live: Database.Database;
  commands: ProjectCommands;
  /** Runs one command and projects its events before returning. */
  run: (act: (commands: ProjectCommands, meta: RequestMeta) => Promise<CommandResult>, who?: Partial<RequestMeta>) => Promise<CommandResult>;
  events: () => StoredEvent[];
  close: () => Promise<void>;
};

/** The real decider, handler and store on ':memory:', with deterministic ids and clocks. */
const startWorld = (): World => {
  const store = new SqliteEventStore({ path: ':memory:', pollIntervalMs: 0, now: clock() });
  const live = openReadModel(':memory:');
  const projection = new SqliteProjection(live);
  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
  let ids = 0;
  const commands = projectCommands({
    handler,
    locateTask: async (taskId) => projectOfTask(live, taskId),
    newId: () => `task-${String(++ids).padStart(4, '0')}`,
    now: clock(),
  });
  let position = 0;
  let commandIds = 0;
  const events = () => store.readAllSync({ fromPosition: 0, maxCount: Number.MAX_SAFE_INTEGER });
  return {
    store,
    live,
    commands,
    events,
    run: async (act, who = {}) => {
      const result = await act(commands, { actor: 'agent-7', tool: 'rest', commandId: `cmd-${++commandIds}`, ...who });
      const batch = store.readAllSync({ fromPosition: position, maxCount: Number.MAX_SAFE_INTEGER });
      projection.applyBatch(batch);
      position = batch.at(-1)?.position ?? position;
      return result;
    },
    close: async () => {
      live.close();
      await store.close();
    },
  };
};

const createdIds = (result: CommandResult): string[] =>
  result.events.filter((e) => e.type === 'TaskCreated').map((e) => (e.data as { taskId: string }).taskId);

/** A fresh model fed the given batches of events. */
const projectInBatches = (batches: readonly (readonly StoredEvent[])[]) => {
  const db = openReadModel(':memory:');
  const projection = new SqliteProjection(db);
  for (const batch of batches) projection.applyBatch(batch);
  const dump = dumpReadModel(db);
  const checkpoint = projection.checkpoint();
  db.close();
  return { dump, checkpoint };
};

const randomBatches = (events: readonly StoredEvent[], seed: number): StoredEvent[][] => {
  const random = mulberry32(seed);
  const batches: StoredEvent[][] = [];
  for (let i = 0; i < events.length;) {
    const size = 1 + Math.floor(random() * 7);
    batches.push(events.slice(i, i + size));
    i += size;
  }
  return batches;
};

/** The replay law every scenario must obey: batching never changes a row. */
const itGivesTheSameRowsHoweverBatched = (world: () => World) =>
  it('gives the same rows in one batch, one by one and in random batches, replayed twice', () => {
    const events = world().events();
    const head = events.at(-1)!.position;
    const oneBatch = projectInBatches([events]);
    expect(oneBatch.checkpoint).to.equal(head);
    expect(projectInBatches([events]).dump, 'replayed a second time').to.deep.equal(oneBatch.dump);
    expect(projectInBatches(events.map((e) => [e])), 'one by one').to.deep.equal(oneBatch);
    for (const seed of [1, 2, 3]) expect(projectInBatches(randomBatches(events, seed)), `random batches, seed ${seed}`).to.deep.equal(oneBatch);
    expect(dumpReadModel(world().live), 'the live model, one batch per command').to.deep.equal(oneBatch.dump);
  });

const expectNotFound = (act: () => unknown, code = 'TASK_NOT_FOUND') => {
  expect(act).to.throw(DomainError).with.property('code', code);
};

// ─── Specifications ──────────────────────────────────────────────────────────────────────────────

describe('SQLite projection', () => {
  let world: World;
  afterEach(async () => world?.close());

  describe('when a project is created', () => {
    beforeEach(async () => {
      world = startWorld();
      await world.run((c, m) => c.createProject({ projectId: 'alpha', name: 'Alpha', description: 'The first one' }, m));
    });

    it('shows the project with its name and no tasks', () => {
      expect(getProject(world.live, 'alpha')).to.include({ id: 'alpha', name: 'Alpha', description: 'The first one', taskCount: 0 });
      expect(getDashboard(world.live, 'alpha')).to.include({ total: 0, ready: 0, dependencies: 0 });
    });

    itGivesTheSameRowsHoweverBatched(() => world);
  });

  describe('when a task is created', () => {
    let taskId: string;
    beforeEach(async () => {
      world = startWorld();
      await world.run((c, m) => c.createProject({ projectId: 'alpha', name: 'Alpha' }, m));
      const result = await world.run(
        (c, m) =>
          c.createTask(
            { projectId: 'alpha', title: 'Write the parser', description: 'Tokens first', priority: 'high', tags: ['parser', 'core'], estimate: 3 },
            m,
          ),
        { actor: 'planner', role: 'architect', tool: 'mcp:create_task' },
      );
      taskId = createdIds(result)[0]!;
    });

    it('shows every field, ready since nothing blocks it', () => {
      expect(getTask(world.live, taskId)).to.deep.include({
        id: taskId,
        projectId: 'alpha',
        parentId: null,
        title: 'Write the parser',
        description: 'Tokens first',
        status: 'pending',
        priority: 'high',
        tags: ['parser', 'core'],
        estimate: 3,
        depth: 0,
        ready: true,
        openDependencies: 0,
        version: 1,
      });
      expect(getProject(world.live, 'alpha').taskCount).to.equal(1);
    });

    it('finds it by its title and by its tag', () => {
      expect(listTasks(world.live, { q: 'parser' }).items.map((t) => t.id)).to.deep.equal([taskId]);
      expect(listTasks(world.live, { tag: 'core' }).items.map((t) => t.id)).to.deep.equal([taskId]);
    });

    it('records who created it, in which role, through which tool, with its initial fields', () => {
      const [entry] = getTaskHistory(world.live, taskId).items;
      expect(entry).to.deep.include({ type: 'TaskCreated', actor: 'planner', role: 'architect', tool: 'mcp:create_task', revision: 1 });
      expect(entry!.changes).to.deep.include({
        title: 'Write the parser',
        priority: 'high',
        parentId: null,
        status: 'pending',
        tags: ['parser', 'core'],
      });
    });

    itGivesTheSameRowsHoweverBatched(() => world);
  });

  describe('when a task title and tags are updated', () => {
    let taskId: string;
    beforeEach(async () => {
      world = startWorld();
      taskId = createdIds(await world.run((c, m) => c.createTask({ title: 'Draft the lexer', tags: ['draft'] }, m)))[0]!;
      await world.run((c, m) => c.createTask({ title: 'Unrelated chore' }, m));
      await world.run((c, m) => c.updateTask(taskId, { title: 'Polish the tokenizer', tags: ['review', 'lexing'], priority: 'critical' }, m), {
        actor: 'reviewer',
        tool: 'mcp:update_task',
      });
    });

    it('finds the task by its new title and no longer by the old one', () => {
      expect(listTasks(world.live, { q: 'tokenizer' }).items.map((t) => t.id)).to.deep.equal([taskId]);
      expect(listTasks(world.live, { q: 'polish tok' }).items.map((t) => t.id)).to.deep.equal([taskId]);
      expect(listTasks(world.live, { q: 'lexer' }).items).to.deep.equal([]);
    });

    it('indexes the new tags and forgets the old ones', () => {
      expect(listTasks(world.live, { tag: 'lexing' }).items.map((t) => t.id)).to.deep.equal([taskId]);
      expect(listTasks(world.live, { tag: 'draft' }).items).to.deep.equal([]);
      expect(listTasks(world.live, { q: 'review' }).items.map((t) => t.id)).to.deep.equal([taskId]);
    });

    it('stores the new values and the new version', () => {
      expect(getTask(world.live, taskId)).to.deep.include({
        title: 'Polish the tokenizer',
        tags: ['review', 'lexing'],
        priority: 'critical',
        version: 3,
      });
      expect(listTasks(world.live, { sort: 'priority' }).items[0]!.id).to.equal(taskId);
    });

    it('records exactly the changed fields, with actor and tool', () => {
      const updated = getTaskHistory(world.live, taskId).items.find((e) => e.type === 'TaskUpdated')!;
      expect(updated).to.deep.include({ actor: 'reviewer', tool: 'mcp:update_task', role: null });
      expect(updated.changes).to.deep.equal({ title: 'Polish the tokenizer', tags: ['review', 'lexing'], priority: 'critical' });
    });

    itGivesTheSameRowsHoweverBatched(() => world);
  });

  describe('when a task with a subtree is moved', () => {
    let ids: Record<'epic' | 'story' | 'step' | 'detail' | 'other', string>;
    beforeEach(async () => {
      world = startWorld();
      const tree = await world.run((c, m) =>
        c.createTaskTree(
          { root: { title: 'Epic', children: [{ title: 'Story', children: [{ title: 'Step', children: [{ title: 'Detail' }] }] }] } },
          m,
        ),
      );
      const [epic, story, step, detail] = createdIds(tree);
      const [other] = createdIds(await world.run((c, m) => c.createTask({ title: 'Other root' }, m)));
      ids = { epic: epic!, story: story!, step: step!, detail: detail!, other: other! };
    });

    describe('under another parent', () => {
      beforeEach(async () => {
        await world.run((c, m) => c.moveTask(ids.step, ids.other, m), { tool: 'mcp:move_task' });
      });

      it('updates the depth of every task in the subtree', () => {
        expect(getTask(world.live, ids.step)).to.include({ parentId: ids.other, depth: 1 });
        expect(getTask(world.live, ids.detail)).to.include({ parentId: ids.step, depth: 2 });
      });

      it('shows the whole subtree under its new parent and none of it under the old one', () => {
        const tree = getTaskTree(world.live, { taskId: ids.other, maxDepth: 5 });
        expect(tree.nodes).to.equal(3);
        expect(tree.roots[0]!.children.map((n) => n.id)).to.deep.equal([ids.step]);
        expect(tree.roots[0]!.children[0]!.children.map((n) => n.id)).to.deep.equal([ids.detail]);
        const old = getTaskTree(world.live, { taskId: ids.epic, maxDepth: 5 });
        expect(old.nodes).to.equal(2);
        expect(old.roots[0]!.children[0]!.children).to.deep.equal([]);
      });

      it('records where it moved from and to', () => {
        const moved = getTaskHistory(world.live, ids.step).items.find((e) => e.type === 'TaskMoved')!;
        expect(moved).to.deep.include({ tool: 'mcp:move_task' });
        expect(moved.changes).to.deep.equal({ parentId: { from: ids.story, to: ids.other } });
      });

      itGivesTheSameRowsHoweverBatched(() => world);
    });

    describe('to the top level', () => {
      beforeEach(async () => {
        await world.run((c, m) => c.moveTask(ids.story, null, m));
      });

      it('makes it a root and lifts its descendants', () => {
        expect(getTask(world.live, ids.story)).to.include({ parentId: null, depth: 0 });
        expect(getTask(world.live, ids.step)).to.include({ depth: 1 });
        expect(getTask(world.live, ids.detail)).to.include({ depth: 2 });
        const roots = getTaskTree(world.live, { projectId: 'default', maxDepth: 0 }).roots.map((n) => n.id);
        expect(roots).to.have.members([ids.epic, ids.story, ids.other]);
        expect(getTaskTree(world.live, { taskId: ids.story, maxDepth: 5 }).nodes).to.equal(3);
      });

      itGivesTheSameRowsHoweverBatched(() => world);
    });
  });

  describe('when most children of a parent are finished', () => {
    let rootId: string;
    let children: string[];
    beforeEach(async () => {
      world = startWorld();
      await world.run((c, m) => c.createProject({ projectId: 'alpha', name: 'Alpha' }, m));
      const tree = await world.run((c, m) =>
        c.createTaskTree(
          { projectId: 'alpha', root: { title: 'Release', children: Array.from({ length: 30 }, (_, i) => ({ title: `Step ${i}` })) } },
          m,
        ),
      );
      const ids = createdIds(tree);
      rootId = ids[0]!;
      children = ids.slice(1);
      for (const id of children.slice(0, 28)) await world.run((c, m) => c.changeTaskStatus(id, 'cancelled', 'not needed', m));
    });

    it('waits for the open ones, then shows the parent ready', async () => {
      expect(getTask(world.live, rootId)).to.include({ ready: false });
      expect(listTasks(world.live, { projectId: 'alpha', ready: true }).items.map((t) => t.id)).to.have.members(children.slice(28));
      for (const id of children.slice(28)) await world.run((c, m) => c.changeTaskStatus(id, 'cancelled', 'not needed', m));
      expect(getTask(world.live, rootId)).to.include({ ready: true });
    });

    it('finds the open children by seeking the (parent_id, status) index, not by reading every finished one', () => {
      const plan = (sql: string) => (world.live.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(rootId) as { detail: string }[]).map((r) => r.detail);
      expect(plan(`SELECT ${OPEN_CHILDREN} FROM tasks WHERE id = ?`).join('\n')).to.match(
        /COVERING INDEX tasks_parent_status \(parent_id=\? AND status=\?\)/,
      );
      expect(plan(`SELECT id FROM tasks WHERE ${READY_SQL} AND id = ?`).join('\n')).to.match(
        /COVERING INDEX tasks_parent_status \(parent_id=\? AND status=\?\)/,
      );
    });

    itGivesTheSameRowsHoweverBatched(() => world);
  });

  describe('when a hard dependency changes status', () => {
    let ids: Record<'blocker' | 'waiting' | 'soft', string>;
    beforeEach(async () => {
      world = startWorld();
      const [blocker, waiting, soft] = [
        createdIds(await world.run((c, m) => c.createTask({ title: 'Blocker' }, m)))[0]!,
        createdIds(await world.run((c, m) => c.createTask({ title: 'Waiting' }, m)))[0]!,
        createdIds(await world.run((c, m) => c.createTask({ title: 'Softly linked' }, m)))[0]!,
      ];
      ids = { blocker, waiting, soft };
      await world.run((c, m) => c.addDependency(waiting, blocker, 'hard', m));
      await world.run((c, m) => c.addDependency(soft, blocker, 'soft', m));
    });

    it('keeps the dependent waiting while the dependency is open', () => {
      expect(getTask(world.live, ids.waiting)).to.include({ ready: false, openDependencies: 1 });
      expect(getTask(world.live, ids.soft)).to.include({ ready: true, openDependencies: 0 });
      expect(getDashboard(world.live)).to.include({ ready: 2, dependencyBlocked: 1, dependencies: 2 });
    });

    describe('and the dependency is completed', () => {
      beforeEach(async () => {
        await world.run((c, m) => c.changeTaskStatus(ids.blocker, 'completed', 'shipped', m), { actor: 'agent-3', tool: 'mcp:complete_task' });
      });

      it('recomputes the dependents: the waiting task becomes ready', () => {
        expect(getTask(world.live, ids.waiting)).to.include({ ready: true, openDependencies: 0 });
        expect(getDashboard(world.live)).to.include({ ready: 2, dependencyBlocked: 0 });
        expect(getDashboard(world.live).byStatus.completed).to.equal(1);
        expect(listTasks(world.live, { ready: true }).items.map((t) => t.id)).to.have.members([ids.waiting, ids.soft]);
      });

      it('records the transition and its reason', () => {
        const changed = getTaskHistory(world.live, ids.blocker).items.find((e) => e.type === 'TaskStatusChanged')!;
        expect(changed).to.deep.include({ actor: 'agent-3', tool: 'mcp:complete_task' });
        expect(changed.changes).to.deep.equal({ status: { from: 'pending', to: 'completed' }, reason: 'shipped' });
      });

      itGivesTheSameRowsHoweverBatched(() => world);

      describe('and reopened', () => {
        beforeEach(async () => {
          await world.run((c, m) => c.changeTaskStatus(ids.blocker, 'in_progress', undefined, m));
        });

        it('makes the dependent wait again', () => {
          expect(getTask(world.live, ids.waiting)).to.include({ ready: false, openDependencies: 1 });
          expect(getDashboard(world.live)).to.include({ dependencyBlocked: 1 });
        });

        itGivesTheSameRowsHoweverBatched(() => world);
      });
    });
  });

  describe('when dependencies are added and removed', () => {
    let ids: Record<'a' | 'b' | 'c', string>;
    beforeEach(async () => {
      world = startWorld();
      const [a, b, c] = createdIds(
        await world.run((cmd, m) => cmd.createTaskTree({ root: { title: 'A', children: [{ title: 'B' }, { title: 'C' }] } }, m)),
      );
      ids = { a: a!, b: b!, c: c! };
      await world.run((cmd, m) => cmd.addDependency(ids.a, ids.b, 'hard', m), { tool: 'mcp:add_dependency' });
      await world.run((cmd, m) => cmd.addDependency(ids.b, ids.c, 'hard', m));
      await world.run((cmd, m) => cmd.addDependency(ids.a, ids.c, 'soft', m));
    });

    it('lists direct and transitive dependencies and dependents', () => {
      const direct = getDependencies(world.live, ids.a).items;
      expect(direct.map((d) => [d.id, d.kind, d.distance])).to.have.deep.members([
        [ids.b, 'hard', 1],
        [ids.c, 'soft', 1],
      ]);
      expect(getDependencies(world.live, ids.c, { direction: 'dependents', maxDepth: 3 }).items.map((d) => d.id)).to.have.members([ids.a, ids.b]);
      expect(getTask(world.live, ids.a)).to.include({ openDependencies: 1, ready: false, version: 6 });
    });

    it('records the edge in the history of the dependent task', () => {
      const added = getTaskHistory(world.live, ids.a).items.find((e) => e.type === 'DependencyAdded')!;
      expect(added).to.deep.include({ tool: 'mcp:add_dependency', changes: { dependsOn: ids.b, kind: 'hard' } });
    });

    describe('and one is made soft and another removed', () => {
      beforeEach(async () => {
        await world.run((cmd, m) => cmd.addDependency(ids.a, ids.b, 'soft', m));
        await world.run((cmd, m) => cmd.removeDependency(ids.b, ids.c, m));
      });

      it('replaces the kind, drops the edge and recomputes readiness', () => {
        expect(getDependencies(world.live, ids.a).items.map((d) => [d.id, d.kind])).to.have.deep.members([
          [ids.b, 'soft'],
          [ids.c, 'soft'],
        ]);
        expect(getDependencies(world.live, ids.b).items).to.deep.equal([]);
        // No open dependency is left, but A is the parent of B and C, which are open: it is not ready before them.
        expect(getTask(world.live, ids.a)).to.include({ openDependencies: 0, ready: false });
        expect(getTask(world.live, ids.b)).to.include({ openDependencies: 0, ready: true });
        expect(getDashboard(world.live).dependencies).to.equal(2);
      });

      it('records the removal', () => {
        const removed = getTaskHistory(world.live, ids.b).items.find((e) => e.type === 'DependencyRemoved')!;
        expect(removed.changes).to.deep.equal({ dependsOn: ids.c });
      });

      itGivesTheSameRowsHoweverBatched(() => world);
    });
  });

  describe('when a task with subtasks and dependency edges is deleted', () => {
    let ids: Record<'root' | 'child' | 'outsider' | 'dependent', string>;
    beforeEach(async () => {
      world = startWorld();
      const [root, child] = createdIds(
        await world.run((c, m) => c.createTaskTree({ root: { title: 'Doomed root', children: [{ title: 'Doomed child' }] } }, m)),
      );
      const [outsider] = createdIds(await world.run((c, m) => c.createTask({ title: 'Outsider' }, m)));
      const [dependent] = createdIds(await world.run((c, m) => c.createTask({ title: 'Dependent' }, m)));
      ids = { root: root!, child: child!, outsider: outsider!, dependent: dependent! };
      await world.run((c, m) => c.addDependency(ids.child, ids.outsider, 'hard', m));
      await world.run((c, m) => c.addDependency(ids.dependent, ids.child, 'hard', m));
      await world.run((c, m) => c.deleteTask(ids.root, true, m), { tool: 'mcp:delete_task' });
    });

    it('removes the whole subtree from every query', () => {
      expectNotFound(() => getTask(world.live, ids.root));
      expectNotFound(() => getTask(world.live, ids.child));
      expect(listTasks(world.live, { q: 'doomed' }).items).to.deep.equal([]);
      expect(getTaskTree(world.live, { projectId: 'default' }).roots.map((n) => n.id)).to.have.members([ids.outsider, ids.dependent]);
      expect(getDashboard(world.live)).to.include({ total: 2, dependencies: 0 });
    });

    it('drops the edges on both sides and frees the dependent', () => {
      expect(getDependencies(world.live, ids.outsider, { direction: 'dependents' }).items).to.deep.equal([]);
      expect(getTask(world.live, ids.dependent)).to.include({ openDependencies: 0, ready: true });
    });

    it('keeps the history of the deleted task, ending with its deletion', () => {
      const history = getTaskHistory(world.live, ids.child).items;
      expect(history.map((e) => e.type)).to.deep.equal(['TaskCreated', 'DependencyAdded', 'DependencyRemoved', 'TaskDeleted']);
      expect(history.at(-1)).to.deep.include({ tool: 'mcp:delete_task', changes: {} });
    });

    itGivesTheSameRowsHoweverBatched(() => world);
  });

  describe('when every event type has happened', () => {
    beforeEach(async () => {
      world = startWorld();
      await world.run((c, m) => c.createProject({ projectId: 'alpha', name: 'Alpha' }, m));
      const [a, b, c] = createdIds(
        await world.run((cmd, m) => cmd.createTaskTree({ projectId: 'alpha', root: { title: 'A', children: [{ title: 'B' }, { title: 'C' }] } }, m)),
      );
      await world.run((cmd, m) => cmd.updateTask(b!, { title: 'B renamed', tags: ['x'] }, m));
      await world.run((cmd, m) => cmd.addDependency(a!, b!, 'hard', m));
      await world.run((cmd, m) => cmd.moveTask(c!, b!, m));
      // A parent is completed after its children: c goes first.
      await world.run((cmd, m) => cmd.deleteTask(c!, false, m));
      await world.run((cmd, m) => cmd.changeTaskStatus(b!, 'completed', undefined, m));
      await world.run((cmd, m) => cmd.removeDependency(a!, b!, m));
    });

    it('covers all eight event types', () => {
      expect(new Set(world.events().map((e) => e.type))).to.have.keys(
        'ProjectCreated',
        'TaskCreated',
        'TaskUpdated',
        'TaskMoved',
        'TaskStatusChanged',
        'TaskDeleted',
        'DependencyAdded',
        'DependencyRemoved',
      );
    });

    itGivesTheSameRowsHoweverBatched(() => world);
  });

  describe('when a batch fails midway', () => {
    let events: StoredEvent[];
    let taskId: string;
    beforeEach(async () => {
      world = startWorld();
      taskId = createdIds(await world.run((c, m) => c.createTask({ title: 'Survivor' }, m)))[0]!;
      events = world.events();
    });

    /** A valid update followed by a creation whose NULL title violates a NOT NULL column. */
    const poisonedBatch = (): StoredEvent[] => {
      const last = events.at(-1)!;
      const next = (offset: number, type: string, data: object): StoredEvent => ({
        ...last,
        id: `poison-${offset}`,
        type,
        data,
        revision: last.revision + offset,
        position: last.position + offset,
      });
      return [
        next(1, 'TaskUpdated', { taskId, projectId: 'default', changes: { title: 'Must not stick' }, updatedAt: last.recordedAt }),
        next(2, 'TaskCreated', {
          taskId: 'broken',
          projectId: 'default',
          parentId: null,
          title: null,
          description: '',
          priority: 'normal',
          tags: [],
          estimate: null,
          files: [],
          requiredCapabilities: [],
          metadata: {},
          status: 'pending',
          createdAt: last.recordedAt,
        }),
      ];
    };

    it('rolls back every row of the batch together with its checkpoint', () => {
      const projection = new SqliteProjection(world.live);
      const before = { dump: dumpReadModel(world.live), checkpoint: projection.checkpoint() };
      expect(() => projection.applyBatch(poisonedBatch())).to.throw(/NOT NULL/);
      expect({ dump: dumpReadModel(world.live), checkpoint: projection.checkpoint() }).to.deep.equal(before);
      expect(getTask(world.live, taskId).title).to.equal('Survivor');
      expect(before.checkpoint).to.equal(events.at(-1)!.position);
    });

    it('leaves a projector at its last good position, reporting the error', async () => {
      const good = events.at(-1)!.position;
      const db = openReadModel(':memory:');
      const projector = new Projector(world.store, new SqliteProjection(db), createLogger('silent'));
      try {
        await projector.start();
        expect(projector.currentPosition).to.equal(good);
        const before = dumpReadModel(db);
        await world.store.appendToStream(
          'project-default',
          poisonedBatch().map(({ id, type, data, metadata }) => ({ id, type, data, metadata })),
          'any',
        );
        const deadline = Date.now() + 5000;
        while (!projector.status().lastError && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(projector.status().lastError).to.match(/NOT NULL/);
        expect(projector.status()).to.include({ position: good, lag: 2, running: true });
        expect(dumpReadModel(db), 'the valid update of the failed batch is not applied either').to.deep.equal(before);
        expect(new SqliteProjection(db).checkpoint()).to.equal(good);
      } finally {
        projector.stop();
        db.close();
      }
    });
  });

  describe('when the stored model was built by another projector version', () => {
    beforeEach(async () => {
      world = startWorld();
      const [a, b] = createdIds(await world.run((c, m) => c.createTaskTree({ root: { title: 'Kept', children: [{ title: 'Kept child' }] } }, m)));
      await world.run((c, m) => c.addDependency(a!, b!, 'hard', m));
      world.live.prepare('UPDATE checkpoints SET version = ?').run(SQLITE_PROJECTION_VERSION + 1);
      world.live
        .prepare("INSERT INTO projects (id, name, description, created_at, updated_at, revision) VALUES ('ghost', 'Ghost', '', '', '', 0)")
        .run();
    });

    it('reports no usable checkpoint', () => {
      expect(new SqliteProjection(world.live).checkpoint()).to.equal(-1);
    });

    it('is reset and rebuilt from the log when the projector starts', async () => {
      const projector = new Projector(world.store, new SqliteProjection(world.live), createLogger('silent'));
      try {
        await projector.start();
        const events = world.events();
        expect(projector.status()).to.include({ position: events.at(-1)!.position, version: SQLITE_PROJECTION_VERSION, lag: 0 });
        expect(new SqliteProjection(world.live).checkpoint()).to.equal(events.at(-1)!.position);
        expect(dumpReadModel(world.live)).to.deep.equal(projectInBatches([events]).dump);
        expectNotFound(() => getProject(world.live, 'ghost'), 'PROJECT_NOT_FOUND');
      } finally {
        projector.stop();
      }
    });
  });
});
