/**
 * The dependency graph's dynamic topological order (Pearce–Kelly): every task's `ord` sits after the `ord` of
 * each task it depends on. A new task takes the next free place; a new edge that points forward in the order
 * reorders only the tasks between its two ends, and a search bounded to that range tells whether the edge
 * would close a cycle.
 *
 * It needs only a task's edges and its place (the project's task nodes have both), so it imports nothing of project.ts.
 */

/** What the order needs of a task. */
export type OrderedNode = {
  readonly id: string;
  /** Outgoing edges: the tasks this one depends on. */
  readonly deps: ReadonlyMap<string, unknown>;
  /** Incoming edges: the tasks that depend on this one. */
  readonly dependents: ReadonlySet<string>;
  ord: number;
};

/** The graph the order lives in. */
export type OrderedGraph<N extends OrderedNode> = { readonly tasks: ReadonlyMap<string, N>; nextOrd: number };

/** A new task has no edges yet, so the end of the order is a valid place for it. */
export const nextOrd = (state: OrderedGraph<OrderedNode>): number => state.nextOrd++;

/**
 * Searches for a path from `from` to `to` following "is depended on by" edges, visiting only tasks whose
 * order is at most `to.ord` (Pearce–Kelly): anything later cannot lead back to `to`. Returns the tasks on
 * the path (from … to) or undefined, and the set of tasks it visited.
 */
export const searchDependents = <N extends OrderedNode>(state: OrderedGraph<N>, from: N, to: N): { path?: string[]; visited: N[] } => {
  const cameFrom = new Map<string, string | null>([[from.id, null]]);
  const visited: N[] = [from];
  const stack = [from];
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const next of node.dependents) {
      if (cameFrom.has(next)) continue;
      cameFrom.set(next, node.id);
      if (next === to.id) {
        const path: string[] = [];
        for (let at: string | null = next; at !== null; at = cameFrom.get(at) ?? null) path.push(at);
        return { path: path.reverse(), visited };
      }
      const nextNode = state.tasks.get(next);
      if (nextNode && nextNode.ord <= to.ord) {
        visited.push(nextNode);
        stack.push(nextNode);
      }
    }
  }
  return { visited };
};

/**
 * A path from `from` to `to` along "is depended on by" edges, or undefined. Pearce–Kelly bounds the search
 * to tasks ordered between the two; searching from both ends (always the smaller frontier) stops as soon as
 * the two searches meet or either side runs dry, so the cost is that of the smaller side.
 */
export const findDependentPath = <N extends OrderedNode>(state: OrderedGraph<N>, from: N, to: N): string[] | undefined => {
  const forward = new Map<string, string | null>([[from.id, null]]);
  const backward = new Map<string, string | null>([[to.id, null]]);
  const meet = (m: string): string[] => {
    const left: string[] = [];
    for (let at: string | null = m; at !== null; at = forward.get(at) ?? null) left.push(at);
    const right: string[] = [];
    for (let at = backward.get(m) ?? null; at !== null; at = backward.get(at) ?? null) right.push(at);
    return [...left.reverse(), ...right];
  };
  let fronts: [N[], N[]] = [[from], [to]];
  while (fronts[0].length > 0 && fronts[1].length > 0) {
    const goForward = fronts[0].length <= fronts[1].length;
    const [mine, theirs] = goForward ? [forward, backward] : [backward, forward];
    const next: N[] = [];
    for (const node of goForward ? fronts[0] : fronts[1]) {
      for (const id of goForward ? node.dependents : node.deps.keys()) {
        if (mine.has(id)) continue;
        const neighbour = state.tasks.get(id);
        if (!neighbour || (goForward ? neighbour.ord > to.ord : neighbour.ord < from.ord)) continue;
        mine.set(id, node.id);
        if (theirs.has(id)) return meet(id);
        next.push(neighbour);
      }
    }
    fronts = goForward ? [next, fronts[1]] : [fronts[0], next];
  }
  return undefined;
};

/**
 * Restores the topological order after `task` came to depend on `target`: nothing to do when `target`
 * already sits earlier; otherwise, within the range between them, `target` and what it depends on take the
 * earlier places and `task` and what depends on it the later ones, reusing the places they held.
 */
export const reorder = <N extends OrderedNode>(state: OrderedGraph<N>, task: N, target: N): void => {
  if (target.ord <= task.ord) return;
  const forward = searchDependents(state, task, target).visited;
  const backward: N[] = [];
  const seen = new Set<string>([target.id]);
  const stack = [target];
  while (stack.length > 0) {
    const node = stack.pop()!;
    backward.push(node);
    for (const dep of node.deps.keys()) {
      const depNode = state.tasks.get(dep);
      if (depNode && !seen.has(dep) && depNode.ord >= task.ord) {
        seen.add(dep);
        stack.push(depNode);
      }
    }
  }
  const byOrd = (a: N, b: N) => a.ord - b.ord;
  const moved = [...backward.sort(byOrd), ...forward.sort(byOrd)];
  const slots = moved.map((n) => n.ord).sort((a, b) => a - b);
  moved.forEach((node, i) => (node.ord = slots[i]!));
};
