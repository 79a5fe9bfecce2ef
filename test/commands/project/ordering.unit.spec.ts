import { expect } from 'chai';
import { findDependentPath } from '../../../src/commands/project/ordering.js';
import { evolve, initialState, type ProjectState } from '../../../src/commands/project/project.js';
import type { DependencyAdded, DependencyRemoved, ProjectEvent, TaskCreated } from '../../../src/events/project.js';
import { storedEvents } from '../../support/deciderSpec.js';
import { seeded } from '../../support/random.js';

/**
 * Properties of the dynamic topological order (Pearce–Kelly) kept by `evolve`: random edges offered to random
 * DAGs, checked against a brute-force search over a plain adjacency map after every step.
 */

const P = 'p1';
const NOW = '2026-01-01T00:00:00.000Z';

describe('Dependency ordering', () => {
  const seeds = Array.from({ length: 24 }, (_, i) => i + 1);

  describe('when random edges are inserted into a DAG', () => {
    for (const seed of seeds) {
      it(`keeps ord a topological order, moving only tasks between the edge's ends onto their own places (seed ${seed})`, () => {
        const graph = randomGraph(seed);
        let inserted = 0;
        graph.offerEdges((taskId, dependsOn, label) => {
          if (graph.reaches(dependsOn, taskId)) return;
          const task = graph.state.tasks.get(taskId)!;
          const target = graph.state.tasks.get(dependsOn)!;
          const [low, high] = [Math.min(task.ord, target.ord), Math.max(task.ord, target.ord)];
          const before = graph.ords();
          graph.apply(dependencyAdded(taskId, dependsOn));
          inserted++;
          const after = graph.ords();
          expect(graph.misordered(), `${label}: topological order`).to.deep.equal([]);
          expect(
            [...after.values()].sort((a, b) => a - b),
            `${label}: the same places`,
          ).to.deep.equal([...before.values()].sort((a, b) => a - b));
          const movedOutside = [...before].filter(([id, ord]) => (ord < low || ord > high) && after.get(id) !== ord).map(([id]) => id);
          expect(movedOutside, `${label}: tasks outside [${low}, ${high}] moved`).to.deep.equal([]);
        });
        expect(inserted, `seed ${seed} inserted no edge`).to.be.above(0);
      });
    }
  });

  describe('when an edge would close a cycle', () => {
    for (const seed of seeds) {
      it(`findDependentPath finds a real path back exactly when brute force does (seed ${seed})`, () => {
        const graph = randomGraph(seed);
        let cycles = 0;
        graph.offerEdges((taskId, dependsOn, label) => {
          const task = graph.state.tasks.get(taskId)!;
          const target = graph.state.tasks.get(dependsOn)!;
          const closes = graph.reaches(dependsOn, taskId);
          if (target.ord < task.ord) {
            // Already ordered the edge's way: the order itself proves no path back.
            expect(closes, `${label}: a backward edge closing a cycle means ord was not topological`).to.equal(false);
          } else {
            const path = findDependentPath(graph.state, task, target);
            expect(path !== undefined, `${label}: path ${JSON.stringify(path)}`).to.equal(closes);
            if (path) {
              cycles++;
              expect([path[0], path.at(-1)], label).to.deep.equal([taskId, dependsOn]);
              expect(new Set(path).size, `${label}: a simple path`).to.equal(path.length);
              const broken = path.slice(1).filter((id, i) => !graph.state.tasks.get(path[i]!)!.dependents.has(id));
              expect(broken, `${label}: every step is a "depended on by" edge`).to.deep.equal([]);
            }
          }
          if (!closes) graph.apply(dependencyAdded(taskId, dependsOn));
        });
        expect(cycles, `seed ${seed} offered no cycle`).to.be.above(0);
      });
    }
  });
});

// ─── Fixtures ────────────────────────────────────────────────────────────────────────────────────

type Offer = (taskId: string, dependsOn: string, label: string) => void;

/**
 * 6–40 tasks created in a shuffled order, so edges that follow a hidden DAG order still arrive against the
 * creation order; `offerEdges` proposes 4n edges (most along the hidden order, some arbitrary so cycles are
 * offered) and now and then removes one, mirroring every change in a plain adjacency map.
 */
function randomGraph(seed: number) {
  const { next: random, pick, shuffle } = seeded(seed);
  const ids = Array.from({ length: 6 + ((seed * 7) % 35) }, (_, i) => `t${i}`);
  const hidden = new Map(shuffle([...ids]).map((id, i) => [id, i]));
  const deps = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
  let state: ProjectState = initialState();
  let revision = 0;
  const applyEvents = (events: readonly ProjectEvent[]) => {
    for (const event of storedEvents(events, revision)) state = evolve(state, event);
    revision += events.length;
  };
  applyEvents([{ type: 'ProjectCreated', data: { projectId: P, name: P, description: '', createdAt: NOW } }, ...shuffle([...ids]).map(taskCreated)]);

  return {
    get state() {
      return state;
    },
    apply(event: DependencyAdded | DependencyRemoved) {
      applyEvents([event]);
      if (event.type === 'DependencyAdded') deps.get(event.data.taskId)!.add(event.data.dependsOn);
      else deps.get(event.data.taskId)!.delete(event.data.dependsOn);
    },
    /** Brute force: does `from` depend, directly or not, on `to`? */
    reaches(from: string, to: string): boolean {
      const seen = new Set([from]);
      const stack = [from];
      while (stack.length > 0) {
        const at = stack.pop()!;
        if (at === to) return true;
        for (const next of deps.get(at)!) {
          if (seen.has(next)) continue;
          seen.add(next);
          stack.push(next);
        }
      }
      return false;
    },
    ords: () => new Map([...state.tasks.values()].map((t) => [t.id, t.ord])),
    misordered: () =>
      [...deps].flatMap(([id, targets]) =>
        [...targets].filter((target) => state.tasks.get(target)!.ord >= state.tasks.get(id)!.ord).map((target) => `${id} → ${target}`),
      ),
    offerEdges(offer: Offer) {
      for (let step = 0; step < ids.length * 4; step++) {
        const taskId = pick(ids);
        const existing = [...deps.get(taskId)!];
        if (existing.length > 0 && random() < 0.1) {
          this.apply({ type: 'DependencyRemoved', data: { taskId, projectId: P, dependsOn: pick(existing), removedAt: NOW } });
          continue;
        }
        const candidates = ids.filter(
          (id) => id !== taskId && !deps.get(taskId)!.has(id) && (random() < 0.3 || hidden.get(id)! < hidden.get(taskId)!),
        );
        if (candidates.length > 0) {
          const dependsOn = pick(candidates);
          offer(taskId, dependsOn, `seed ${seed}, step ${step}: ${taskId} → ${dependsOn}`);
        }
      }
    },
  };
}

function taskCreated(taskId: string): TaskCreated {
  return {
    type: 'TaskCreated',
    data: {
      taskId,
      projectId: P,
      parentId: null,
      title: taskId,
      description: '',
      status: 'pending',
      priority: 'normal',
      tags: [],
      estimate: null,
      files: [],
      requiredCapabilities: [],
      metadata: {},
      createdAt: NOW,
    },
  };
}

function dependencyAdded(taskId: string, dependsOn: string): DependencyAdded {
  return { type: 'DependencyAdded', data: { taskId, projectId: P, dependsOn, kind: 'hard', addedAt: NOW } };
}
