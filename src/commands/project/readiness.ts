import { computeCpm } from '../../algorithms/cpm.js';
import { isReady as readyByFacts } from '../../algorithms/readiness.js';
import { openChildren, openHardDependencies } from './guards.js';
import type { ProjectState, TaskNode } from './project.js';

const PRIORITY_RANK = { low: 0, normal: 1, high: 2, critical: 3 } as const;

const slackCache = new WeakMap<ProjectState, { version: number; defaultEstimate: number; slack: Map<string, number> }>();

/**
 * Slack of every task by CPM over hard dependencies, less the project's duration, recomputed only when the schedule
 * changed. A task's slack is the duration less the longest chain through it, so this is minus that chain: the same
 * order as slack, and unmoved when a change elsewhere only moves the project's finish (a swarm's completions).
 */
export const slackOf = (state: ProjectState, defaultEstimate: number): Map<string, number> => {
  const cached = slackCache.get(state);
  if (cached && cached.version === state.scheduleVersion && cached.defaultEstimate === defaultEstimate) return cached.slack;
  const tasks = [...state.tasks.values()].map((t) => ({ id: t.id, estimate: t.fields.estimate, status: t.status }));
  const edges = [...state.tasks.values()].flatMap((t) => [...t.deps].map(([dependsOn, kind]) => ({ taskId: t.id, dependsOn, kind })));
  const { timings, duration } = computeCpm(tasks, edges, { defaultEstimate });
  const slack = new Map([...timings].map(([id, timing]) => [id, timing.slack - duration]));
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

type Key = { priority: number; slack: number; createdAt: string; ord: number };

const keyOf = (task: TaskNode, slack: Map<string, number>): Key => ({
  priority: PRIORITY_RANK[task.fields.priority],
  slack: slack.get(task.id) ?? 0,
  createdAt: task.createdAt,
  ord: task.ord,
});

/** Best first: priority, then least slack, then oldest (then the topological place). */
const compareKeys = (a: Key, b: Key): number =>
  b.priority - a.priority || a.slack - b.slack || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.ord - b.ord);

const sameKey = (a: Key, b: Key): boolean => a.priority === b.priority && a.slack === b.slack && a.ord === b.ord && a.createdAt === b.createdAt;

/**
 * The ready set (kept by `evolve`) in rank order, kept between claims: a claim walks it from `head`. New members are
 * inserted in place; members that left (claimed, completed, deleted) are passed over and dropped from the front. An
 * event that can move the schedule (estimates, edges, completions: `scheduleVersion`) recomputes the slack and
 * re-sorts only when some member's key moved.
 */
type Order = { version: number; defaultEstimate: number; list: TaskNode[]; head: number; keys: Map<string, Key> };
const orders = new WeakMap<ProjectState, Order>();

const isMember = (state: ProjectState, task: TaskNode): boolean => state.ready.has(task.id) && state.tasks.get(task.id) === task;

const insertSorted = (order: Order, task: TaskNode, key: Key): void => {
  let lo = order.head;
  let hi = order.list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(order.keys.get(order.list[mid]!.id)!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  order.list.splice(lo, 0, task);
  order.keys.set(task.id, key);
};

/** Drops members that left: all of them, or only those in front of the first live one. */
const compact = (state: ProjectState, order: Order, all: boolean): void => {
  if (all) {
    const list = order.list.slice(order.head).filter((task) => isMember(state, task));
    order.keys = new Map(list.map((task) => [task.id, order.keys.get(task.id)!]));
    order.list = list;
    order.head = 0;
    return;
  }
  while (order.head < order.list.length && !isMember(state, order.list[order.head]!)) order.keys.delete(order.list[order.head++]!.id);
  if (order.head > 1024 && order.head * 2 > order.list.length) {
    order.list = order.list.slice(order.head);
    order.head = 0;
  }
};

const sortAfresh = (state: ProjectState, defaultEstimate: number): Order => {
  const slack = slackOf(state, defaultEstimate);
  const keys = new Map<string, Key>();
  const list: TaskNode[] = [];
  for (const id of state.ready) {
    const task = state.tasks.get(id);
    if (!task) continue;
    keys.set(id, keyOf(task, slack));
    list.push(task);
  }
  list.sort((a, b) => compareKeys(keys.get(a.id)!, keys.get(b.id)!));
  const order = { version: state.scheduleVersion, defaultEstimate, list, head: 0, keys };
  orders.set(state, order);
  return order;
};

/** The ordered ready set, brought up to date with what `evolve` changed since the last claim. */
const readyOrder = (state: ProjectState, defaultEstimate: number): Order => {
  const order = orders.get(state);
  const { ids: added, overflow } = state.readyAdded;
  state.readyAdded.overflow = false;
  const fresh = added.splice(0);
  if (!order || overflow || order.defaultEstimate !== defaultEstimate || fresh.length * 2 > state.ready.size)
    return sortAfresh(state, defaultEstimate);
  if (order.version !== state.scheduleVersion) {
    compact(state, order, true);
    const slack = slackOf(state, defaultEstimate);
    if (order.list.some((task) => !sameKey(order.keys.get(task.id)!, keyOf(task, slack)))) return sortAfresh(state, defaultEstimate);
    order.version = state.scheduleVersion;
  }
  compact(state, order, false);
  if (fresh.length > 0) {
    const slack = slackOf(state, defaultEstimate);
    for (const id of fresh) {
      const task = state.tasks.get(id);
      if (!task || order.keys.has(id) || !state.ready.has(id)) continue;
      insertSorted(order, task, keyOf(task, slack));
    }
  }
  return order;
};

/**
 * Claimable tasks that `fits` accepts, best first (priority, then least slack, then oldest): the ready set in rank
 * order, merged with tasks whose lease lapsed before the sweeper returned them. Lazy: `fits` is asked only of the
 * tasks a claim walks past, so a claim costs its walk, not a ranking of the project.
 */
export function* rankReadyTasks(state: ProjectState, now: string, fits: (task: TaskNode) => boolean, defaultEstimate = 8): Generator<TaskNode> {
  const order = readyOrder(state, defaultEstimate);
  const lapsed: TaskNode[] = [];
  for (const id of state.leased) {
    const task = state.tasks.get(id);
    if (task && isReady(state, task, now)) lapsed.push(task);
  }
  const lapsedKeys = new Map<string, Key>();
  if (lapsed.length > 0) {
    const slack = slackOf(state, defaultEstimate);
    for (const task of lapsed) lapsedKeys.set(task.id, keyOf(task, slack));
    lapsed.sort((a, b) => compareKeys(lapsedKeys.get(a.id)!, lapsedKeys.get(b.id)!));
  }
  let next = 0;
  for (let i = order.head; i < order.list.length; i++) {
    const task = order.list[i]!;
    if (!isMember(state, task)) continue;
    while (next < lapsed.length && compareKeys(lapsedKeys.get(lapsed[next]!.id)!, order.keys.get(task.id)!) < 0) {
      const early = lapsed[next++]!;
      if (fits(early)) yield early;
    }
    if (fits(task)) yield task;
  }
  while (next < lapsed.length) {
    const late = lapsed[next++]!;
    if (fits(late)) yield late;
  }
}
