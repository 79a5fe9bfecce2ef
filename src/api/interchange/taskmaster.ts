import { badRequest, notFound } from '../../errors.js';
import type { Priority, TaskStatus } from '../../events/vocabulary.js';
import type { ProjectSnapshot, SnapshotTask } from '../../queries/projectSnapshot.js';
import {
  fitDescription,
  fitTags,
  fitTitle,
  isObject,
  malformedField,
  parseJson,
  present,
  requireSize,
  unique,
  type SourceProject,
} from './source.js';
import type { ImportEdge } from '../../commands/project/importTasks.js';

/**
 * Taskmaster's `.taskmaster/tasks/tasks.json`: `{ <tag>: { tasks: [...], metadata } }` (older files: `{ tasks, metadata }`,
 * read as the tag `master`). A task has subtasks one level deep; a task's dependencies name tasks (`3`) or subtasks
 * (`"3.2"`); a subtask's bare number names a sibling (`1` in task 3 is `3.1`), as Taskmaster itself reads them.
 */

export const SYSTEM = 'taskmaster';

const STATUS_IN: Readonly<Record<string, TaskStatus>> = {
  pending: 'pending',
  'in-progress': 'in_progress',
  review: 'review',
  done: 'completed',
  completed: 'completed',
  deferred: 'blocked',
  cancelled: 'cancelled',
  blocked: 'blocked',
};
const STATUS_OUT: Readonly<Record<TaskStatus, string>> = {
  pending: 'pending',
  in_progress: 'in-progress',
  review: 'review',
  completed: 'done',
  cancelled: 'cancelled',
  blocked: 'blocked',
};
const PRIORITY_IN: Readonly<Record<string, Priority>> = { low: 'low', medium: 'normal', high: 'high', critical: 'critical' };
const PRIORITY_OUT: Readonly<Record<Priority, string>> = { low: 'low', normal: 'medium', high: 'high', critical: 'critical' };

/** Fields kept under `metadata.taskmaster`, so an export writes them back. */
const KEPT = ['details', 'testStrategy', 'complexity', 'assignee', 'effort', 'createdAt', 'updatedAt', 'acceptanceCriteria', 'metadata'] as const;

type Raw = Record<string, unknown>;

export type TaskmasterOptions = { tag?: string | undefined; projectId?: string | undefined };

/** The project id of a tag: Vespera's id rules (`Feature_X` → `feature_x`). */
const projectIdOf = (tag: string): string =>
  tag
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|-+$/g, '')
    .slice(0, 64) || 'taskmaster';

/** A task's own id (no dot), or a reference (`3.2` names a subtask). */
const idText = (value: unknown, field: string, reference = false): string => {
  const pattern = reference ? /^[0-9A-Za-z_-]{1,64}(\.[0-9A-Za-z_-]{1,64})?$/ : /^[0-9A-Za-z_-]{1,64}$/;
  if ((typeof value === 'number' && Number.isInteger(value) && value >= 0) || (typeof value === 'string' && pattern.test(value)))
    return String(value);
  throw malformedField(field, reference ? 'must name a task (`3`) or a subtask (`"3.2"`)' : 'must be a task id (a whole number or a short string)');
};

/** The tags of the file, as `[name, {tasks, metadata}]`. */
const tagsOf = (root: unknown): Array<[string, Raw]> => {
  if (!isObject(root)) throw malformedField('(file)', 'must be a JSON object');
  if (Array.isArray(root.tasks)) return [['master', root]];
  const tags: Array<[string, Raw]> = [];
  for (const [name, value] of Object.entries(root)) {
    if (!isObject(value)) throw malformedField(name, 'must be a tag: an object with `tasks`');
    if (!Array.isArray(value.tasks)) throw malformedField(`${name}.tasks`, 'must be an array');
    tags.push([name, value]);
  }
  return tags;
};

