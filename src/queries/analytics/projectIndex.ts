import type { AdjacencySource, AnalyticsTask, ProjectGraph } from './source.js';

export type Step = { to: number; hard: boolean };

/** A project's tasks and dependencies indexed once: id → index, and both directions of every edge. */
export class ProjectIndex {
  readonly index = new Map<string, number>();
  /** deps[i]: what task i depends on. */
  readonly deps: Step[][];
  /** dependents[i]: what waits on task i. */
  readonly dependents: Step[][];

  constructor(readonly graph: ProjectGraph) {
    const tasks = graph.tasks;
    tasks.forEach((t, i) => this.index.set(t.id, i));
    this.deps = tasks.map(() => []);
    this.dependents = tasks.map(() => []);
    for (const edge of graph.edges) {
      const a = this.index.get(edge.taskId);
      const b = this.index.get(edge.dependsOn);
      if (a === undefined || b === undefined) continue;
      this.deps[a]!.push({ to: b, hard: edge.kind === 'hard' });
      this.dependents[b]!.push({ to: a, hard: edge.kind === 'hard' });
    }
  }

  get tasks(): readonly AnalyticsTask[] {
    return this.graph.tasks;
  }

  task(i: number): AnalyticsTask {
    return this.graph.tasks[i]!;
  }

  /** Breadth-first walk: every task reached within `maxDepth` steps, with its distance, nearest first. */
  walk(start: number, direction: 'dependencies' | 'dependents', maxDepth: number, hardOnly = false): Array<{ at: number; distance: number }> {
    const adjacency = direction === 'dependencies' ? this.deps : this.dependents;
    const seen = new Uint8Array(this.tasks.length);
    seen[start] = 1;
    const out: Array<{ at: number; distance: number }> = [];
    let frontier = [start];
    for (let distance = 1; distance <= maxDepth && frontier.length > 0; distance++) {
      const next: number[] = [];
      for (const u of frontier) {
        for (const { to, hard } of adjacency[u]!) {
          if (seen[to] || (hardOnly && !hard)) continue;
          seen[to] = 1;
          out.push({ at: to, distance });
          next.push(to);
        }
      }
      frontier = next;
    }
    return out;
  }

  /** The subtree of `rootId` in the task tree (root included). */
  subtree(rootId: string): Set<string> {
    const children = new Map<string, string[]>();
    for (const t of this.tasks) if (t.parentId !== null) (children.get(t.parentId) ?? children.set(t.parentId, []).get(t.parentId)!).push(t.id);
    const out = new Set([rootId]);
    const stack = [rootId];
    while (stack.length > 0) {
      for (const child of children.get(stack.pop()!) ?? []) {
        if (out.has(child)) continue;
        out.add(child);
        stack.push(child);
      }
    }
    return out;
  }
}

/**
 * Loads projects through `source`, reusing the last index of a project while the read model has not moved
 * (`version()` is its position): several analytics questions in a row pay for one load.
 */
export const projectLoader = (source: AdjacencySource, version: () => number, capacity = 4) => {
  const cache = new Map<string, { version: number; index: ProjectIndex }>();
  return (projectId: string): ProjectIndex => {
    const now = version();
    const hit = cache.get(projectId);
    if (hit && hit.version === now) return hit.index;
    const index = new ProjectIndex(source.loadProject(projectId));
    cache.delete(projectId);
    cache.set(projectId, { version: now, index });
    if (cache.size > capacity) cache.delete(cache.keys().next().value!);
    return index;
  };
};
