import { expect } from 'chai';
import { isReady as readyByFacts } from '../../../src/algorithms/readiness.js';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import { openChildren, openHardDependencies } from '../../../src/commands/project/guards.js';
import type { ProjectState, TaskNode } from '../../../src/commands/project/project.js';
import { rankReadyTasks, slackOf } from '../../../src/commands/project/readiness.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import type { StoredEvent } from '../../../src/events/types.js';
import { at, P } from './claimFixtures.js';

/**
 * The ready index (`ready`, `leased`, `openChildren`, kept by `evolve`) and the kept rank order (readiness.ts) against
 * the rule computed from scratch over every task, after each step of long random histories: creations under random
 * parents, hard and soft edges, claims that lapse, completions, cancels and reopenings, moves, deletes, priority and
 * estimate changes.
 */

const PRIORITY_RANK = { low: 0, normal: 1, high: 2, critical: 3 } as const;

/** The rule as it read before the index: every task of the project, filtered and sorted afresh. */
const rankedFromScratch = (state: ProjectState, now: string): string[] => {
  const candidates = [...state.tasks.values()].filter((task) => {
    const leaseLapsed = task.lease !== null && task.lease.expiresAt <= now;
    return readyByFacts({
      status: task.status,
      leaseLapsed,
      openHardDependencies: openHardDependencies(state, task).length,
      openChildren: openChildren(state, task).length,
    });
  });
  const slack = slackOf(state, 8);
  return candidates
    .sort(
      (a, b) =>
        PRIORITY_RANK[b.fields.priority] - PRIORITY_RANK[a.fields.priority] ||
        (slack.get(a.id) ?? 0) - (slack.get(b.id) ?? 0) ||
        (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.ord - b.ord),
    )
    .map((t) => t.id);
};

