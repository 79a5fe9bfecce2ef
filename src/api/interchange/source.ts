import { DomainError, badRequest, conflict, unprocessable } from '../../errors.js';
import type { ImportPlan } from '../../commands/project/commands.js';
import { assertCleanStrings, assertShallow } from '../validation.js';
import { findCycle, type ImportEdge, type ImportLink } from '../../commands/project/importTasks.js';
import type { TaskStatus } from '../../events/vocabulary.js';

/**
 * What both interchange formats share: a file read into one or more projects in Vespera's vocabulary, with what could
 * not be carried over listed instead of dropped silently.
 */

/** Something of the file left out: a reference to nothing (with `skipMissing`), a line of another kind, a value that does not fit. */
export type Skipped = { kind: 'task' | 'dependency' | 'link' | 'line' | 'field'; id: string; reason: string };
/** A reference from `taskId` to an id the file does not hold. */
export type Missing = { taskId: string; dependsOn: string; kind: string };

/** One project of a file: the plan the decider gets, plus the report's raw material. */
export type SourceProject = Omit<ImportPlan, 'items'> & {
  items: Array<ImportPlan['items'][number] & { sourceStatus: string }>;
  /** The Taskmaster tag it came from. */
  tag?: string;
  missing: Missing[];
  skipped: Skipped[];
};

export const MAX_IMPORT_TASKS = 50_000;
const TITLE_MAX = 200;
const DESCRIPTION_MAX = 20_000;
const TAG_MAX = 64;
const TAGS_MAX = 50;

/**
 * Where a text stops being JSON: the offset of the first character that cannot continue it (the text's length when it
 * ends too early). Node 20's JSON.parse names no position for an unexpected token, so this scan finds it; iterative, so
 * deep nesting cannot overflow the stack.
 */
export const syntaxErrorOffset = (text: string): number => {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (): boolean => {
    const rest = text.slice(i, i + 5);
    for (const word of ['true', 'false', 'null']) if (rest.startsWith(word)) return ((i += word.length), true);
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number) return ((i += number[0].length), true);
    if (text[i] !== '"') return false;
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text.charCodeAt(i) < 0x20) return false;
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u' ? !/^u[0-9a-fA-F]{4}$/.test(text.slice(i, i + 5)) : !'"\\/bfnrt'.includes(text[i] ?? 'x')) return false;
        if (text[i] === 'u') i += 4;
      }
    }
    if (i >= text.length) return false;
    i++;
    return true;
  };
  const stack: Array<'[' | '{'> = [];
  for (;;) {
    space();
    // A value is expected here.
    if (text[i] === '[' || text[i] === '{') {
      const open = text[i] as '[' | '{';
      i++;
      space();
      if (text[i] === (open === '[' ? ']' : '}')) i++;
      else {
        stack.push(open);
        if (open === '{') {
          if (text[i] !== '"' || !literal()) return i;
          space();
          if (text[i] !== ':') return i;
          i++;
        }
        continue;
      }
    } else if (!literal()) return i;
    // After a value: a comma, a closing bracket, or the end.
    for (;;) {
      space();
      const top = stack.at(-1);
      if (top === undefined) return i < text.length ? i : text.length + 1;
      if (text[i] === ',') {
        i++;
        if (top === '{') {
          space();
          if (text[i] !== '"' || !literal()) return i;
          space();
          if (text[i] !== ':') return i;
          i++;
        }
        break;
      }
      if (text[i] !== (top === '[' ? ']' : '}')) return i;
      stack.pop();
      i++;
    }
  }
};

/** A JSON text parsed, or a 400 naming the line and column where it breaks (both count from 1, as editors do). */
export const parseJson = (text: string, where: { line?: number } = {}): unknown => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const offset = Math.min(syntaxErrorOffset(text), text.length);
    const before = text.slice(0, offset);
    const line = (where.line ?? 1) + before.split('\n').length - 1;
    const column = offset - before.lastIndexOf('\n');
    const message = (error as Error).message.split('\n')[0]!.replace(/, ".*$/, '');
    throw badRequest('IMPORT_MALFORMED', `The file is not valid JSON at line ${line}, column ${column} (${message}).`, { line, column });
  }
  // As deep as a request body may be: what the file holds ends up in events, which recursive code serialises.
  assertShallow(value);
  assertCleanStrings(value);
  return value;
};

/** A 400 naming the field of the file that does not fit (`master.tasks[3].title`, `line 7: id`). */
export const malformedField = (field: string, problem: string): DomainError =>
  badRequest('IMPORT_MALFORMED', `The file's \`${field}\` ${problem}.`, { field });

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A title Vespera accepts: trimmed, 1–200 characters (a blank one is named after its source id). */
export const fitTitle = (title: string, id: string, skipped: Skipped[]): string => {
  const trimmed = title.trim();
  if (trimmed === '') return `Untitled ${id}`;
  if (trimmed.length <= TITLE_MAX) return trimmed;
  skipped.push({ kind: 'field', id, reason: `title cut to ${TITLE_MAX} characters` });
  return trimmed.slice(0, TITLE_MAX);
};

