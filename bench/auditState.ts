/** Audit: the state of a 10,000-task project as of a mid-log position, folded from the log (part of bench `audit`). */
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { CommandHandler } from '../src/commands/handler.js';
import { projectCommands } from '../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../src/commands/project/decider.js';
import type { ProjectState } from '../src/commands/project/project.js';
import { projectStreamId, type ProjectEvent } from '../src/events/project.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { auditState, cloneFold } from '../src/queries/audit/asOf.js';
import { FoldSnapshots } from '../src/queries/audit/snapshots.js';
import { below, gc, info, makeTree, median, meta, nowMs, round, tempDir, type BenchOptions, type Result, type Row } from './lib.js';

const PROJECT = 'bench-audit';

/**
 * A realistic project through the real decider and store: trees of 1,000 tasks, dependencies inside each tree,
 * updates, claims and completions. Returns the task ids.
 */
export const buildProject = async (store: SqliteEventStore, trees: number, deps: number, updates: number, claims: number): Promise<string[]> => {
  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
  const commands = projectCommands({ handler, locateTask: async () => PROJECT, newId: uuidv7, now: () => new Date().toISOString() });
  await commands.createProject({ projectId: PROJECT, name: 'Audit bench' }, meta());
  const ids: string[] = [];
  for (let i = 0; i < trees; i++) {
    const result = await commands.createTaskTree({ projectId: PROJECT, root: makeTree(1000, `audit ${i}`) }, meta());
    ids.push(...result.taskIds);
  }
  const send = async (make: (i: number) => Omit<ProjectCommand, 'metadata'>, count: number) => {
    for (let start = 0; start < count; start += 2000) {
      const batch: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(count, start + 2000); i++) {
        const { commandId, actor, tool } = meta();
        const metadata = { now: new Date().toISOString(), commandId, actor, tool };
        batch.push(handler.handle(projectStreamId(PROJECT), { ...make(i), metadata } as ProjectCommand).catch(() => undefined));
      }
      await Promise.all(batch);
    }
  };
  // Edges point to a task created shortly before, in the same tree: acyclic.
  await send((i) => {
    const j = 1 + ((i * 7919) % (ids.length - 1));
    const k = Math.max(j - 1 - ((i * 104729) % 50), Math.floor(j / 1000) * 1000);
    return { type: 'AddDependency', data: { taskId: ids[j]!, dependsOn: ids[k]!, kind: i % 4 === 0 ? 'soft' : 'hard' } };
  }, deps);
  await send(
    (i) => ({ type: 'UpdateTask', data: { taskId: ids[(i * 31) % ids.length]!, changes: { title: `renamed ${i}`, tags: ['x', `t${i % 50}`] } } }),
    updates,
  );
  // Tree roots and the first task of each level have no dependencies: claim those, complete half of them.
  const claimable = ids.filter((_, i) => i % 10 === 0).slice(0, claims);
  await send((i) => ({ type: 'ClaimTask', data: { taskId: claimable[i]!, agent: 'agent', leaseSeconds: 3600 } }), claimable.length);
  await send(
    (i) => ({
      type: 'CompleteTask',
      data: { taskId: claimable[i * 2]!, agent: 'agent', output: 'done', artifacts: [], changedFiles: [], definition: null },
    }),
    Math.floor(claimable.length / 2),
  );
  return ids;
};

const timed = async <T>(run: () => Promise<T>): Promise<[number, T]> => {
  const t0 = nowMs();
  const value = await run();
  return [nowMs() - t0, value];
};

/** Folds the project as of a mid-log position: from a snapshot (the target) and from the first event. */
export const measureAsOf = async (opts: BenchOptions): Promise<{ rows: Row[]; figures: Record<string, number>; setup: string }> => {
  const trees = opts.quick ? 2 : 10;
  const { dir, remove } = tempDir('audit-state');
  const store = new SqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'normal', pollIntervalMs: 0 });
  try {
    const ids = await buildProject(store, trees, trees * 500, trees * 1000, trees * 100);
    const { events } = await store.stats();
    const mid = Math.floor(events / 2);
    const cold: number[] = [];
    const warm: number[] = [];
    const task: number[] = [];
    let taskCount = 0;
    for (let r = 0; r < Math.max(3, opts.reps); r++) {
      gc();
      const [ms, answer] = await timed(() => auditState(store).getProjectAsOf(PROJECT, String(mid), { limit: 100 }));
      cold.push(ms);
      taskCount = answer.project.taskCount;
      task.push((await timed(() => auditState(store).getTaskAsOf(ids[ids.length - 1]!, String(mid))))[0]);
      // A server keeps snapshots: any earlier fold (here one to the head) leaves one every 5,000 revisions behind,
      // and a fold as of a mid-log point starts from the nearest one before it.
      const audit = auditState(store, new FoldSnapshots({ clone: cloneFold }));
      await audit.getProjectAsOf(PROJECT, undefined, { limit: 1 });
      warm.push((await timed(() => audit.getProjectAsOf(PROJECT, String(mid), { limit: 100 })))[0]);
    }
    const coldMs = round(median(cold), 1);
    const warmMs = round(median(warm), 1);
    return {
      setup: `a ${ids.length.toLocaleString('en-US')}-task project of ${events.toLocaleString('en-US')} events (trees of 1,000, dependencies, updates, claims, completions) in a SQLite log; state as of position ${mid}`,
      rows: [
        info('events in the project', events),
        info(`tasks as of the mid-log position`, taskCount),
        below('project as of a mid-log position (summary + first 100 tasks), from a snapshot', warmMs, 200, 'ms'),
        info('  the same from the first event (no snapshot yet)', coldMs, 'ms'),
        info('one task as of a mid-log position, from the first event', round(median(task), 1), 'ms'),
      ],
      figures: { asOfProjectMs: warmMs, asOfProjectColdMs: coldMs, asOfTaskMs: round(median(task), 1), asOfEvents: events },
    };
  } finally {
    await store.close();
    remove();
  }
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const { rows, figures, setup } = await measureAsOf(opts);
  return { name: 'auditState', setup, rows, figures };
};

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { printResult } = await import('./lib.js');
  const result = await run({ quick: process.argv.includes('--quick'), reps: 3 });
  printResult(result);
  process.exitCode = result.rows.every((r) => r.ok !== false) ? 0 : 1;
}