/** A seeded generator (mulberry32), so a failing history can be replayed by its seed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const history = (seed: number, steps: number) => {
  const { decide, evolve, initialState } = projectDecider();
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T | undefined => (items.length === 0 ? undefined : items[Math.floor(rnd() * items.length)]);
  let state = initialState();
  let revision = -1;
  let clock = 0;
  let n = 0;
  const apply = (command: ProjectCommand): boolean => {
    let decided;
    try {
      decided = decide(command, state);
    } catch {
      return false;
    }
    for (const event of Array.isArray(decided) ? decided : [decided as ProjectEvent]) {
      revision += 1;
      const metadata = { ...command.metadata, schemaVersion: 1 };
      state = evolve(state, {
        ...event,
        id: `e${revision}`,
        streamId: `project-${P}`,
        revision,
        position: revision + 1,
        metadata,
      } as StoredEvent<ProjectEvent>);
    }
    return true;
  };
  const meta = () => ({ now: at(clock), commandId: `c${n++}`, actor: rnd() < 0.8 ? 'plugin-a' : 'plugin-b', tool: 'test', correlationId: `r${n}` });
  apply({ type: 'CreateProject', data: { projectId: P, name: 'Random' }, metadata: meta() });
  const ids = (): string[] => [...state.tasks.keys()];
  const steps_: Array<() => ProjectCommand> = [
    () => ({
      type: 'CreateTask',
      data: {
        projectId: P,
        taskId: `t${n}`,
        parentId: rnd() < 0.6 ? (pick(ids()) ?? null) : null,
        task: {
          title: `task ${n}`,
          priority: pick(['low', 'normal', 'high', 'critical'] as const)!,
          estimate: rnd() < 0.5 ? null : Math.ceil(rnd() * 20),
        },
      },
      metadata: meta(),
    }),
    () => ({ type: 'AddDependency', data: { taskId: pick(ids())!, dependsOn: pick(ids())!, kind: rnd() < 0.7 ? 'hard' : 'soft' }, metadata: meta() }),
    () => ({ type: 'RemoveDependency', data: { taskId: pick(ids())!, dependsOn: pick(ids())! }, metadata: meta() }),
    () => ({
      type: 'ClaimTask',
      data: { taskId: pick(ids())!, agent: `agent-${Math.floor(rnd() * 4)}`, leaseSeconds: 30 + Math.floor(rnd() * 120) },
      metadata: meta(),
    }),
    () => {
      const held = [...state.tasks.values()].filter((t) => t.lease !== null);
      const task = pick(held) ?? pick([...state.tasks.values()]);
      const agent = task?.lease?.agent ?? 'agent-0';
      return {
        type: 'CompleteTask',
        data: { taskId: task?.id ?? 'none', agent, output: 'done', artifacts: [], changedFiles: [] },
        metadata: { ...meta(), actor: task?.lease?.holder ?? 'plugin-a' },
      };
    },
    () => ({
      type: 'ChangeTaskStatus',
      data: { taskId: pick(ids())!, status: pick(['pending', 'cancelled', 'blocked', 'completed', 'review', 'in_progress'] as const)! },
      metadata: meta(),
    }),
    () => ({ type: 'MoveTask', data: { taskId: pick(ids())!, parentId: rnd() < 0.3 ? null : pick(ids())! }, metadata: meta() }),
    () => ({ type: 'DeleteTask', data: { taskId: pick(ids())!, recursive: rnd() < 0.5 }, metadata: meta() }),
    () => ({
      type: 'UpdateTask',
      data: {
        taskId: pick(ids())!,
        changes: rnd() < 0.5 ? { priority: pick(['low', 'normal', 'high', 'critical'] as const)! } : { estimate: Math.ceil(rnd() * 30) },
      },
      metadata: meta(),
    }),
    () => {
      const held = [...state.tasks.values()].filter((t) => t.lease !== null);
      const task = pick(held);
      return {
        type: 'ReleaseTask',
        data: { taskId: task?.id ?? 'none', agent: task?.lease?.agent ?? 'x' },
        metadata: { ...meta(), actor: task?.lease?.holder ?? 'plugin-a' },
      };
    },
  ];
  const weights = [6, 3, 1, 4, 3, 2, 1, 1, 2, 1];
  const total = weights.reduce((a, b) => a + b, 0);
  const checks: Array<{ step: number; state: ProjectState; now: string }> = [];
  return {
    run: (check: (state: ProjectState, now: string, step: number) => void) => {
      for (let step = 0; step < steps; step++) {
        clock += Math.floor(rnd() * 20);
        let roll = rnd() * total;
        const which = weights.findIndex((w) => (roll -= w) < 0);
        const command = steps_[which === -1 ? 0 : which]!();
        if (ids().length === 0 && command.type !== 'CreateTask') continue;
        if (apply(command)) check(state, at(clock), step);
        // Now and then a claim by rank, as ClaimNextTask walks it.
        if (rnd() < 0.2) {
          const first = rankReadyTasks(state, at(clock), () => true).next();
          if (!first.done) apply({ type: 'ClaimTask', data: { taskId: first.value.id, agent: 'agent-rank', leaseSeconds: 60 }, metadata: meta() });
          check(state, at(clock), step);
        }
      }
      return checks;
    },
  };
};

describe('The ready index kept by evolve', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`equals the rule computed over every task after each of 600 random steps (seed ${seed})`, () => {
      let checked = 0;
      history(seed, 600).run((state, now, step) => {
        const where = `seed ${seed}, step ${step}`;
        const structural = [...state.tasks.values()]
          .filter((t) => t.status === 'pending' && openHardDependencies(state, t).length === 0 && openChildren(state, t).length === 0)
          .map((t) => t.id)
          .sort();
        expect([...state.ready].sort(), `ready set, ${where}`).to.deep.equal(structural);
        for (const task of state.tasks.values())
          expect(task.openChildren, `open children of ${task.id}, ${where}`).to.equal(openChildren(state, task).length);
        const leased = [...state.tasks.values()]
          .filter((t: TaskNode) => t.lease !== null)
          .map((t) => t.id)
          .sort();
        expect([...state.leased].filter((id) => state.tasks.has(id)).sort(), `leased set, ${where}`).to.deep.equal(leased);
        expect(
          [...rankReadyTasks(state, now, () => true)].map((t) => t.id),
          `rank order, ${where}`,
        ).to.deep.equal(rankedFromScratch(state, now));
        checked += 1;
      });
      expect(checked, 'steps that changed the state').to.be.greaterThan(200);
    });
  }

  it('asks `fits` only of the tasks a claim walks past, not of the whole project', () => {
    const { decide, evolve, initialState } = projectDecider();
    let state = initialState();
    let revision = -1;
    const apply = (command: ProjectCommand) => {
      const decided = decide(command, state);
      for (const event of Array.isArray(decided) ? decided : [decided as ProjectEvent]) {
        revision += 1;
        state = evolve(state, {
          ...event,
          id: `e${revision}`,
          streamId: 's',
          revision,
          position: revision + 1,
          metadata: { ...command.metadata, schemaVersion: 1 },
        } as StoredEvent<ProjectEvent>);
      }
    };
    const metadata = { now: at(0), commandId: 'c', actor: 'a', tool: 'test', correlationId: 'c' };
    apply({ type: 'CreateProject', data: { projectId: P, name: 'Big' }, metadata });
    const children = Array.from({ length: 999 }, (_, i) => ({ id: `k${i}`, title: `child ${i}` }));
    apply({
      type: 'CreateTaskTree',
      data: { projectId: P, parentId: null, root: { id: 'root', title: 'root', children } },
      metadata: { ...metadata, commandId: 'c2' },
    });
    let asked = 0;
    const first = rankReadyTasks(state, at(1), () => (asked += 1) >= 3).next();
    expect(first.done).to.equal(false);
    expect(asked, 'fits asked of three tasks').to.equal(3);
    expect(state.ready.size, 'every child is ready, the root waits for them').to.equal(999);
  });
});