export const fitDescription = (text: string, id: string, skipped: Skipped[]): string => {
  if (text.length <= DESCRIPTION_MAX) return text;
  skipped.push({ kind: 'field', id, reason: `description cut to ${DESCRIPTION_MAX} characters` });
  return text.slice(0, DESCRIPTION_MAX);
};

/** Labels as tags: strings of 1–64 characters, at most 50, others listed as skipped. */
export const fitTags = (values: unknown, id: string, skipped: Skipped[]): string[] => {
  if (!Array.isArray(values)) return [];
  const tags: string[] = [];
  for (const value of values) {
    const tag = typeof value === 'string' ? value.trim() : '';
    if (tag === '' || tag.length > TAG_MAX || tags.length >= TAGS_MAX) {
      skipped.push({ kind: 'field', id, reason: `label ${JSON.stringify(value)} is not a tag (1–${TAG_MAX} characters, at most ${TAGS_MAX})` });
    } else if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
};

/** A value kept in metadata only when there is one. */
export const present = (entries: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined && v !== null && v !== ''));

export const requireSize = (count: number): void => {
  if (count > MAX_IMPORT_TASKS) {
    throw unprocessable('IMPORT_TOO_LARGE', `An import may hold at most ${MAX_IMPORT_TASKS} tasks; this file holds ${count}.`, {
      tasks: count,
      maxTasks: MAX_IMPORT_TASKS,
    });
  }
};

/** References to ids the file does not hold: refused (422, each listed) unless the caller asked to skip them. */
export const settleMissing = (projects: readonly SourceProject[], skipMissing: boolean): void => {
  const missing = projects.flatMap((p) => p.missing.map((m) => ({ ...(p.tag === undefined ? {} : { tag: p.tag }), ...m })));
  if (missing.length === 0) return;
  if (!skipMissing) {
    const shown = missing.slice(0, 100);
    throw unprocessable(
      'IMPORT_MISSING_REFERENCES',
      `${missing.length} reference(s) name tasks the file does not hold: ${shown
        .slice(0, 5)
        .map((m) => `${m.taskId} → ${m.dependsOn}`)
        .join(', ')}${missing.length > 5 ? ', …' : ''}.`,
      { missing: shown, count: missing.length },
      'Fix the file, or import with skipMissing: true to leave those references out.',
    );
  }
  for (const project of projects) {
    for (const m of project.missing)
      project.skipped.push({ kind: m.kind === 'dependency' ? 'dependency' : 'link', id: m.taskId, reason: `${m.kind} on missing ${m.dependsOn}` });
  }
};

/** A cycle among the file's own parent links (Beads' parent-child), named by source ids. */
export const requireTree = (items: ReadonlyArray<{ key: string; parentKey: string | null }>): void => {
  const parentOf = new Map(items.map((i) => [i.key, i.parentKey]));
  const done = new Set<string>();
  for (const item of items) {
    const path: string[] = [];
    const onPath = new Set<string>();
    for (let at: string | null | undefined = item.key; at != null && !done.has(at); at = parentOf.get(at)) {
      if (onPath.has(at)) {
        const cycle = [...path.slice(path.indexOf(at)), at];
        throw new DomainError(
          'HIERARCHY_CYCLE',
          409,
          `The file's parent links loop: ${cycle.join(' → ')}.`,
          { cycle },
          'Give one task of the loop another parent.',
        );
      }
      onPath.add(at);
      path.push(at);
    }
    for (const key of path) done.add(key);
  }
};

/** Edges and links deduplicated, in file order. */
export const unique = <T extends ImportEdge | ImportLink>(edges: readonly T[]): T[] => {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const key = `${e.from}\0${e.to}\0${e.kind}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

/** How many tasks went from each source status to each Vespera status. */
export const statusCounts = (items: ReadonlyArray<{ sourceStatus: string; status: TaskStatus }>) => {
  const counts = new Map<string, { from: string; to: TaskStatus; count: number }>();
  for (const item of items) {
    const key = `${item.sourceStatus}\0${item.status}`;
    const entry = counts.get(key) ?? { from: item.sourceStatus, to: item.status, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
};

/**
 * A dependency cycle of the file itself, refused before any project is written (the decider checks again, with the
 * edges the project already has).
 */
export const requireAcyclic = (projects: readonly SourceProject[]): void => {
  for (const project of projects) {
    const edges = new Map<string, string[]>();
    for (const edge of project.dependencies) edges.set(edge.from, [...(edges.get(edge.from) ?? []), edge.to]);
    const cycle = findCycle([...edges.keys()], edges);
    if (cycle) {
      throw conflict(
        'DEPENDENCY_CYCLE',
        `The file's dependencies loop: ${cycle.join(' → ')}${project.tag === undefined ? '' : ` (tag ${project.tag})`}.`,
        { cycle, ...(project.tag === undefined ? {} : { tag: project.tag }) },
        'Remove one dependency on the cycle from the file first.',
      );
    }
  }
};
