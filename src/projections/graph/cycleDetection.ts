import type { GraphEdge, GraphStore } from './graphStore.js';

export type CycleReport = Readonly<{ cycles: number; checkedAt: string; edges: number; ms: number; cycle?: readonly string[]; error?: string }>;

/**
 * A cycle in `edges` (task → dependsOn → … → task), or null. Kahn's algorithm peels off every task outside
 * a cycle; from what is left, following any remaining edge must come back to a task already seen.
 */
export const findCycle = (edges: readonly GraphEdge[]): string[] | null => {
  const next = new Map<string, string[]>();
  const inDegree = new Map<string, number>();
  for (const { taskId, dependsOn } of edges) {
    (next.get(taskId) ?? next.set(taskId, []).get(taskId)!).push(dependsOn);
    inDegree.set(dependsOn, (inDegree.get(dependsOn) ?? 0) + 1);
    if (!inDegree.has(taskId)) inDegree.set(taskId, 0);
  }
  const queue = [...inDegree].filter(([, d]) => d === 0).map(([id]) => id);
  for (let i = 0; i < queue.length; i++) {
    for (const target of next.get(queue[i]!) ?? []) {
      const left = inDegree.get(target)! - 1;
      inDegree.set(target, left);
      if (left === 0) queue.push(target);
    }
  }
  const remaining = new Set([...inDegree].filter(([, d]) => d > 0).map(([id]) => id));
  if (remaining.size === 0) return null;
  let at = remaining.values().next().value!;
  const seenAt = new Map<string, number>();
  const walk: string[] = [];
  while (!seenAt.has(at)) {
    seenAt.set(at, walk.length);
    walk.push(at);
    at = (next.get(at) ?? []).find((t) => remaining.has(t))!;
  }
  return [...walk.slice(seenAt.get(at)), at];
};

/** The `cycle_detection` background check: the decider prevents cycles; this verifies the projected graph agrees. */
export const checkGraphForCycles = (graph: GraphStore, now: () => string): CycleReport => {
  const started = process.hrtime.bigint();
  const checkedAt = now();
  try {
    const edges = graph.allEdges();
    const cycle = findCycle(edges);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { cycles: cycle ? 1 : 0, checkedAt, edges: edges.length, ms, ...(cycle ? { cycle } : {}) };
  } catch (error) {
    return { cycles: 0, checkedAt, edges: 0, ms: 0, error: (error as Error).message };
  }
};
