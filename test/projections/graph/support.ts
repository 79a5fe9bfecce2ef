import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandHandler } from '../../../src/commands/handler.js';
import { projectCommands } from '../../../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { ProjectState } from '../../../src/commands/project/project.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite.js';
import { mulberry32 } from '../../support/random.js';

export type Fixture = {
  dir: string;
  store: SqliteEventStore;
  commands: ReturnType<typeof projectCommands>;
  close: () => Promise<void>;
};

/** A SQLite event store in a temp dir with the real project decider; every task lives in `default`. */
export const openFixture = (): Fixture => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-graph-test-'));
  const store = new SqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'normal', pollIntervalMs: 0 });
  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
  let at = Date.UTC(2025, 0, 1);
  const commands = projectCommands({ handler, locateTask: async () => 'default', newId: newIds(), now: () => new Date((at += 1000)).toISOString() });
  return {
    dir,
    store,
    commands,
    close: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
};

const newIds = () => {
  let n = 0;
  return () => `t${String(++n).padStart(5, '0')}`;
};

let seq = 0;
export const meta = () => ({ actor: 'spec', tool: 'spec', commandId: `spec-${++seq}` });

export const idsOf = (result: { events: readonly { type: string; data: unknown }[] }) =>
  result.events.filter((e) => e.type === 'TaskCreated').map((e) => (e.data as { taskId: string }).taskId);

/** `tasks` tasks and about `edgesPerTask` hard/soft dependencies each, pointing at earlier tasks (a DAG). */
export const randomDag = async (fixture: Fixture, tasks: number, edgesPerTask: number, seed: number): Promise<string[]> => {
  const random = mulberry32(seed);
  const ids: string[] = [];
  for (let start = 0; start < tasks; start += 500) {
    const children = Array.from({ length: Math.min(500, tasks - start) }, (_, i) => ({
      title: `task ${start + i}`,
      estimate: 1 + Math.floor(random() * 8),
    }));
    const result = await fixture.commands.createTaskTree({ root: { title: `group ${start}`, children } }, meta());
    ids.push(...idsOf(result));
  }
  for (let j = 1; j < ids.length; j++) {
    const wanted = Math.floor(random() * (2 * edgesPerTask + 1));
    const targets = new Set<number>();
    for (let k = 0; k < wanted; k++) targets.add(Math.floor(random() * j));
    for (const i of targets) await fixture.commands.addDependency(ids[j]!, ids[i]!, random() < 0.8 ? 'hard' : 'soft', meta());
  }
  return ids;
};
