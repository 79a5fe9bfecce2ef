import { badRequest } from '../../errors.js';
import { TASK_STATUSES, type LinkKind, type Priority, type TaskStatus } from '../../events/vocabulary.js';
import type { ProjectSnapshot, SnapshotTask } from '../../queries/projectSnapshot.js';
import type { ImportEdge, ImportLink } from '../../commands/project/importTasks.js';
import {
  fitDescription,
  fitTags,
  fitTitle,
  isObject,
  malformedField,
  parseJson,
  present,
  requireSize,
  requireTree,
  unique,
  type SourceProject,
} from './source.js';

/**
 * Beads' `.beads/issues.jsonl`: one issue per line (`_type: "issue"` in newer files; other `_type`s, such as memories,
 * are skipped), each with its own `dependencies: [{issue_id, depends_on_id, type}]`. `issue_id` depends on (is a child
 * of, was discovered from, relates to) `depends_on_id`.
 */

export const SYSTEM = 'beads';

const STATUS_IN: Readonly<Record<string, TaskStatus>> = {
  open: 'pending',
  in_progress: 'in_progress',
  blocked: 'blocked',
  deferred: 'blocked',
  closed: 'completed',
  pinned: 'pending',
  hooked: 'in_progress',
};
const STATUS_OUT: Readonly<Record<TaskStatus, string>> = {
  pending: 'open',
  in_progress: 'in_progress',
  blocked: 'blocked',
  review: 'in_progress',
  completed: 'closed',
  cancelled: 'closed',
};
const PRIORITY_IN: readonly Priority[] = ['critical', 'high', 'normal', 'low', 'low'];
const PRIORITY_OUT: Readonly<Record<Priority, number>> = { critical: 0, high: 1, normal: 2, low: 3 };
const LINKS_IN: Readonly<Record<string, LinkKind>> = {
  related: 'related',
  'relates-to': 'related',
  'discovered-from': 'discovered_from',
  duplicates: 'duplicates',
};
const LINKS_OUT: Readonly<Record<LinkKind, string>> = { related: 'related', discovered_from: 'discovered-from', duplicates: 'duplicates' };

/** Fields kept under `metadata.beads` by their Beads names, so an export writes them back. */
const KEPT = [
  'issue_type',
  'design',
  'acceptance_criteria',
  'notes',
  'assignee',
  'owner',
  'created_at',
  'created_by',
  'updated_at',
  'started_at',
  'closed_at',
  'close_reason',
  'due_at',
  'defer_until',
  'external_ref',
  'spec_id',
] as const;

type Line = { line: number; issue: Record<string, unknown> };

const idOf = (value: unknown, field: string): string => {
  if (typeof value === 'string' && value.trim() !== '' && value.length <= 200) return value;
  throw malformedField(field, 'must be an issue id (a non-empty string)');
};

/** The id prefix most issues share (`bd` of `bd-a1b2`), as a project id. */
const prefixProject = (ids: readonly string[]): string => {
  const counts = new Map<string, number>();
  for (const id of ids) {
    const cut = id.lastIndexOf('-');
    if (cut > 0) counts.set(id.slice(0, cut), (counts.get(id.slice(0, cut)) ?? 0) + 1);
  }
  const best = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  return (
    best
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^[-_]+|-+$/g, '')
      .slice(0, 64) || 'beads'
  );
};

const readLines = (text: string, skipped: SourceProject['skipped']): Line[] => {
  const lines: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const body = raw.trim();
    if (body === '') return;
    const value = parseJson(body, { line: i + 1 });
    if (!isObject(value)) throw malformedField(`line ${i + 1}`, 'must be a JSON object');
    if (value._type !== undefined && value._type !== 'issue') {
      skipped.push({ kind: 'line', id: `line ${i + 1}`, reason: `a ${String(value._type)} line, not an issue` });
      return;
    }
    if (value.status === 'tombstone') {
      skipped.push({ kind: 'task', id: String(value.id), reason: 'deleted in Beads (tombstone)' });
      return;
    }
    lines.push({ line: i + 1, issue: value });
  });
  return lines;
};

