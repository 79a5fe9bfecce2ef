import { badRequest, notFound } from '../../errors.js';
import { rankBottlenecks, type Bottleneck } from './bottlenecks.js';
import { computeCpm, isDone, type CpmEdge } from '../../algorithms/cpm.js';
import { slipImpact, type SlipImpact } from '../../algorithms/slipImpact.js';
import type { ProjectIndex } from './projectIndex.js';

/** What the analytics need, built once in app.ts. */
export type AnalyticsDeps = Readonly<{
  projectOf: (taskId: string) => string | undefined;
  /** The project's tasks and dependencies, indexed (cached while the read model stands still). */
  project: (projectId: string) => ProjectIndex;
  /** Hours assumed for a task without an estimate. */
  defaultEstimate: number;
}>;

const round = (hours: number) => Math.round(hours * 1000) / 1000;

const locate = (deps: AnalyticsDeps, taskId: string): { project: ProjectIndex; at: number } => {
  const projectId = deps.projectOf(taskId);
  const project = projectId === undefined ? undefined : deps.project(projectId);
  const at = project?.index.get(taskId);
  if (!project || at === undefined) throw notFound('TASK_NOT_FOUND', `Task ${taskId} does not exist.`, { taskId });
  return { project, at };
};

// ─── analyze_task_dependencies ──────────────────────────────────────────────────────────────────

export type Related = { id: string; distance: number; kind: 'hard' | 'soft'; status: string };

export type TaskAnalysis = {
  taskId: string;
  status: string;
  ready: boolean;
  openHardDependencies: string[];
  dependencies: { direct: number; transitive: number; items: Related[]; truncated: boolean };
  dependents: { direct: number; transitive: number; items: Related[]; truncated: boolean };
  /** The longest chain of hard dependencies ending at this task, earliest first, and its remaining hours. */
  longestChainAbove: { tasks: string[]; hours: number };
};

export const analyzeTaskDependencies = (deps: AnalyticsDeps, taskId: string, opts: { depth?: number; limit?: number } = {}): TaskAnalysis => {
  const { project, at } = locate(deps, taskId);
  const depth = opts.depth ?? 10;
  const limit = opts.limit ?? 50;
  const side = (direction: 'dependencies' | 'dependents') => {
    const reached = project.walk(at, direction, depth);
    const adjacency = direction === 'dependencies' ? project.deps : project.dependents;
    // The kind of a transitive item is the kind of the first edge that reached it: hard only when every step was.
    const hardReach = new Set(project.walk(at, direction, depth, true).map((r) => r.at));
    const items = reached.slice(0, limit).map(({ at: i, distance }) => {
      const t = project.task(i);
      return { id: t.id, distance, kind: hardReach.has(i) ? ('hard' as const) : ('soft' as const), status: t.status };
    });
    return { direct: adjacency[at]!.length, transitive: reached.length, items, truncated: reached.length > limit };
  };
  const task = project.task(at);
  const openHardDependencies = project.deps[at]!.filter((s) => s.hard && project.task(s.to).status !== 'completed').map((s) => project.task(s.to).id);
  return {
    taskId,
    status: task.status,
    ready: task.status === 'pending' && openHardDependencies.length === 0,
    openHardDependencies,
    dependencies: side('dependencies'),
    dependents: side('dependents'),
    longestChainAbove: longestChainAbove(project, at, deps.defaultEstimate),
  };
};

/** Longest (in remaining hours, then in tasks) hard-dependency chain ending at `at`, by CPM over its ancestors. */
const longestChainAbove = (project: ProjectIndex, at: number, defaultEstimate: number): { tasks: string[]; hours: number } => {
  const members = [at, ...project.walk(at, 'dependencies', Number.MAX_SAFE_INTEGER, true).map((r) => r.at)];
  const set = new Set(members);
  const tasks = members.map((i) => project.task(i));
  const edges: CpmEdge[] = [];
  for (const i of members)
    for (const s of project.deps[i]!)
      if (s.hard && set.has(s.to)) edges.push({ taskId: project.task(i).id, dependsOn: project.task(s.to).id, kind: 'hard' });
  const cpm = computeCpm(tasks, edges, { defaultEstimate });
  // Walk back from the task along predecessors whose finish is exactly its start.
  const chain = [at];
  for (let u = at; ;) {
    const start = cpm.timings.get(project.task(u).id)!.earliestStart;
    const previous = project.deps[u]!.find((s) => s.hard && Math.abs(cpm.timings.get(project.task(s.to).id)!.earliestFinish - start) < 1e-9);
    if (!previous) break;
    chain.push(previous.to);
    u = previous.to;
  }
  return { tasks: chain.reverse().map((i) => project.task(i).id), hours: round(cpm.timings.get(project.task(at).id)!.earliestFinish) };
};

