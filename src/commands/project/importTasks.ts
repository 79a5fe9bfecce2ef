import { conflict, unprocessable } from '../../errors.js';
import { TASK_FIELD_NAMES, type ProjectEvent, type TaskFields } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import type { DependencyKind, LinkKind, TaskStatus } from '../../events/vocabulary.js';
import type { Rule } from './rule.js';
import { linkKey, type ProjectState, type TaskNode } from './project.js';
import { taskCreated, type TaskInput } from './tree.js';

/**
 * One project's share of a file from another tracker (Taskmaster, Beads), already mapped to Vespera's vocabulary.
 * Items are named by their `key` (the source's id); `id` is a fresh id, used only when no task of the project
 * carries `metadata.source = {system, id: key}` yet. Parents come before their children.
 */
export type ImportItem = Readonly<{ key: string; id: string; parentKey: string | null; task: TaskInput; status: TaskStatus }>;
export type ImportEdge = Readonly<{ from: string; to: string; kind: DependencyKind }>;
export type ImportLink = Readonly<{ from: string; to: string; kind: LinkKind }>;

export type ImportTasks = Command<
  'ImportTasks',
  {
    projectId: string;
    /** Name and description of the project, when the import creates it. */
    project: { name: string; description: string };
    system: string;
    items: readonly ImportItem[];
    dependencies: readonly ImportEdge[];
    links: readonly ImportLink[];
  }
>;

const sourceOf = (task: TaskNode): { system?: unknown; id?: unknown } | undefined => {
  const source = task.fields.metadata['source'];
  return source && typeof source === 'object' ? (source as { system?: unknown; id?: unknown }) : undefined;
};

/** Tasks of the project imported from `system` before, by their source id. */
const importedBefore = (state: ProjectState, system: string): Map<string, TaskNode> => {
  const found = new Map<string, TaskNode>();
  for (const task of state.tasks.values()) {
    const source = sourceOf(task);
    if (source?.system === system && typeof source.id === 'string') found.set(source.id, task);
  }
  return found;
};

/** The fields of an item that differ from the task's (JSON equality, as UpdateTask compares). */
const changedFields = (task: TaskNode, input: TaskInput): Partial<TaskFields> => {
  const changes: Partial<TaskFields> = {};
  for (const field of TASK_FIELD_NAMES) {
    const value = input[field];
    if (value === undefined) continue;
    const normalised = Array.isArray(value) ? [...new Set(value)] : value;
    if (JSON.stringify(task.fields[field]) !== JSON.stringify(normalised)) (changes as Record<string, unknown>)[field] = normalised;
  }
  return changes;
};

/**
 * A dependency cycle among the project's edges plus the new ones, as ids from start back to start, or undefined.
 * Iterative three-colour DFS: a 10,000-task file must not overflow the stack.
 */
export const findCycle = (nodes: Iterable<string>, edges: ReadonlyMap<string, readonly string[]>): string[] | undefined => {
  const colour = new Map<string, 1 | 2>();
  for (const start of nodes) {
    if (colour.has(start)) continue;
    const path: string[] = [start];
    const cursors: number[] = [0];
    colour.set(start, 1);
    while (path.length > 0) {
      const at = path[path.length - 1]!;
      const next = edges.get(at) ?? [];
      const i = cursors[cursors.length - 1]!;
      if (i >= next.length) {
        colour.set(at, 2);
        path.pop();
        cursors.pop();
        continue;
      }
      cursors[cursors.length - 1] = i + 1;
      const to = next[i]!;
      const seen = colour.get(to);
      if (seen === 1) return [...path.slice(path.indexOf(to)), to];
      if (seen === undefined) {
        colour.set(to, 1);
        path.push(to);
        cursors.push(0);
      }
    }
  }
  return undefined;
};

/** Items so that parents come first and, where the hierarchy allows, dependencies before their dependents (cheap `ord`s). */
const creationOrder = (items: readonly ImportItem[], edges: readonly ImportEdge[]): ImportItem[] => {
  const byKey = new Map(items.map((item) => [item.key, item]));
  const dependents = new Map<string, string[]>();
  const waiting = new Map<string, number>(items.map((item) => [item.key, 0]));
  for (const edge of edges) {
    if (!byKey.has(edge.from) || !byKey.has(edge.to)) continue;
    dependents.set(edge.to, [...(dependents.get(edge.to) ?? []), edge.from]);
    waiting.set(edge.from, waiting.get(edge.from)! + 1);
  }
  const queue = items.filter((item) => waiting.get(item.key) === 0).map((item) => item.key);
  const topological: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const key = queue[i]!;
    topological.push(key);
    for (const dependent of dependents.get(key) ?? []) {
      const left = waiting.get(dependent)! - 1;
      waiting.set(dependent, left);
      if (left === 0) queue.push(dependent);
    }
  }
  const out: ImportItem[] = [];
  const placed = new Set<string>();
  const place = (key: string): void => {
    const chain: ImportItem[] = [];
    for (let at = byKey.get(key); at && !placed.has(at.key); at = at.parentKey === null ? undefined : byKey.get(at.parentKey)) {
      placed.add(at.key);
      chain.push(at);
    }
    out.push(...chain.reverse());
  };
  for (const key of topological) place(key);
  for (const item of items) place(item.key);
  return out;
};

