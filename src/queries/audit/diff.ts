import { canonicalJson } from '../../util/canonical.js';
import { TASK_FIELD_NAMES } from '../../events/project.js';
import type { DependencyKind } from '../../events/vocabulary.js';
import type { TaskAsOf } from './fold.js';

/** What changed in a project between two points, task by task. Pure: two sets of task views in, the changes out. */

/** The fields a diff compares; derived ones (depth, ready, openDependencies, version, updatedAt) follow from these. */
export const DIFF_FIELDS = [
  ...TASK_FIELD_NAMES,
  'parentId',
  'status',
  'role',
  'claimedBy',
  'leaseExpiresAt',
  'result',
] as const satisfies readonly (keyof TaskAsOf)[];

export type FieldChange = { field: (typeof DIFF_FIELDS)[number]; before: unknown; after: unknown };
export type Edge = { dependsOn: string; kind: DependencyKind };
export type DependencyChanges = {
  added: Edge[];
  removed: Edge[];
  kindChanged: Array<{ dependsOn: string; before: DependencyKind; after: DependencyKind }>;
};

export type TaskDiff = {
  taskId: string;
  title: string;
  change: 'created' | 'deleted' | 'changed';
  /** The task at `from` (absent when created) and at `to` (absent when deleted). */
  before?: TaskAsOf;
  after?: TaskAsOf;
  /** Fields whose value differs (for a changed task). */
  changes: FieldChange[];
  dependencies: DependencyChanges;
};

const dependencyChanges = (before: readonly Edge[], after: readonly Edge[]): DependencyChanges => {
  const was = new Map(before.map((e) => [e.dependsOn, e.kind]));
  const now = new Map(after.map((e) => [e.dependsOn, e.kind]));
  const out: DependencyChanges = { added: [], removed: [], kindChanged: [] };
  for (const [dependsOn, kind] of now) {
    const old = was.get(dependsOn);
    if (old === undefined) out.added.push({ dependsOn, kind });
    else if (old !== kind) out.kindChanged.push({ dependsOn, before: old, after: kind });
  }
  for (const [dependsOn, kind] of was) if (!now.has(dependsOn)) out.removed.push({ dependsOn, kind });
  return out;
};

/** One task's change between two points, or undefined when it is the same (or absent at both). */
export const diffTask = (before: TaskAsOf | undefined, after: TaskAsOf | undefined): TaskDiff | undefined => {
  if (!before && !after) return undefined;
  const dependencies = dependencyChanges(before?.dependencies ?? [], after?.dependencies ?? []);
  if (!before) return { taskId: after!.id, title: after!.title, change: 'created', after: after!, changes: [], dependencies };
  if (!after) return { taskId: before.id, title: before.title, change: 'deleted', before, changes: [], dependencies };
  const changes: FieldChange[] = [];
  for (const field of DIFF_FIELDS) {
    if (canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null))
      changes.push({ field, before: before[field], after: after[field] });
  }
  const edgesMoved = dependencies.added.length + dependencies.removed.length + dependencies.kindChanged.length > 0;
  if (changes.length === 0 && !edgesMoved) return undefined;
  return { taskId: after.id, title: after.title, change: 'changed', changes, dependencies };
};

/** Every task that differs, in id order. */
export const diffTasks = (before: ReadonlyMap<string, TaskAsOf>, after: ReadonlyMap<string, TaskAsOf>): TaskDiff[] => {
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
  const out: TaskDiff[] = [];
  for (const id of ids) {
    const change = diffTask(before.get(id), after.get(id));
    if (change) out.push(change);
  }
  return out;
};