const readTag = (name: string, tag: Raw, projectId: string): SourceProject => {
  const skipped: SourceProject['skipped'] = [];
  const items: SourceProject['items'] = [];
  const edges: ImportEdge[] = [];
  const missing: SourceProject['missing'] = [];
  const keys = new Set<string>();
  const rawDeps: Array<{ key: string; parent: string | null; deps: unknown; field: string }> = [];

  const item = (raw: unknown, field: string, parent: string | null) => {
    if (!isObject(raw)) throw malformedField(field, 'must be an object');
    const own = idText(raw.id, `${field}.id`);
    const key = parent === null ? own : `${parent}.${own}`;
    if (keys.has(key)) throw badRequest('IMPORT_MALFORMED', `The file's \`${field}.id\` repeats the id ${key}.`, { field: `${field}.id`, id: key });
    keys.add(key);
    if (typeof raw.title !== 'string') throw malformedField(`${field}.title`, 'must be a string');
    for (const text of ['description', 'status', 'priority'] as const) {
      if (raw[text] !== undefined && raw[text] !== null && typeof raw[text] !== 'string')
        throw malformedField(`${field}.${text}`, 'must be a string');
    }
    if (raw.dependencies !== undefined && !Array.isArray(raw.dependencies)) throw malformedField(`${field}.dependencies`, 'must be an array');
    const sourceStatus = typeof raw.status === 'string' ? raw.status : 'pending';
    const status = STATUS_IN[sourceStatus] ?? 'pending';
    if (!(sourceStatus in STATUS_IN)) skipped.push({ kind: 'field', id: key, reason: `unknown status ${sourceStatus}, imported as pending` });
    const priority = typeof raw.priority === 'string' ? (PRIORITY_IN[raw.priority.toLowerCase()] ?? 'normal') : 'normal';
    const kept = present(Object.fromEntries(KEPT.map((k) => [k, raw[k]])));
    // The source status only where the mapping folds two into one (deferred and blocked, done and completed).
    if (STATUS_OUT[status] !== sourceStatus && sourceStatus in STATUS_IN) kept.status = sourceStatus;
    items.push({
      key,
      parentKey: parent,
      status,
      sourceStatus,
      task: {
        title: fitTitle(raw.title, key, skipped),
        description: fitDescription(typeof raw.description === 'string' ? raw.description : '', key, skipped),
        priority,
        tags: fitTags(raw.tags, key, skipped),
        metadata: { source: { system: SYSTEM, id: key, tag: name }, ...(Object.keys(kept).length > 0 ? { taskmaster: kept } : {}) },
      },
    });
    rawDeps.push({ key, parent, deps: raw.dependencies ?? [], field: `${field}.dependencies` });
    return { key, raw };
  };

  (tag.tasks as unknown[]).forEach((raw, i) => {
    const field = `${name}.tasks[${i}]`;
    const { key, raw: task } = item(raw, field, null);
    if (task.subtasks === undefined || task.subtasks === null) return;
    if (!Array.isArray(task.subtasks)) throw malformedField(`${field}.subtasks`, 'must be an array');
    task.subtasks.forEach((sub, j) => item(sub, `${field}.subtasks[${j}]`, key));
  });
  requireSize(items.length);

  /** A subtask's bare id names a sibling first (Taskmaster's relative form), then a task; a dotted id names a subtask. */
  const resolve = (ref: unknown, parent: string | null, field: string): string | undefined => {
    const text = idText(ref, field, true);
    if (text.includes('.') || parent === null) return keys.has(text) ? text : undefined;
    const sibling = `${parent}.${text}`;
    const preferSibling = typeof ref === 'number';
    const order = preferSibling ? [sibling, text] : [text, sibling];
    return order.find((k) => keys.has(k));
  };
  for (const { key, parent, deps, field } of rawDeps) {
    (deps as unknown[]).forEach((ref, k) => {
      const to = resolve(ref, parent, `${field}[${k}]`);
      if (to === undefined) missing.push({ taskId: key, dependsOn: String(ref), kind: 'dependency' });
      else edges.push({ from: key, to, kind: 'hard' });
    });
  }
  const meta = isObject(tag.metadata) ? tag.metadata : {};
  return {
    projectId,
    tag: name,
    project: {
      name,
      description: typeof meta.description === 'string' ? meta.description.slice(0, 20_000) : `Imported from Taskmaster tag ${name}.`,
    },
    system: SYSTEM,
    items,
    dependencies: unique(edges),
    links: [],
    missing,
    skipped,
  };
};

