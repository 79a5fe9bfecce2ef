import { computeCpm } from '../../algorithms/cpm.js';
import { openHardDependencies } from './guards.js';
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

/** Pending (or lease-expired), every hard dependency completed. */
export const isReady = (state: ProjectState, task: TaskNode, now: string): boolean => {
  const claimable = task.status === 'pending' || (task.status === 'in_progress' && task.lease !== null && task.lease.expiresAt <= now);
  if (!claimable) return false;
  return openHardDependencies(state, task).length === 0;
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
