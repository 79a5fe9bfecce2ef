import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { expect } from 'chai';
import { dataFiles } from '../../../src/wiring/dataFiles.js';
import { CommandHandler, type CommandResult } from '../../../src/commands/handler.js';
import { projectCommands, type ProjectCommands, type RequestMeta, type TreeInput } from '../../../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { ProjectState } from '../../../src/commands/project/project.js';
import { DomainError } from '../../../src/errors.js';
import { type ProjectEvent } from '../../../src/events/project.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite.js';
import { createLogger } from '../../../src/logger.js';
import { KuzuGraphStore } from '../../../src/projections/graph/kuzu.js';
import { sortSnapshot } from '../../../src/projections/graph/graphStore.js';
import { rebuildGraph } from '../../../src/projections/graph/projection.js';
import { Projector } from '../../../src/projections/projector.js';
import { SqliteProjection } from '../../../src/projections/sqlite/projection.js';
import { dumpReadModel, openReadModel } from '../../../src/projections/sqlite/readModel.js';
import { rebuildReadModel } from '../../../src/projections/sqlite/rebuild.js';
import { projectOfTask } from '../../../src/queries/tasks.js';
import { LINK_KINDS, PRIORITIES, TASK_STATUSES, type LinkKind } from '../../../src/events/vocabulary.js';
import { runCli } from '../../support/cli.js';
import { mulberry32 } from '../../support/random.js';

const COMMANDS = 600;
const SEED = 20260301;

const WORDS = ['parser', 'cache', 'index', 'login', 'billing', 'report', 'queue', 'schema', 'deploy', 'metrics', 'search', 'export'];
const STATUSES = [...TASK_STATUSES];

type Workload = { events: number; types: Set<string>; refused: number };

/** What the random commands may aim at; kept from the events that were actually appended. */
class Known {
  readonly tasks = new Map<string, string>();
  readonly deps = new Set<string>();
  readonly links = new Set<string>();

  record(result: CommandResult): void {
    for (const { type, data } of result.events) {
      const d = data as { taskId: string; projectId: string; dependsOn?: string };
      if (type === 'TaskCreated') this.tasks.set(d.taskId, d.projectId);
      if (type === 'TaskDeleted') this.tasks.delete(d.taskId);
      if (type === 'DependencyAdded') this.deps.add(`${d.taskId} ${d.dependsOn}`);
      if (type === 'DependencyRemoved') this.deps.delete(`${d.taskId} ${d.dependsOn}`);
      const link = data as { kind?: string; target?: string };
      if (type === 'TaskLinked') this.links.add(`${d.taskId} ${link.kind} ${link.target}`);
      if (type === 'TaskUnlinked') this.links.delete(`${d.taskId} ${link.kind} ${link.target}`);
    }
  }
}

