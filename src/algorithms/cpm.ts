/**
 * Critical Path Method over the hard dependencies of a set of tasks. Pure: no I/O, no clock, no imports.
 * Durations are the remaining work in hours: done tasks count 0, a task without an estimate counts the default.
 */

export type CpmTask = { id: string; estimate: number | null; status: string; createdSeq?: number };
export type CpmEdge = { taskId: string; dependsOn: string; kind: 'hard' | 'soft' };
export type CpmTiming = {
  earliestStart: number;
  earliestFinish: number;
  latestStart: number;
  latestFinish: number;
  slack: number;
  duration: number;
  estimated: boolean;
  critical: boolean;
};
export type CpmResult = { duration: number; timings: Map<string, CpmTiming>; criticalChains: string[][]; missingEstimates: string[] };

const EPSILON = 1e-9;
const MAX_CHAINS = 10;
/** Bounds the chain search: every critical task has a critical successor, so the walk rarely backtracks. */
const MAX_CHAIN_STEPS = 200_000;

export const isDone = (status: string): boolean => status === 'completed' || status === 'cancelled';

/** Successor lists in compressed form: `targets[offsets[i]..offsets[i+1]]` are the tasks that wait on task i. */
type Csr = { offsets: Int32Array; targets: Int32Array; inDegree: Int32Array };

const buildCsr = (n: number, from: Int32Array, to: Int32Array, count: number): Csr => {
  const offsets = new Int32Array(n + 1);
  const inDegree = new Int32Array(n);
  for (let e = 0; e < count; e++) {
    offsets[from[e]! + 1]! += 1;
    inDegree[to[e]!]! += 1;
  }
  for (let i = 0; i < n; i++) offsets[i + 1]! += offsets[i]!;
  const fill = offsets.slice(0, n);
  const targets = new Int32Array(count);
  for (let e = 0; e < count; e++) targets[fill[from[e]!]!++] = to[e]!;
  return { offsets, targets, inDegree };
};

/** Kahn's algorithm; ties go to the earlier-created task so the order (and the chains) are deterministic. */
const topologicalOrder = (n: number, csr: Csr, tasks: readonly CpmTask[]): Int32Array => {
  const inDegree = csr.inDegree.slice();
  const order = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) if (inDegree[i] === 0) order[tail++] = i;
  while (head < tail) {
    const u = order[head++]!;
    for (let k = csr.offsets[u]!; k < csr.offsets[u + 1]!; k++) {
      const v = csr.targets[k]!;
      if (--inDegree[v]! === 0) order[tail++] = v;
    }
  }
  if (tail < n) {
    const stuck = tasks
      .filter((_, i) => inDegree[i]! > 0)
      .slice(0, 10)
      .map((t) => t.id);
    throw new Error(`computeCpm: the hard dependencies form a cycle through ${stuck.join(', ')}`);
  }
  return order;
};

