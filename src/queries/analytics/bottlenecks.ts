import { isDone } from '../../algorithms/cpm.js';
import type { ProjectIndex } from './projectIndex.js';

export const PRIORITY_WEIGHT: Readonly<Record<string, number>> = { critical: 4, high: 3, normal: 2, low: 1 };

export type Bottleneck = {
  id: string;
  status: string;
  priority: string;
  /** Open tasks that transitively wait on this one through hard dependencies. */
  waiting: number;
  /** The same tasks weighted by their priority (critical 4, high 3, normal 2, low 1). */
  score: number;
};

/** Sources handled per sweep: 64 words of 32 bits per task keeps memory at 256 bytes per task. */
const BLOCK_WORDS = 64;

/**
 * Open tasks ranked by the weighted count of open tasks waiting on them (ties: more waiting, then higher own
 * priority, then older). Open tasks are those neither completed nor cancelled; the walk runs only through
 * them. Transitive sets are counted with bitsets swept in topological order, a block of sources at a time.
 */
export const rankBottlenecks = (project: ProjectIndex, limit: number): { items: Bottleneck[]; openTasks: number } => {
  const tasks = project.tasks;
  const open: number[] = [];
  const slot = new Int32Array(tasks.length).fill(-1);
  tasks.forEach((t, i) => {
    if (!isDone(t.status)) {
      slot[i] = open.length;
      open.push(i);
    }
  });
  const n = open.length;
  // Kahn over open tasks, edges from a task to what waits on it (hard only).
  const inDegree = new Int32Array(n);
  for (const u of open) for (const { to, hard } of project.dependents[u]!) if (hard && slot[to]! >= 0) inDegree[slot[to]!]! += 1;
  const order: number[] = [];
  for (let k = 0; k < n; k++) if (inDegree[k] === 0) order.push(k);
  for (let h = 0; h < order.length; h++) {
    for (const { to, hard } of project.dependents[open[order[h]!]!]!) {
      if (hard && slot[to]! >= 0 && --inDegree[slot[to]!]! === 0) order.push(slot[to]!);
    }
  }
  const weight = open.map((i) => PRIORITY_WEIGHT[tasks[i]!.priority] ?? 2);
  const waiting = new Int32Array(n);
  const score = new Float64Array(n);
  // reach[k] = the set of open tasks waiting on k; filled in reverse topological order, BLOCK_WORDS*32 members at a time.
  const reach = new Uint32Array(n * BLOCK_WORDS);
  for (let base = 0; base < n; base += BLOCK_WORDS * 32) {
    reach.fill(0);
    for (let h = order.length - 1; h >= 0; h--) {
      const k = order[h]!;
      const row = k * BLOCK_WORDS;
      for (const { to, hard } of project.dependents[open[k]!]!) {
        const m = slot[to]!;
        if (!hard || m < 0) continue;
        const other = m * BLOCK_WORDS;
        for (let w = 0; w < BLOCK_WORDS; w++) reach[row + w]! |= reach[other + w]!;
        if (m >= base && m < base + BLOCK_WORDS * 32) reach[row + ((m - base) >>> 5)]! |= 1 << ((m - base) & 31);
      }
    }
    for (let k = 0; k < n; k++) {
      const row = k * BLOCK_WORDS;
      for (let w = 0; w < BLOCK_WORDS; w++) {
        let bits = reach[row + w]!;
        while (bits !== 0) {
          const bit = 31 - Math.clz32(bits);
          bits ^= 1 << bit;
          waiting[k]! += 1;
          score[k]! += weight[base + w * 32 + bit]!;
        }
      }
    }
  }
  const ranked = Array.from({ length: n }, (_, k) => k)
    .filter((k) => waiting[k]! > 0)
    .sort(
      (a, b) =>
        score[b]! - score[a]! || waiting[b]! - waiting[a]! || weight[b]! - weight[a]! || tasks[open[a]!]!.createdSeq - tasks[open[b]!]!.createdSeq,
    );
  return {
    openTasks: n,
    items: ranked.slice(0, limit).map((k) => {
      const t = tasks[open[k]!]!;
      return { id: t.id, status: t.status, priority: t.priority, waiting: waiting[k]!, score: score[k]! };
    }),
  };
};
