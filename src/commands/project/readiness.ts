import { computeCpm } from '../../algorithms/cpm.js';
import { isReady as readyByFacts } from '../../algorithms/readiness.js';
import { openChildren, openHardDependencies } from './guards.js';
import type { ProjectState, TaskNode } from './project.js';

const PRIORITY_RANK = { low: 0, normal: 1, high: 2, critical: 3 } as const;

const slackCache = new WeakMap<ProjectState, { version: number; defaultEstimate: number; slack: Map<string, number> }>();

/** Slack of every task by CPM over hard dependencies, recomputed only when the schedule changed. */
export const slackOf = (state: ProjectState, defaultEstimate: number): Map<string, number> => {
  const cached = slackCache.get(state);
  if (cached && cached.version === state.scheduleVersion && cached.defaultEstimate === defaultEstimate) return cached.slack;
  const tasks = [...state.tasks.values()].map((t) => ({ id: t.id, estimate: t.fields.estimate, status: t.status }));
  const edges = [...state.tasks.values()].flatMap((t) => [...t.deps].map(([dependsOn, kind]) => ({ taskId: t.id, dependsOn, kind })));
  const { timings } = computeCpm(tasks, edges, { defaultEstimate });
  const slack = new Map([...timings].map(([id, timing]) => [id, timing.slack]));
  slackCache.set(state, { version: state.scheduleVersion, defaultEstimate, slack });
  return slack;
};

/** The shared rule (algorithms/readiness.ts) over the folded state: pending or lease-lapsed, no open hard dependency, no open child. */
export const isReady = (state: ProjectState, task: TaskNode, now: string): boolean => {
  const leaseLapsed = task.lease !== null && task.lease.expiresAt <= now;
  if (!(task.status === 'pending' || (task.status === 'in_progress' && leaseLapsed))) return false;
  return readyByFacts({
    status: task.status,
    leaseLapsed,
    openHardDependencies: openHardDependencies(state, task).length,
    openChildren: openChildren(state, task).length,
  });
};

/** Ready tasks that `fits` accepts, best first: priority, then least slack, then oldest. */
export const rankReadyTasks = (state: ProjectState, now: string, fits: (task: TaskNode) => boolean, defaultEstimate = 8): TaskNode[] => {
  const candidates = [...state.tasks.values()].filter((t) => isReady(state, t, now) && fits(t));
  if (candidates.length <= 1) return candidates;
  const slack = slackOf(state, defaultEstimate);
  return candidates.sort(
    (a, b) =>
      PRIORITY_RANK[b.fields.priority] - PRIORITY_RANK[a.fields.priority] ||
      (slack.get(a.id) ?? 0) - (slack.get(b.id) ?? 0) ||
      (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.ord - b.ord),
  );
};