/** The issues of one issues.jsonl as one project (`projectId`, else the issues' id prefix). */
export const readBeads = (text: string, options: { projectId?: string | undefined }): SourceProject => {
  const skipped: SourceProject['skipped'] = [];
  const lines = readLines(text, skipped);
  requireSize(lines.length);
  const seen = new Map<string, number>();
  for (const { line, issue } of lines) {
    const id = idOf(issue.id, `line ${line}: id`);
    const earlier = seen.get(id);
    if (earlier !== undefined)
      throw badRequest('IMPORT_MALFORMED', `Line ${line} repeats the issue ${id} of line ${earlier}.`, { line, id, firstLine: earlier });
    seen.set(id, line);
    if (typeof issue.title !== 'string') throw malformedField(`line ${line}: title`, 'must be a string');
    if (issue.dependencies !== undefined && issue.dependencies !== null && !Array.isArray(issue.dependencies)) {
      throw malformedField(`line ${line}: dependencies`, 'must be an array');
    }
  }

  const parentOf = new Map<string, string>();
  const edges: ImportEdge[] = [];
  const links: ImportLink[] = [];
  const missing: SourceProject['missing'] = [];
  for (const { line, issue } of lines) {
    ((issue.dependencies ?? []) as unknown[]).forEach((dep, k) => {
      const field = `line ${line}: dependencies[${k}]`;
      if (!isObject(dep)) throw malformedField(field, 'must be an object');
      const from = dep.issue_id === undefined ? (issue.id as string) : idOf(dep.issue_id, `${field}.issue_id`);
      const to = idOf(dep.depends_on_id, `${field}.depends_on_id`);
      const type = typeof dep.type === 'string' ? dep.type : 'blocks';
      const known = type === 'blocks' || type === 'parent-child' || type in LINKS_IN;
      if (!known) {
        skipped.push({ kind: 'dependency', id: from, reason: `${type} on ${to} has no Vespera counterpart` });
        return;
      }
      if (!seen.has(from) || !seen.has(to)) {
        missing.push({ taskId: from, dependsOn: seen.has(from) ? to : from, kind: type === 'blocks' ? 'dependency' : type });
        return;
      }
      if (type === 'blocks') edges.push({ from, to, kind: 'hard' });
      else if (type === 'parent-child') {
        const parent = parentOf.get(from);
        if (parent === undefined) parentOf.set(from, to);
        else if (parent !== to) skipped.push({ kind: 'dependency', id: from, reason: `second parent ${to} (kept ${parent})` });
      } else links.push({ from, to, kind: LINKS_IN[type]! });
    });
  }
  // Hierarchical ids (`bd-a1b2.1`) name their parent when no parent-child dependency does.
  for (const id of seen.keys()) {
    const dotted = /^(.+)\.\d+$/.exec(id);
    if (!parentOf.has(id) && dotted && seen.has(dotted[1]!)) parentOf.set(id, dotted[1]!);
  }
  const tree = lines.map(({ issue }) => ({ key: issue.id as string, parentKey: parentOf.get(issue.id as string) ?? null }));
  requireTree(tree);

  const items = lines.map(({ issue }) => toItem(issue, parentOf.get(issue.id as string) ?? null, skipped));
  return {
    projectId: options.projectId ?? prefixProject([...seen.keys()]),
    project: { name: options.projectId ?? prefixProject([...seen.keys()]), description: 'Imported from Beads.' },
    system: SYSTEM,
    items: parentsFirst(items),
    dependencies: unique(edges),
    links: unique(links),
    missing,
    skipped,
  };
};

const toItem = (issue: Record<string, unknown>, parentKey: string | null, skipped: SourceProject['skipped']): SourceProject['items'][number] => {
  const key = issue.id as string;
  const ownMetadata = isObject(issue.metadata) ? issue.metadata : undefined;
  const restored = ownMetadata && isObject(ownMetadata.vespera) ? ownMetadata.vespera.status : undefined;
  const sourceStatus = typeof issue.status === 'string' && issue.status !== '' ? issue.status : 'open';
  let status = STATUS_IN[sourceStatus] ?? 'pending';
  if (!(sourceStatus in STATUS_IN)) skipped.push({ kind: 'field', id: key, reason: `unknown status ${sourceStatus}, imported as pending` });
  // A status Beads has no word for (review, cancelled) comes back from the note a Vespera export left in the issue's metadata.
  if (
    typeof restored === 'string' &&
    (TASK_STATUSES as readonly string[]).includes(restored) &&
    STATUS_OUT[restored as TaskStatus] === sourceStatus
  ) {
    status = restored as TaskStatus;
  }
  const rank = typeof issue.priority === 'number' && Number.isInteger(issue.priority) ? Math.min(4, Math.max(0, issue.priority)) : 2;
  const kept = present(Object.fromEntries(KEPT.map((k) => [k, issue[k]])));
  if (rank !== PRIORITY_OUT[PRIORITY_IN[rank]!]) kept.priority = rank;
  if (STATUS_IN[sourceStatus] !== undefined && STATUS_OUT[STATUS_IN[sourceStatus]] !== sourceStatus) kept.status = sourceStatus;
  if (ownMetadata) {
    const { vespera: _vespera, ...rest } = ownMetadata;
    if (Object.keys(rest).length > 0) kept.metadata = rest;
  }
  const minutes = typeof issue.estimated_minutes === 'number' && issue.estimated_minutes >= 0 ? issue.estimated_minutes : undefined;
  return {
    key,
    parentKey,
    status,
    sourceStatus,
    task: {
      title: fitTitle(issue.title as string, key, skipped),
      description: fitDescription(typeof issue.description === 'string' ? issue.description : '', key, skipped),
      priority: PRIORITY_IN[rank]!,
      tags: fitTags(issue.labels, key, skipped),
      estimate: minutes === undefined ? null : Math.min(100_000, minutes / 60),
      metadata: { source: { system: SYSTEM, id: key }, ...(Object.keys(kept).length > 0 ? { beads: kept } : {}) },
    },
  };
};