/**
 * The whole import of one project as one decision: new tasks, changed fields and statuses of tasks imported before,
 * the dependencies and links they lack. Refused as a whole on a dependency cycle or a tree too deep, so a project is
 * imported all or nothing; the same file imported again decides nothing.
 */
export const importTasks: Rule<ImportTasks> = ({ data, metadata }, state, rules) => {
  const now = metadata.now;
  const projectId = data.projectId;
  const events: ProjectEvent[] = [];
  if (state.status === 'empty') {
    events.push({ type: 'ProjectCreated', data: { projectId, name: data.project.name, description: data.project.description, createdAt: now } });
  }
  const before = importedBefore(state, data.system);
  const idOf = new Map<string, string>();
  const depthOf = new Map<string, number>();
  const statusOf = new Map<string, TaskStatus>();
  for (const item of data.items) {
    const existing = before.get(item.key);
    idOf.set(item.key, existing ? existing.id : item.id);
    if (existing) depthOf.set(item.key, existing.depth);
  }
  // Dependencies: the project's own edges plus the new ones must stay acyclic.
  const newEdges = data.dependencies.flatMap((edge) => {
    const from = idOf.get(edge.from);
    const to = idOf.get(edge.to);
    if (from === undefined || to === undefined) return [];
    if (state.tasks.get(from)?.deps.get(to) === edge.kind) return [];
    return [{ from, to, kind: edge.kind, source: edge }];
  });
  const adjacency = new Map<string, string[]>();
  for (const task of state.tasks.values()) if (task.deps.size > 0) adjacency.set(task.id, [...task.deps.keys()]);
  for (const edge of newEdges) adjacency.set(edge.from, [...(adjacency.get(edge.from) ?? []), edge.to]);
  const cycle = findCycle([...adjacency.keys()], adjacency);
  if (cycle) {
    const keyOf = new Map([...idOf].map(([key, id]) => [id, key]));
    const named = cycle.map((id) => keyOf.get(id) ?? id);
    throw conflict(
      'DEPENDENCY_CYCLE',
      `The import would close the dependency cycle ${named.join(' → ')}.`,
      { cycle: named, taskIds: cycle },
      'Remove one dependency on the cycle from the file first.',
    );
  }

  for (const item of creationOrder(data.items, data.dependencies)) {
    const existing = before.get(item.key);
    if (existing) {
      const changes = changedFields(existing, item.task);
      if (Object.keys(changes).length > 0) events.push({ type: 'TaskUpdated', data: { taskId: existing.id, projectId, changes, updatedAt: now } });
      // A task someone holds a live claim on keeps its status: the claim's holder decides it now.
      const claimed = existing.lease !== null && existing.lease.expiresAt > now;
      if (existing.status !== item.status && !claimed) statusOf.set(existing.id, item.status);
      continue;
    }
    const parentId = item.parentKey === null ? null : (idOf.get(item.parentKey) ?? null);
    const depth = parentId === null ? 0 : (depthOf.get(item.parentKey!) ?? state.tasks.get(parentId)?.depth ?? 0) + 1;
    if (depth > rules.maxDepth) {
      throw unprocessable('DEPTH_LIMIT_EXCEEDED', `Task ${item.key} would sit at depth ${depth}; the limit is ${rules.maxDepth}.`, {
        taskId: item.key,
        depth,
        maxDepth: rules.maxDepth,
      });
    }
    depthOf.set(item.key, depth);
    events.push(taskCreated(projectId, item.id, parentId, item.task, now));
    if (item.status !== 'pending') statusOf.set(item.id, item.status);
  }
  for (const edge of newEdges) {
    events.push({ type: 'DependencyAdded', data: { taskId: edge.from, projectId, dependsOn: edge.to, kind: edge.kind, addedAt: now } });
  }
  const linked = new Set<string>();
  for (const link of data.links) {
    const from = idOf.get(link.from);
    const to = idOf.get(link.to);
    if (from === undefined || to === undefined || from === to) continue;
    const key = `${from} ${linkKey(link.kind, to)}`;
    if (linked.has(key) || state.tasks.get(from)?.links.has(linkKey(link.kind, to))) continue;
    linked.add(key);
    events.push({ type: 'TaskLinked', data: { taskId: from, projectId, kind: link.kind, target: to, linkedAt: now } });
  }
  // Statuses last, as the source states them: an import records where the work stands, not how it got there.
  for (const [taskId, to] of statusOf) {
    const from = state.tasks.get(taskId)?.status ?? 'pending';
    events.push({ type: 'TaskStatusChanged', data: { taskId, projectId, from, to, reason: `imported from ${data.system}`, changedAt: now } });
  }
  return events;
};
