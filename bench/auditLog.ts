/**
 * The log the audit benches read: ~1,000,000 events (100,000 with --quick) written through the real decider and
 * store, as a team would write them — projects of 10,000 tasks, then dependencies, edits, status changes and
 * claim cycles by twenty agents acting for several roles through REST and MCP. The phases run across all
 * projects in turn, so every project's history is spread over the whole log and a mid-log position cuts each
 * one halfway. Built once per size and cached in the temp dir (keyed by this file's text), since it takes a
 * minute or two; the benches only read it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { CommandHandler } from '../src/commands/handler.js';
import { projectCommands, type RequestMeta } from '../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../src/commands/project/decider.js';
import type { ProjectState } from '../src/commands/project/project.js';
import { projectStreamId, type ProjectEvent } from '../src/events/project.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';
import { makeTree, nowMs, round } from './lib.js';

export type AuditLog = Readonly<{
  /** The SQLite event store file (open it read-only, or copy it, when a bench writes). */
  storePath: string;
  events: number;
  head: number;
  projects: readonly string[];
  tasksPerProject: number;
  /** A position halfway through the log. */
  midPosition: number;
  /** The recordedAt of the event at midPosition. */
  midTime: string;
  actors: readonly string[];
  roles: readonly string[];
  buildSeconds: number;
  cached: boolean;
}>;

const AGENTS = Array.from({ length: 20 }, (_, i) => `agent-${String(i).padStart(2, '0')}`);
const ROLES = ['backend_developer', 'frontend_developer', 'tester', 'technical_writer'];
const TOOLS = ['rest', 'mcp:update_task', 'mcp:claim_task', 'cli'];

let seq = 0;
const metaFor = (i: number): RequestMeta & { role: string } => ({
  actor: AGENTS[i % AGENTS.length]!,
  role: ROLES[i % ROLES.length]!,
  tool: TOOLS[i % TOOLS.length]!,
  commandId: `audit-log-${++seq}`,
});

const build = async (file: string, projects: number, tasksPerProject: number) => {
  const store = new SqliteEventStore({ path: file, synchronous: 'normal', pollIntervalMs: 0 });
  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider(), cacheSize: projects + 4 });
  const ids = new Map<string, string[]>();
  const commands = projectCommands({ handler, locateTask: async () => undefined, newId: uuidv7, now: () => new Date().toISOString() });
  const projectIds = Array.from({ length: projects }, (_, p) => `audit-${String(p).padStart(2, '0')}`);
  const send = async (projectId: string, make: (i: number, tasks: string[]) => Omit<ProjectCommand, 'metadata'> | undefined, count: number) => {
    const tasks = ids.get(projectId)!;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const command = make(i, tasks);
      if (!command) continue;
      const m = metaFor(i);
      const metadata = { now: new Date().toISOString(), commandId: m.commandId, actor: m.actor, role: m.role, tool: m.tool };
      pending.push(handler.handle(projectStreamId(projectId), { ...command, metadata } as ProjectCommand).catch(() => undefined));
      if (pending.length >= 2000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  };
  // 1. Projects and their task trees (1,000 tasks per tree).
  for (const projectId of projectIds) {
    await commands.createProject({ projectId, name: `Audit ${projectId}` }, metaFor(0));
    ids.set(projectId, []);
  }
  for (let tree = 0; tree < tasksPerProject / 1000; tree++) {
    for (const projectId of projectIds) {
      const result = await commands.createTaskTree({ projectId, root: makeTree(1000, `${projectId} tree ${tree}`) }, metaFor(tree));
      for (const e of result.events) if (e.type === 'TaskCreated') ids.get(projectId)!.push((e.data as { taskId: string }).taskId);
    }
  }
  const n = tasksPerProject;
  // 2. Dependencies (acyclic: on a task created before), edits, status changes, claim cycles.
  const phases: Array<[count: number, make: (i: number, tasks: string[]) => Omit<ProjectCommand, 'metadata'> | undefined]> = [
    [
      n / 5,
      (i, t) => {
        const j = n / 2 + ((i * 7919) % (n / 2));
        return { type: 'AddDependency', data: { taskId: t[j]!, dependsOn: t[j - 1 - ((i * 104729) % 500)]!, kind: i % 3 === 0 ? 'soft' : 'hard' } };
      },
    ],
    [
      n / 2,
      (i, t) => ({
        type: 'UpdateTask',
        data: { taskId: t[(i * 31) % n]!, changes: { title: `edited ${i}`, tags: [`t${i % 40}`], estimate: i % 13 } },
      }),
    ],
    [n / 10, (i, t) => ({ type: 'ChangeTaskStatus', data: { taskId: t[(i * 17) % (n / 2)]!, status: 'blocked', reason: `waiting ${i}` } })],
    [n / 10, (i, t) => ({ type: 'ChangeTaskStatus', data: { taskId: t[(i * 17) % (n / 2)]!, status: 'pending' } })],
    [n / 5, (i, t) => ({ type: 'ClaimTask', data: { taskId: t[i]!, agent: AGENTS[i % AGENTS.length]!, leaseSeconds: 3600 } })],
    [n / 10, (i, t) => ({ type: 'Heartbeat', data: { taskId: t[i]!, agent: AGENTS[i % AGENTS.length]!, leaseSeconds: 3600 } })],
    [
      n / 5,
      (i, t) =>
        i % 4 === 0
          ? { type: 'ReleaseTask', data: { taskId: t[i]!, agent: AGENTS[i % AGENTS.length]!, reason: 'handing over' } }
          : {
              type: 'CompleteTask',
              data: { taskId: t[i]!, agent: AGENTS[i % AGENTS.length]!, output: `done ${i}`, artifacts: [], changedFiles: [] },
            },
    ],
  ];
  for (const [count, make] of phases) {
    for (const projectId of projectIds) await send(projectId, make, count);
  }
  await store.close();
};

/** The cached log of this size, built first when missing. */
export const auditLog = async (quick: boolean): Promise<AuditLog> => {
  const projects = quick ? 4 : 42;
  const tasksPerProject = 10_000;
  const source = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const key = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `vespera-bench-audit-log-${projects}x${tasksPerProject}-${key}`);
  const storePath = path.join(dir, 'events.db');
  const described = path.join(dir, 'log.json');
  if (fs.existsSync(described)) return { ...(JSON.parse(fs.readFileSync(described, 'utf8')) as AuditLog), cached: true };
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const started = nowMs();
  await build(storePath, projects, tasksPerProject);
  const store = new SqliteEventStore({ path: storePath, pollIntervalMs: 0 });
  const { events, headPosition } = await store.stats();
  const midPosition = Math.floor(headPosition / 2);
  const [mid] = await store.readAll({ fromPosition: midPosition - 1, maxCount: 1 });
  await store.close();
  const log: AuditLog = {
    storePath,
    events,
    head: headPosition,
    projects: Array.from({ length: projects }, (_, p) => `audit-${String(p).padStart(2, '0')}`),
    tasksPerProject,
    midPosition,
    midTime: mid!.recordedAt,
    actors: AGENTS,
    roles: ROLES,
    buildSeconds: round((nowMs() - started) / 1000, 1),
    cached: false,
  };
  fs.writeFileSync(described, JSON.stringify(log));
  return log;
};

// Alone: `npx tsx bench/auditLog.ts [--quick]` builds (or finds) the log and describes it.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const log = await auditLog(process.argv.includes('--quick'));
  console.log(JSON.stringify(log, null, 2));
}