/** Parents before their children, otherwise in file order. */
const parentsFirst = <T extends { key: string; parentKey: string | null }>(items: readonly T[]): T[] => {
  const byKey = new Map(items.map((i) => [i.key, i]));
  const out: T[] = [];
  const placed = new Set<string>();
  for (const item of items) {
    const chain: T[] = [];
    for (let at: T | undefined = item; at && !placed.has(at.key); at = at.parentKey === null ? undefined : byKey.get(at.parentKey)) {
      placed.add(at.key);
      chain.push(at);
    }
    out.push(...chain.reverse());
  }
  return out;
};

// ─── Export ──────────────────────────────────────────────────────────────────────────────────────

const beadsId = (task: SnapshotTask): string | undefined => {
  const source = task.metadata.source as { system?: unknown; id?: unknown } | undefined;
  return source?.system === SYSTEM && typeof source.id === 'string' ? source.id : undefined;
};

/** A project as issues.jsonl text: one issue per line, in creation order. */
export const writeBeads = (snapshot: ProjectSnapshot): string => {
  const used = new Set<string>();
  const ids = new Map<string, string>();
  for (const task of snapshot.tasks) {
    const id = beadsId(task);
    if (id !== undefined && !used.has(id)) {
      used.add(id);
      ids.set(task.id, id);
    }
  }
  for (const task of snapshot.tasks) {
    if (ids.has(task.id)) continue;
    const short = `${snapshot.project.id}-${task.id.replace(/-/g, '').slice(-12)}`;
    const id = used.has(short) ? `${snapshot.project.id}-${task.id}` : short;
    used.add(id);
    ids.set(task.id, id);
  }
  const deps = new Map<string, Array<Record<string, unknown>>>();
  const add = (taskId: string, to: string, type: string) => {
    const issueId = ids.get(taskId);
    const dependsOn = ids.get(to);
    if (issueId === undefined || dependsOn === undefined) return;
    deps.set(taskId, [...(deps.get(taskId) ?? []), { issue_id: issueId, depends_on_id: dependsOn, type }]);
  };
  const parents = new Set<string>();
  for (const task of snapshot.tasks) {
    if (task.parentId !== null) {
      add(task.id, task.parentId, 'parent-child');
      parents.add(task.parentId);
    }
  }
  for (const dep of snapshot.dependencies) add(dep.taskId, dep.dependsOn, 'blocks');
  for (const link of snapshot.links) add(link.taskId, link.target, LINKS_OUT[link.kind]);

  return snapshot.tasks
    .map((task) => {
      const kept = (task.metadata.beads ?? {}) as Record<string, unknown>;
      const { status: keptStatus, priority: keptPriority, metadata: keptMetadata, ...fields } = kept;
      const status = typeof keptStatus === 'string' && STATUS_IN[keptStatus] === task.status ? keptStatus : STATUS_OUT[task.status];
      const priority = typeof keptPriority === 'number' && PRIORITY_IN[keptPriority] === task.priority ? keptPriority : PRIORITY_OUT[task.priority];
      const folded = STATUS_IN[status] !== task.status;
      const metadata = { ...(isObject(keptMetadata) ? keptMetadata : {}), ...(folded ? { vespera: { status: task.status } } : {}) };
      const closed = status === 'closed';
      const issue = {
        id: ids.get(task.id)!,
        title: task.title,
        ...(task.description ? { description: task.description } : {}),
        status,
        priority,
        issue_type: parents.has(task.id) ? 'epic' : 'task',
        ...fields,
        ...(task.estimate === null ? {} : { estimated_minutes: Math.round(task.estimate * 60) }),
        created_at: fields.created_at ?? task.createdAt,
        updated_at: fields.updated_at ?? task.updatedAt,
        ...(closed ? { closed_at: fields.closed_at ?? task.updatedAt } : {}),
        ...(task.status === 'cancelled' && fields.close_reason === undefined ? { close_reason: 'cancelled' } : {}),
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        ...(task.tags.length > 0 ? { labels: task.tags } : {}),
        ...(deps.has(task.id) ? { dependencies: deps.get(task.id) } : {}),
      };
      return `${JSON.stringify(issue)}\n`;
    })
    .join('');
};
