/**
 * 6. The decider's AddDependency decision (cycle check, Pearce–Kelly order) at 100,000 tasks / 300,000 edges.
 * The state is folded directly with `evolve` (no store). Graph: a random DAG whose edges point from a task to an
 * earlier-created one ("uniform": any earlier task; "local": one of the 1,000 created just before, like a tree).
 */
import { projectDecider } from '../src/commands/project/decider.js';
import type { AddDependency } from '../src/commands/project/dependencies.js';
import { initialState, evolve, type ProjectState } from '../src/commands/project/project.js';
import type { ProjectEvent } from '../src/events/project.js';
import type { StoredEvent } from '../src/events/types.js';
import { below, gc, info, mean, median, nowMs, percentile, round, rssMb, type BenchOptions, type Result, type Row } from './lib.js';
import { mulberry32 } from '../test/support/random.js';

const NOW = '2025-01-01T00:00:00.000Z';
const META = { actor: 'bench', tool: 'bench', commandId: 'c', correlationId: 'c', schemaVersion: 1 };

const build = (tasks: number, edges: number, shape: 'uniform' | 'local', random: () => number) => {
  const state = initialState();
  let revision = -1;
  const apply = (event: ProjectEvent) =>
    evolve(state, {
      ...event,
      id: '',
      metadata: META,
      streamId: 'project-bench',
      revision: ++revision,
      position: revision + 1,
      recordedAt: NOW,
    } as StoredEvent<ProjectEvent>);
  apply({ type: 'ProjectCreated', data: { projectId: 'bench', name: 'bench', description: '', createdAt: NOW } });
  const ids = Array.from({ length: tasks }, (_, i) => `t${i}`);
  for (const id of ids) {
    apply({
      type: 'TaskCreated',
      data: {
        taskId: id,
        projectId: 'bench',
        parentId: null,
        title: id,
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
    });
  }
  let added = 0;
  while (added < edges) {
    const j = 1 + Math.floor(random() * (tasks - 1));
    const i = shape === 'uniform' ? Math.floor(random() * j) : Math.max(0, j - 1 - Math.floor(random() * 1000));
    const task = state.tasks.get(ids[j]!)!;
    if (task.deps.has(ids[i]!)) continue;
    apply({ type: 'DependencyAdded', data: { taskId: ids[j]!, projectId: 'bench', dependsOn: ids[i]!, kind: 'hard', addedAt: NOW } });
    added++;
  }
  return { state, ids };
};

type Sample = { ms: number; refused: boolean; backward: boolean };

const measure = (state: ProjectState, ids: string[], random: () => number, count: number, budgetMs: number) => {
  const { decide } = projectDecider();
  const command = (taskId: string, dependsOn: string): AddDependency => ({
    type: 'AddDependency',
    data: { taskId, dependsOn, kind: 'hard' },
    metadata: { now: NOW, actor: 'bench', tool: 'bench', commandId: 'x' },
  });
  const time = (taskId: string, dependsOn: string): Sample => {
    const t0 = nowMs();
    let refused = false;
    try {
      decide(command(taskId, dependsOn), state);
    } catch (error) {
      if ((error as { code?: string }).code !== 'DEPENDENCY_CYCLE') throw error;
      refused = true;
    }
    const ms = nowMs() - t0;
    const task = state.tasks.get(taskId)!;
    const target = state.tasks.get(dependsOn)!;
    return { ms, refused, backward: target.ord > task.ord };
  };
  const pair = () => {
    for (;;) {
      const a = ids[Math.floor(random() * ids.length)]!;
      const b = ids[Math.floor(random() * ids.length)]!;
      if (a !== b && !state.tasks.get(a)!.deps.has(b)) return [a, b] as const;
    }
  };
  /** A task reached from `from` by walking 1–5 "is depended on by" hops: depending on it closes a cycle. */
  const cyclePair = (): readonly [string, string] | undefined => {
    const from = ids[Math.floor(random() * ids.length)]!;
    let at = from;
    const hops = 1 + Math.floor(random() * 5);
    for (let h = 0; h < hops; h++) {
      const dependents = [...state.tasks.get(at)!.dependents];
      if (dependents.length === 0) break;
      at = dependents[Math.floor(random() * dependents.length)]!;
    }
    return at === from || state.tasks.get(from)!.deps.has(at) ? undefined : [from, at];
  };
  const run = (make: () => readonly [string, string] | undefined) => {
    const out: Sample[] = [];
    const started = nowMs();
    while (out.length < count && nowMs() - started < budgetMs) {
      const p = make();
      if (p) out.push(time(p[0], p[1]));
    }
    return out;
  };
  for (let i = 0; i < 200; i++) {
    const [a, b] = pair();
    time(a, b);
  }
  gc();
  const measured = {
    forward: run(() => {
      const [a, b] = pair();
      return state.tasks.get(a)!.ord > state.tasks.get(b)!.ord ? [a, b] : [b, a];
    }),
    cycles: run(cyclePair),
    random: run(pair),
  };
  // The categories are what their rows say, or the figures mean nothing: (b) closes a cycle, so every sample
  // must have been refused; (a) depends on an earlier task in the topological order, so none may be.
  const wronglyAccepted = measured.cycles.filter((s) => !s.refused).length;
  const wronglyRefused = measured.forward.filter((s) => s.refused).length;
  if (measured.cycles.length === 0 || wronglyAccepted > 0)
    throw new Error(`cycleCheck: ${wronglyAccepted} of ${measured.cycles.length} cycle-closing dependencies were accepted`);
  if (wronglyRefused > 0) throw new Error(`cycleCheck: ${wronglyRefused} of ${measured.forward.length} acyclic dependencies were refused as cycles`);
  return measured;
};

const stats = (samples: readonly Sample[]) => {
  const ms = samples.map((s) => s.ms);
  return { n: samples.length, p50: percentile(ms, 50), p99: percentile(ms, 99), mean: mean(ms), max: Math.max(...ms) };
};

const categoryRows = (label: string, runs: ReadonlyArray<ReturnType<typeof stats>>, rows: Row[], figures: Record<string, number>, key: string) => {
  const p50 = median(runs.map((r) => r.p50));
  const p99 = median(runs.map((r) => r.p99));
  const avg = median(runs.map((r) => r.mean));
  const max = median(runs.map((r) => r.max));
  const n = runs[0]?.n ?? 0;
  rows.push(info(`${label} (n=${n}) p50`, round(p50, 4), 'ms'));
  rows.push(below(`${label} p99`, round(p99, 4), 1, 'ms'));
  rows.push(info(`${label} mean / max`, `${round(avg, 4)} / ${round(max, 3)} ms`));
  Object.assign(figures, {
    [`${key}P50Ms`]: round(p50, 5),
    [`${key}P99Ms`]: round(p99, 5),
    [`${key}MeanMs`]: round(avg, 5),
    [`${key}MaxMs`]: round(max, 4),
    [`${key}N`]: n,
  });
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const tasks = opts.quick ? 10_000 : 100_000;
  const edges = tasks * 3;
  const count = opts.quick ? 300 : 1000;
  const rows: Row[] = [];
  const figures: Record<string, number> = {};
  for (const shape of ['uniform', 'local'] as const) {
    gc();
    const t0 = nowMs();
    const { state, ids } = build(tasks, edges, shape, mulberry32(42));
    const buildMs = nowMs() - t0;
    const rss = rssMb();
    const passes = Array.from({ length: opts.reps }, (_, r) => measure(state, ids, mulberry32(1000 + r), count, 5_000));
    const all = passes.map((p) => stats(p.random));
    const prefix = `[${shape}]`;
    rows.push(info(`${prefix} fold ${tasks.toLocaleString('en-US')} tasks + ${edges.toLocaleString('en-US')} edges`, round(buildMs, 0), 'ms'));
    rows.push(info(`${prefix} RSS with the folded state`, rss, 'MB'));
    categoryRows(
      `${prefix} (a) acyclic, dependsOn earlier in order`,
      passes.map((p) => stats(p.forward)),
      rows,
      figures,
      `${shape}Acyclic`,
    );
    categoryRows(
      `${prefix} (b) closes a cycle (1–5 hops, refused)`,
      passes.map((p) => stats(p.cycles)),
      rows,
      figures,
      `${shape}Cycle`,
    );
    categoryRows(`${prefix} (c) random pair, either direction`, all, rows, figures, `${shape}Random`);
    const refusedShare = median(passes.map((p) => p.random.filter((s) => s.refused).length / Math.max(1, p.random.length)));
    const accepted = passes.map((p) => stats(p.random.filter((s) => !s.refused && s.backward)));
    const refused = passes.map((p) => stats(p.random.filter((s) => s.refused)));
    rows.push(info(`${prefix} (c) share refused as cycles`, `${round(refusedShare * 100, 1)} %`));
    rows.push(
      info(
        `${prefix} (c) accepted after a search: p50 / p99`,
        `${round(median(accepted.map((a) => a.p50)), 4)} / ${round(median(accepted.map((a) => a.p99)), 4)} ms (n=${accepted[0]?.n ?? 0})`,
      ),
    );
    rows.push(
      info(
        `${prefix} (c) refused: p50 / p99`,
        `${round(median(refused.map((a) => a.p50)), 4)} / ${round(median(refused.map((a) => a.p99)), 4)} ms (n=${refused[0]?.n ?? 0})`,
      ),
    );
    Object.assign(figures, { [`${shape}BuildMs`]: round(buildMs, 0), [`${shape}RssMb`]: rss, [`${shape}RefusedShare`]: round(refusedShare, 4) });
  }
  return {
    name: 'cycleCheck',
    setup: `decide(AddDependency) on a ProjectState folded with evolve (no store, no server, no HTTP), every (b) sample checked refused and every (a) sample checked accepted, ${tasks.toLocaleString('en-US')} tasks / ${edges.toLocaleString('en-US')} random DAG edges; ≤ ${count} decisions per category per pass (5 s budget); median of ${opts.reps} passes`,
    rows,
    figures,
  };
};