export const computeCpm = (tasks: readonly CpmTask[], edges: readonly CpmEdge[], opts: { defaultEstimate: number }): CpmResult => {
  const n = tasks.length;
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) index.set(tasks[i]!.id, i);

  // Edge dependsOn → taskId: the dependency must finish before the task starts.
  const from = new Int32Array(edges.length);
  const to = new Int32Array(edges.length);
  let count = 0;
  for (const edge of edges) {
    if (edge.kind !== 'hard') continue;
    const u = index.get(edge.dependsOn);
    const v = index.get(edge.taskId);
    if (u === undefined || v === undefined || u === v) continue;
    from[count] = u;
    to[count] = v;
    count++;
  }
  const csr = buildCsr(n, from, to, count);
  const order = topologicalOrder(n, csr, tasks);

  const duration = new Float64Array(n);
  const estimated = new Uint8Array(n);
  const missingEstimates: string[] = [];
  for (let i = 0; i < n; i++) {
    const task = tasks[i]!;
    const has = task.estimate !== null && Number.isFinite(task.estimate);
    estimated[i] = has ? 1 : 0;
    if (!has) missingEstimates.push(task.id);
    duration[i] = isDone(task.status) ? 0 : has ? Math.max(0, task.estimate!) : opts.defaultEstimate;
  }

  const es = new Float64Array(n);
  const ef = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const u = order[k]!;
    ef[u] = es[u]! + duration[u]!;
    if (ef[u]! > total) total = ef[u]!;
    for (let e = csr.offsets[u]!; e < csr.offsets[u + 1]!; e++) {
      const v = csr.targets[e]!;
      if (ef[u]! > es[v]!) es[v] = ef[u]!;
    }
  }
  const lf = new Float64Array(n).fill(total);
  const ls = new Float64Array(n);
  for (let k = n - 1; k >= 0; k--) {
    const u = order[k]!;
    for (let e = csr.offsets[u]!; e < csr.offsets[u + 1]!; e++) {
      const v = csr.targets[e]!;
      if (ls[v]! < lf[u]!) lf[u] = ls[v]!;
    }
    ls[u] = lf[u]! - duration[u]!;
  }

  const timings = new Map<string, CpmTiming>();
  const critical = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const slack = ls[i]! - es[i]!;
    critical[i] = Math.abs(slack) <= EPSILON ? 1 : 0;
    timings.set(tasks[i]!.id, {
      earliestStart: es[i]!,
      earliestFinish: ef[i]!,
      latestStart: ls[i]!,
      latestFinish: lf[i]!,
      slack: critical[i] ? 0 : slack,
      duration: duration[i]!,
      estimated: estimated[i] === 1,
      critical: critical[i] === 1,
    });
  }

  return { duration: total, timings, criticalChains: criticalChains(tasks, csr, order, { es, ef, critical, total }), missingEstimates };
};

/**
 * Paths of open critical tasks from one that can start at once to one that ends the project, following
 * only edges without a gap (finish of one = start of the next). Done tasks (0 hours) are left out: the
 * chains describe the work that remains. At most ten chains, found in topological order.
 */
const criticalChains = (
  tasks: readonly CpmTask[],
  csr: Csr,
  order: Int32Array,
  t: { es: Float64Array; ef: Float64Array; critical: Uint8Array; total: number },
): string[][] => {
  // Done tasks are walked through (a reopened dependency can leave one mid-chain) but not reported.
  const onChain = (i: number) => t.critical[i] === 1 && (!isDone(tasks[i]!.status) || t.es[i]! > EPSILON);
  const tight = (u: number, v: number) => onChain(u) && onChain(v) && Math.abs(t.es[v]! - t.ef[u]!) <= EPSILON;
  // A zero-hour milestone before a start would otherwise begin a second, longer copy of the same chain.
  const continues = new Uint8Array(order.length);
  for (let u = 0; u < order.length; u++)
    for (let e = csr.offsets[u]!; e < csr.offsets[u + 1]!; e++) if (tight(u, csr.targets[e]!)) continues[csr.targets[e]!] = 1;
  const chains: string[][] = [];
  let steps = 0;
  for (let k = 0; k < order.length && chains.length < MAX_CHAINS; k++) {
    const start = order[k]!;
    if (!onChain(start) || isDone(tasks[start]!.status) || t.es[start]! > EPSILON || continues[start]) continue;
    // Iterative DFS: path holds task indices, cursor the next successor edge to try for each of them.
    const path = [start];
    const cursor = [csr.offsets[start]!];
    while (path.length > 0 && chains.length < MAX_CHAINS && steps < MAX_CHAIN_STEPS) {
      steps++;
      const depth = path.length - 1;
      const u = path[depth]!;
      if (Math.abs(t.ef[u]! - t.total) <= EPSILON && cursor[depth] === csr.offsets[u]!) {
        chains.push(path.filter((i) => !isDone(tasks[i]!.status)).map((i) => tasks[i]!.id));
        cursor[depth] = csr.offsets[u + 1]!;
      }
      let advanced = false;
      while (cursor[depth]! < csr.offsets[u + 1]!) {
        const v = csr.targets[cursor[depth]!++]!;
        if (tight(u, v)) {
          path.push(v);
          cursor.push(csr.offsets[v]!);
          advanced = true;
          break;
        }
      }
      if (!advanced) {
        path.pop();
        cursor.pop();
      }
    }
  }
  return chains;
};