/** A tasks.json (the object, or its text) as one project per tag; `tag` picks one, `projectId` names its project. */
export const readTaskmaster = (content: unknown, options: TaskmasterOptions): SourceProject[] => {
  const root = typeof content === 'string' ? parseJson(content) : content;
  let tags = tagsOf(root);
  if (options.tag !== undefined) {
    const chosen = tags.filter(([name]) => name === options.tag);
    if (chosen.length === 0) {
      throw notFound('IMPORT_TAG_NOT_FOUND', `The file has no tag ${options.tag}; it has: ${tags.map(([n]) => n).join(', ') || 'none'}.`, {
        tag: options.tag,
        tags: tags.map(([n]) => n),
      });
    }
    tags = chosen;
  }
  if (options.projectId !== undefined && tags.length > 1) {
    throw badRequest(
      'IMPORT_TAG_REQUIRED',
      `The file has ${tags.length} tags; name one with \`tag\` to import it into project ${options.projectId}.`,
      {
        tags: tags.map(([n]) => n),
      },
    );
  }
  const projects = tags.map(([name, tag]) => readTag(name, tag, options.projectId ?? projectIdOf(name)));
  requireSize(projects.reduce((n, p) => n + p.items.length, 0));
  return projects;
};

// ─── Export ──────────────────────────────────────────────────────────────────────────────────────

const sourceId = (task: SnapshotTask): string | undefined => {
  const source = task.metadata.source as { system?: unknown; id?: unknown } | undefined;
  return source?.system === SYSTEM && typeof source.id === 'string' ? source.id : undefined;
};

/** A number when the id is one (Taskmaster's file storage writes numbers), else the string. */
const idValue = (id: string): number | string => (/^(0|[1-9]\d{0,14})$/.test(id) ? Number(id) : id);

const compareIds = (a: string, b: string): number => {
  const [x, y] = [idValue(a), idValue(b)];
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  return typeof x === 'number' ? -1 : typeof y === 'number' ? 1 : x.localeCompare(y);
};

/** Ids for the tasks: their Taskmaster ids where they came from there (and still fit), the next free numbers otherwise. */
const numbering = (snapshot: ProjectSnapshot, topOf: Map<string, string>) => {
  const tops = snapshot.tasks.filter((t) => t.parentId === null);
  const ids = new Map<string, string>();
  const assign = (tasks: SnapshotTask[], preferred: (t: SnapshotTask) => string | undefined) => {
    const used = new Set<string>();
    for (const task of tasks) {
      const id = preferred(task);
      if (id !== undefined && !used.has(id)) {
        used.add(id);
        ids.set(task.id, id);
      }
    }
    let next = Math.max(0, ...[...used].filter((u) => /^\d+$/.test(u)).map(Number)) + 1;
    for (const task of tasks) if (!ids.has(task.id)) ids.set(task.id, String(next++));
  };
  assign(tops, (t) => {
    const id = sourceId(t);
    return id !== undefined && !id.includes('.') ? id : undefined;
  });
  const subtasksOf = new Map<string, SnapshotTask[]>();
  for (const task of snapshot.tasks) {
    const top = topOf.get(task.id)!;
    if (top !== task.id) subtasksOf.set(top, [...(subtasksOf.get(top) ?? []), task]);
  }
  for (const [top, subs] of subtasksOf) {
    assign(subs, (t) => {
      const id = sourceId(t);
      const prefix = `${ids.get(top)}.`;
      return id?.startsWith(prefix) && !id.slice(prefix.length).includes('.') ? id.slice(prefix.length) : undefined;
    });
  }
  // Taskmaster lists tasks by id; creation order may differ (an import creates dependencies first).
  const byId = (a: SnapshotTask, b: SnapshotTask) => compareIds(ids.get(a.id)!, ids.get(b.id)!);
  for (const subs of subtasksOf.values()) subs.sort(byId);
  return { tops: tops.sort(byId), subtasksOf, ids };
};