// ─── get_critical_path ──────────────────────────────────────────────────────────────────────────

export type TimingRow = {
  id: string;
  es: number;
  ef: number;
  ls: number;
  lf: number;
  slack: number;
  hours: number;
  estimated: boolean;
  critical: boolean;
};

export type CriticalPath = {
  projectId: string;
  rootTaskId: string | null;
  /** Expected remaining duration in hours. */
  duration: number;
  tasks: number;
  openTasks: number;
  criticalTasks: number;
  criticalChains: string[][];
  /** Tasks without an estimate (they count `defaultEstimate` hours). */
  missingEstimates: { count: number; defaultEstimate: number; sample: string[] };
  /** The open tasks with the least slack, critical ones first. */
  timings: TimingRow[];
};

const schedule = (project: ProjectIndex, rootTaskId: string | undefined) => {
  if (rootTaskId === undefined) return { tasks: project.tasks, edges: project.graph.edges };
  const members = project.subtree(rootTaskId);
  return {
    tasks: project.tasks.filter((t) => members.has(t.id)),
    edges: project.graph.edges.filter((e) => members.has(e.taskId) && members.has(e.dependsOn)),
  };
};

export const getCriticalPath = (deps: AnalyticsDeps, input: { projectId?: string; rootTaskId?: string; limit?: number }): CriticalPath => {
  let projectId = input.projectId;
  if (input.rootTaskId !== undefined) {
    const owner = deps.projectOf(input.rootTaskId);
    if (owner === undefined) throw notFound('TASK_NOT_FOUND', `Task ${input.rootTaskId} does not exist.`, { taskId: input.rootTaskId });
    if (projectId !== undefined && owner !== projectId) {
      throw badRequest('TASK_NOT_IN_PROJECT', `Task ${input.rootTaskId} belongs to project ${owner}, not ${projectId}.`, {
        taskId: input.rootTaskId,
        projectId,
      });
    }
    projectId = owner;
  }
  projectId ??= 'default';
  const project = deps.project(projectId);
  const { tasks, edges } = schedule(project, input.rootTaskId);
  const cpm = computeCpm(tasks, edges, { defaultEstimate: deps.defaultEstimate });
  const open = tasks.filter((t) => !isDone(t.status));
  const rows = open
    .map((t) => ({ t, timing: cpm.timings.get(t.id)! }))
    .sort((a, b) => a.timing.slack - b.timing.slack || a.timing.earliestStart - b.timing.earliestStart || a.t.createdSeq - b.t.createdSeq);
  let criticalTasks = 0;
  for (const timing of cpm.timings.values()) if (timing.critical) criticalTasks++;
  return {
    projectId,
    rootTaskId: input.rootTaskId ?? null,
    duration: round(cpm.duration),
    tasks: tasks.length,
    openTasks: open.length,
    criticalTasks,
    criticalChains: cpm.criticalChains,
    missingEstimates: { count: cpm.missingEstimates.length, defaultEstimate: deps.defaultEstimate, sample: cpm.missingEstimates.slice(0, 10) },
    timings: rows.slice(0, input.limit ?? 20).map(({ t, timing }) => ({
      id: t.id,
      es: round(timing.earliestStart),
      ef: round(timing.earliestFinish),
      ls: round(timing.latestStart),
      lf: round(timing.latestFinish),
      slack: round(timing.slack),
      hours: round(timing.duration),
      estimated: timing.estimated,
      critical: timing.critical,
    })),
  };
};

// ─── get_task_impact ────────────────────────────────────────────────────────────────────────────

export const MAX_SLIP_HOURS = 10_000;