/** One random command, drawn from the PRNG against what is known at the start of its round. */
const randomCommand = (random: () => number, known: Known): ((c: ProjectCommands, m: RequestMeta) => Promise<CommandResult>) => {
  const pick = <T>(items: readonly T[]): T | undefined => (items.length === 0 ? undefined : items[Math.floor(random() * items.length)]);
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)!).join(' ');
  const tasks = [...known.tasks.keys()];
  const task = () => pick(tasks);
  const project = pick(['default', 'alpha', 'beta'])!;
  const roll = random();
  if (roll < 0.2 || tasks.length < 5) {
    const parentId = random() < 0.5 ? task() : undefined;
    const tags = random() < 0.5 ? [pick(WORDS)!] : [];
    const discoveredFrom = random() < 0.2 ? { discoveredFrom: task()! } : {};
    return (c, m) =>
      c.createTask(
        parentId ? { parentId, title: words(3), tags, ...discoveredFrom } : { projectId: project, title: words(3), tags, ...discoveredFrom },
        m,
      );
  }
  if (roll < 0.28) {
    const node = (depth: number): TreeInput => ({
      title: words(2),
      children: depth < 2 ? Array.from({ length: Math.floor(random() * 3) }, () => node(depth + 1)) : [],
    });
    const root = node(0);
    return (c, m) => c.createTaskTree({ projectId: project, root }, m);
  }
  const id = task()!;
  /** Mostly a task of the same project: cross-project parents and edges are refused. */
  const near = () => (random() < 0.8 ? pick(tasks.filter((t) => known.tasks.get(t) === known.tasks.get(id))) : task())!;
  if (roll < 0.43) {
    const changes = random() < 0.5 ? { title: words(4) } : { tags: [pick(WORDS)!, pick(WORDS)!], priority: pick(PRIORITIES)! };
    return (c, m) => c.updateTask(id, changes, m);
  }
  if (roll < 0.53) {
    const parentId = random() < 0.25 ? null : near();
    return (c, m) => c.moveTask(id, parentId, m);
  }
  if (roll < 0.7) {
    const status = pick(STATUSES)!;
    return (c, m) => c.changeTaskStatus(id, status, random() < 0.3 ? words(2) : undefined, m);
  }
  if (roll < 0.84) {
    const dependsOn = near();
    const kind = random() < 0.75 ? 'hard' : 'soft';
    return (c, m) => c.addDependency(id, dependsOn, kind, m);
  }
  if (roll < 0.89) {
    const [taskId, dependsOn] = (pick([...known.deps]) ?? `${id} ${id}`).split(' ') as [string, string];
    return (c, m) => c.removeDependency(taskId, dependsOn, m);
  }
  if (roll < 0.92) {
    const target = near();
    const kind = pick(LINK_KINDS)!;
    return (c, m) => c.linkTasks(id, kind, target, m);
  }
  if (roll < 0.94) {
    const [taskId, kind, target] = (pick([...known.links]) ?? `${id} related ${id}`).split(' ') as [string, LinkKind, string];
    return (c, m) => c.unlinkTasks(taskId, kind, target, m);
  }
  if (roll < 0.96) {
    const note = words(3);
    return async (c, m) => {
      await c.claimTask(id, 'worker', 600, undefined, m);
      return c.heartbeat(id, 'worker', 600, { ...m, commandId: `${m.commandId}:heartbeat` }, undefined, note);
    };
  }
  return (c, m) => c.deleteTask(id, true, m);
};

/** Runs the random commands in rounds of 1–8 concurrent ones while a Projector follows the log. */
const runWorkload = async (store: SqliteEventStore, readDb: Database.Database, projector: Projector): Promise<Workload> => {
  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
  let ids = 0;
  let tick = Date.parse('2026-03-01T09:00:00.000Z');
  const commands = projectCommands({
    handler,
    locateTask: async (taskId) => {
      const known = projectOfTask(readDb, taskId);
      if (known) return known;
      await projector.waitFor(await store.headPosition());
      return projectOfTask(readDb, taskId);
    },
    newId: () => `t${String(++ids).padStart(5, '0')}`,
    now: () => new Date((tick += 1000)).toISOString(),
  });
  const random = mulberry32(SEED);
  const known = new Known();
  const meta = (i: number): RequestMeta => ({
    actor: `agent-${i % 5}`,
    tool: i % 2 ? 'rest' : 'mcp:tool',
    commandId: `cmd-${i}`,
    ...(i % 3 ? {} : { role: 'dev' }),
  });
  for (const projectId of ['alpha', 'beta'])
    known.record(await commands.createProject({ projectId, name: projectId }, { ...meta(0), commandId: `create-${projectId}` }));
  let refused = 0;
  for (let issued = 0; issued < COMMANDS;) {
    const round = Math.min(COMMANDS - issued, 1 + Math.floor(random() * 8));
    const acts = Array.from({ length: round }, () => randomCommand(random, known));
    const outcomes = await Promise.allSettled(acts.map((act, i) => act(commands, meta(issued + i))));
    issued += round;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') known.record(outcome.value);
      else if (outcome.reason instanceof DomainError) refused += 1;
      else throw outcome.reason;
    }
  }
  const all = store.readAllSync({ fromPosition: 0, maxCount: Number.MAX_SAFE_INTEGER });
  return { events: all.length, types: new Set(all.map((e) => e.type)), refused };
};