/** A project as a tasks.json with one tag. Deeper trees are flattened under their top-level task (Taskmaster has one level of subtasks). */
export const writeTaskmaster = (snapshot: ProjectSnapshot, tag: string): Record<string, unknown> => {
  const byId = new Map(snapshot.tasks.map((t) => [t.id, t]));
  const topOf = new Map<string, string>();
  const top = (task: SnapshotTask): string => {
    const known = topOf.get(task.id);
    if (known) return known;
    const parent = task.parentId === null ? undefined : byId.get(task.parentId);
    const found = parent ? top(parent) : task.id;
    topOf.set(task.id, found);
    return found;
  };
  for (const task of snapshot.tasks) top(task);
  const { tops, subtasksOf, ids } = numbering(snapshot, topOf);
  const depsOf = new Map<string, string[]>();
  for (const dep of snapshot.dependencies) depsOf.set(dep.taskId, [...(depsOf.get(dep.taskId) ?? []), dep.dependsOn]);

  /** How `from` names `to`: a sibling subtask by its number, a task by its id (a string from a subtask), another subtask as "3.2". */
  const reference = (from: SnapshotTask, to: SnapshotTask): number | string => {
    const fromTop = topOf.get(from.id)!;
    const toTop = topOf.get(to.id)!;
    const toId = ids.get(to.id)!;
    if (toTop === to.id) return from.id === fromTop ? idValue(toId) : toId;
    if (from.id !== fromTop && fromTop === toTop) return idValue(toId);
    return `${ids.get(toTop)}.${toId}`;
  };
  const fields = (task: SnapshotTask) => {
    const kept = (task.metadata.taskmaster ?? {}) as Record<string, unknown>;
    // The source's own word where it still means the task's status (deferred, completed), so a round trip keeps it.
    const status = typeof kept.status === 'string' && STATUS_IN[kept.status] === task.status ? kept.status : STATUS_OUT[task.status];
    const deps = (depsOf.get(task.id) ?? []).flatMap((d) => {
      const target = byId.get(d);
      return target ? [reference(task, target)] : [];
    });
    const { status: _status, ...rest } = kept;
    return {
      id: idValue(ids.get(task.id)!),
      title: task.title,
      description: task.description,
      status,
      priority: PRIORITY_OUT[task.priority],
      dependencies: deps,
      details: typeof rest.details === 'string' ? rest.details : '',
      testStrategy: typeof rest.testStrategy === 'string' ? rest.testStrategy : '',
      ...Object.fromEntries(Object.entries(rest).filter(([k]) => k !== 'details' && k !== 'testStrategy')),
      ...(task.tags.length > 0 ? { tags: task.tags } : {}),
    };
  };
  const tasks = tops.map((task) => ({
    ...fields(task),
    subtasks: (subtasksOf.get(task.id) ?? []).map((sub) => ({ ...fields(sub), parentId: idValue(ids.get(task.id)!) })),
  }));
  const completed = snapshot.tasks.filter((t) => t.status === 'completed').length;
  return {
    [tag]: {
      tasks,
      metadata: {
        created: snapshot.project.createdAt,
        updated: snapshot.project.updatedAt,
        description: snapshot.project.description,
        taskCount: tops.length,
        completedCount: completed,
      },
    },
  };
};