export const getTaskImpact = (deps: AnalyticsDeps, taskId: string, hours: number, opts: { limit?: number } = {}): SlipImpact => {
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_SLIP_HOURS) {
    throw badRequest('INVALID_HOURS', `hours must be more than 0 and at most ${MAX_SLIP_HOURS}.`, { hours });
  }
  const { project } = locate(deps, taskId);
  const impact = slipImpact(project.tasks, project.graph.edges, taskId, hours, { defaultEstimate: deps.defaultEstimate, limit: opts.limit ?? 20 });
  return {
    ...impact,
    absorbed: round(impact.absorbed),
    durationBefore: round(impact.durationBefore),
    durationAfter: round(impact.durationAfter),
    moved: impact.moved.map((m) => ({ id: m.id, shift: round(m.shift), slackBefore: round(m.slackBefore) })),
  };
};

// ─── find_bottlenecks ───────────────────────────────────────────────────────────────────────────

export const findBottlenecks = (
  deps: AnalyticsDeps,
  projectId: string,
  limit = 10,
): { projectId: string; openTasks: number; items: Bottleneck[] } => ({
  projectId,
  ...rankBottlenecks(deps.project(projectId), limit),
});

// ─── find_dependency_path ───────────────────────────────────────────────────────────────────────

export type DependencyPath = {
  from: string;
  to: string;
  /** `dependsOn`: from depends (transitively) on to; `dependedOnBy`: to depends on from; `none`. */
  direction: 'dependsOn' | 'dependedOnBy' | 'none';
  path: string[];
  hops: number;
};

export const findDependencyPath = (deps: AnalyticsDeps, from: string, to: string): DependencyPath => {
  const a = locate(deps, from);
  const b = locate(deps, to);
  const none: DependencyPath = { from, to, direction: 'none', path: [], hops: 0 };
  if (a.project !== b.project || from === to) return none;
  const project = a.project;
  const search = (start: number, goal: number): number[] | null => {
    const previous = new Int32Array(project.tasks.length).fill(-1);
    previous[start] = start;
    const queue = [start];
    for (let h = 0; h < queue.length; h++) {
      const u = queue[h]!;
      if (u === goal) break;
      for (const { to: v } of project.deps[u]!) {
        if (previous[v] !== -1) continue;
        previous[v] = u;
        queue.push(v);
      }
    }
    if (previous[goal] === -1) return null;
    const path = [goal];
    while (path.at(-1) !== start) path.push(previous[path.at(-1)!]!);
    return path.reverse();
  };
  const forward = search(a.at, b.at);
  const found = forward ?? search(b.at, a.at);
  if (!found) return none;
  const ids = found.map((i) => project.task(i).id);
  return { from, to, direction: forward ? 'dependsOn' : 'dependedOnBy', path: ids, hops: ids.length - 1 };
};

// ─── dashboard extras ───────────────────────────────────────────────────────────────────────────

export type DashboardExtras = {
  criticalPathHours: number;
  criticalPathTasks: number;
  readyByRole: Record<string, number>;
  topBottlenecks: Array<{ id: string; waiting: number; score: number }>;
};

/** Small additions for the project dashboard (a few hundred bytes of JSON). Unassigned ready tasks count under `unassigned`. */
export const dashboardExtras = (deps: AnalyticsDeps, projectId: string): DashboardExtras => {
  const project = deps.project(projectId);
  const cpm = computeCpm(project.tasks, project.graph.edges, { defaultEstimate: deps.defaultEstimate });
  const readyByRole: Record<string, number> = {};
  project.tasks.forEach((t, i) => {
    if (t.status !== 'pending') return;
    if (project.deps[i]!.some((s) => s.hard && project.task(s.to).status !== 'completed')) return;
    const role = t.role ?? 'unassigned';
    readyByRole[role] = (readyByRole[role] ?? 0) + 1;
  });
  return {
    criticalPathHours: round(cpm.duration),
    criticalPathTasks: cpm.criticalChains[0]?.length ?? 0,
    readyByRole,
    topBottlenecks: rankBottlenecks(project, 3).items.map(({ id, waiting, score }) => ({ id, waiting, score })),
  };
};