const readDump = (file: string) => {
  const db = openReadModel(file);
  try {
    return { dump: dumpReadModel(db), checkpoint: new SqliteProjection(db).checkpoint() };
  } finally {
    db.close();
  }
};

describe('Rebuilding the SQLite read model', () => {
  const temp: string[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-rebuild-'));
    temp.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of temp) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe(`when ${COMMANDS} random commands ran while the projector followed the log`, () => {
    let dataDir: string;
    let workload: Workload;
    let live: { dump: Record<string, unknown[]>; checkpoint: number };
    let rebuilt: { dump: Record<string, unknown[]>; checkpoint: number };
    let head: number;

    before(async function () {
      this.timeout(120_000);
      dataDir = tempDir();
      const files = dataFiles(dataDir);
      const store = new SqliteEventStore({ path: files.events, synchronous: 'normal', pollIntervalMs: 0 });
      const readDb = openReadModel(files.readModel);
      const projector = new Projector(store, new SqliteProjection(readDb), createLogger('silent'), 25);
      try {
        await projector.start();
        workload = await runWorkload(store, readDb, projector);
        head = await store.headPosition();
        await projector.waitFor(head, 30_000);
        projector.stop();
        live = { dump: dumpReadModel(readDb), checkpoint: new SqliteProjection(readDb).checkpoint() };
        const aside = path.join(tempDir(), 'read.db');
        const result = await rebuildReadModel(store, aside, () => {}, 97);
        expect(result).to.include({ events: workload.events, position: head });
        rebuilt = readDump(aside);
      } finally {
        projector.stop();
        readDb.close();
        await store.close();
      }
    });

    it('exercised every event type, and the business rules refused some commands', () => {
      expect([...workload.types]).to.have.members([
        'ProjectCreated',
        'TaskCreated',
        'TaskUpdated',
        'TaskMoved',
        'TaskStatusChanged',
        'TaskDeleted',
        'DependencyAdded',
        'DependencyRemoved',
        'TaskLinked',
        'TaskUnlinked',
        'TaskClaimed',
        'LeaseExtended',
      ]);
      expect(workload.events).to.be.greaterThan(COMMANDS / 2);
      expect(workload.refused).to.be.greaterThan(0);
      expect(live.dump.tasks!.length).to.be.greaterThan(20);
      expect(live.dump.dependencies!.length).to.be.greaterThan(0);
      expect(live.dump.task_links!.length).to.be.greaterThan(0);
      expect((live.dump.tasks as Array<{ status_note: string | null }>).some((t) => t.status_note !== null)).to.equal(true);
    });

    it('the live model equals a rebuild from the log, table by table and byte for byte', () => {
      for (const table of Object.keys(live.dump)) expect(rebuilt.dump[table], table).to.deep.equal(live.dump[table]);
      expect(JSON.stringify(rebuilt.dump)).to.equal(JSON.stringify(live.dump));
      expect(rebuilt.checkpoint).to.equal(head);
      expect(live.checkpoint).to.equal(head);
    });

    describe('through the CLI', () => {
      it('`rebuild` swaps in the same rows, reports events/s on stderr and exits 0', async function () {
        this.timeout(60_000);
        const run = await runCli(['rebuild'], dataDir);
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stderr).to.match(new RegExp(`Rebuilt the SQLite read model from ${workload.events} events in [\\d.]+ s \\(\\d+ events/s\\)`));
        const swapped = readDump(dataFiles(dataDir).readModel);
        expect(JSON.stringify(swapped.dump)).to.equal(JSON.stringify(live.dump));
        expect(swapped.checkpoint).to.equal(head);
      });

      it('`rebuild --json` prints progress lines and the result as JSON on stdout', async function () {
        this.timeout(60_000);
        const run = await runCli(['rebuild', '--json'], dataDir);
        expect(run.code, run.stderr).to.equal(0);
        const lines = run.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines.at(0)).to.have.keys('phase', 'eventsDone', 'eventsTotal', 'eventsPerSecond', 'etaSeconds');
        expect(lines.at(-1)).to.include({ model: 'sqlite', events: workload.events, position: head });
        expect(JSON.stringify(readDump(dataFiles(dataDir).readModel).dump)).to.equal(JSON.stringify(live.dump));
      });

      it('`rebuild --model graph --json` builds the graph beside its file and renames it in: the graph the log folds to', async function () {
        this.timeout(60_000);
        const run = await runCli(['rebuild', '--model', 'graph', '--json'], dataDir);
        expect(run.code, run.stderr).to.equal(0);
        const lines = run.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines.at(-1)).to.include({ model: 'graph', events: workload.events, position: head });
        expect(run.stderr).to.match(/Rebuilt the graph read model from \d+ events/);
        expect(fs.existsSync(`${dataFiles(dataDir).graph}.rebuild`)).to.equal(false);
        const rebuilt = KuzuGraphStore.open(dataFiles(dataDir).graph, { readOnly: true });
        const expected = KuzuGraphStore.open(path.join(dataDir, 'tmp', 'expected.kuzu'));
        try {
          const store = new SqliteEventStore({ path: dataFiles(dataDir).events });
          await rebuildGraph(store, expected);
          await store.close();
          expect(rebuilt.checkpoint()?.position).to.equal(head);
          expect(rebuilt.dump().edges.length).to.be.greaterThan(0);
          expect(JSON.stringify(sortSnapshot(rebuilt.dump()))).to.equal(JSON.stringify(sortSnapshot(expected.dump())));
        } finally {
          rebuilt.close();
          expected.close();
          fs.rmSync(path.join(dataDir, 'tmp'), { recursive: true, force: true });
        }
      });

      it('`rebuild --model all` rebuilds SQLite, then the graph', async function () {
        this.timeout(60_000);
        const run = await runCli(['rebuild', '--model', 'all'], dataDir);
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stderr).to.match(/Rebuilt the SQLite read model from .*\n.*Rebuilt the graph read model from /s);
        expect(JSON.stringify(readDump(dataFiles(dataDir).readModel).dump)).to.equal(JSON.stringify(live.dump));
      });

      it('`rebuild --model vectors` refuses with exit 1: the vector model rebuilds itself at start', async function () {
        this.timeout(60_000);
        const run = await runCli(['rebuild', '--model', 'vectors'], dataDir);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.contain('rebuilds itself when the server starts');
      });

      it('`rebuild` refuses (exit 1) while a server owns the data directory, pointing at POST /admin/rebuild', async function () {
        this.timeout(60_000);
        const file = path.join(dataDir, 'server.json');
        fs.writeFileSync(file, JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:1', startedAt: new Date().toISOString() }));
        try {
          const run = await runCli(['rebuild'], dataDir);
          expect(run.code).to.equal(1);
          expect(run.stderr).to.contain('POST http://127.0.0.1:1/api/v1/admin/rebuild');
        } finally {
          fs.rmSync(file);
        }
      });

      it('`rebuild --model` refuses an unknown model with exit 2', async function () {
        this.timeout(60_000);
        expect((await runCli(['rebuild', '--model', 'everything'], dataDir)).code).to.equal(2);
      });

      it('`stats` prints the event count and the projector position as JSON', async function () {
        this.timeout(60_000);
        const run = await runCli(['stats'], dataDir);
        expect(run.code, run.stderr).to.equal(0);
        const stats = JSON.parse(run.stdout) as {
          eventStore: { kind: string; events: number; headPosition: number };
          projectors: { name: string; position: number; lag: number }[];
        };
        expect(stats.eventStore).to.include({ kind: 'sqlite', events: workload.events, headPosition: head });
        expect(stats.projectors[0]).to.include({ name: 'sqlite', position: head, lag: 0 });
      });
    });
  });
});
