import { isDone } from '../../algorithms/cpm.js';
import type { ProjectIndex } from './projectIndex.js';

/**
 * For every task, the longest chain of open tasks linked by hard dependencies `above` it (what it waits on,
 * transitively) or `below` it (what waits on it), in steps; 0 for none. One pass in topological order (the hard
 * dependencies form no cycle), so a project of 100,000 tasks costs one walk of its edges.
 */
export const openChainLengths = (project: ProjectIndex, direction: 'above' | 'below'): Int32Array => {
  const n = project.tasks.length;
  const open = (i: number) => !isDone(project.task(i).status);
  // `towards[u]`: the tasks one step further along the chain; `back[u]`: those one step nearer.
  const towards = direction === 'above' ? project.deps : project.dependents;
  const back = direction === 'above' ? project.dependents : project.deps;
  const pending = new Int32Array(n);
  for (let u = 0; u < n; u++) for (const s of towards[u]!) if (s.hard && open(s.to)) pending[u]! += 1;
  const length = new Int32Array(n);
  const queue: number[] = [];
  for (let u = 0; u < n; u++) if (pending[u] === 0) queue.push(u);
  for (let h = 0; h < queue.length; h++) {
    const u = queue[h]!;
    for (const s of back[u]!) {
      if (!s.hard || !open(u)) continue;
      if (length[u]! + 1 > length[s.to]!) length[s.to] = length[u]! + 1;
      if (--pending[s.to]! === 0) queue.push(s.to);
    }
  }
  return length;
};

/** The open tasks at the top of `at`'s chains: reached through open hard dependencies, waiting on nothing open. */
export const rootBlockers = (project: ProjectIndex, at: number): number[] =>
  project
    .walk(at, 'dependencies', Number.MAX_SAFE_INTEGER, true)
    .map((r) => r.at)
    .filter((i) => !isDone(project.task(i).status) && project.deps[i]!.every((s) => !s.hard || isDone(project.task(s.to).status)));
