import type Database from 'better-sqlite3';
import { badRequest } from '../../errors.js';

export type SearchFilter = {
  projectId?: string;
  status?: readonly string[];
  priority?: readonly string[];
  role?: string;
  /** Every one of these tags. */
  tags?: readonly string[];
};

export type KeywordHit = { id: string; score: number };

const words = (text: string): string[] => (text.match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 32);

/** Each word a quoted prefix term (operators in the input stay inert), joined with AND or OR. */
const match = (terms: readonly string[], joiner: ' ' | ' OR ') => terms.map((w) => `"${w.replaceAll('"', '""')}"*`).join(joiner);

/** SQL conditions on `t` (tasks) for a filter; values are always bound, never spliced. */
export const filterSql = (filter: SearchFilter): { sql: string; params: unknown[] } => {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  const list = (values: readonly string[]) => values.map(() => '?').join(',');
  if (filter.projectId !== undefined) add('t.project_id = ?', filter.projectId);
  if (filter.status?.length) add(`t.status IN (${list(filter.status)})`, ...filter.status);
  if (filter.priority?.length) add(`t.priority IN (${list(filter.priority)})`, ...filter.priority);
  if (filter.role !== undefined) add('t.role = ?', filter.role);
  for (const tag of filter.tags ?? []) add('t.id IN (SELECT task_id FROM task_tags WHERE tag = ?)', tag);
  return { sql: where.map((w) => ` AND ${w}`).join(''), params };
};

/**
 * BM25 over title, description and tags (title weighs most). Every word must match; when that finds
 * nothing and `anyWord` is set, any word may (keyword mode; hybrid leaves loose matches to the vectors,
 * where any-word hits on filler words measured as noise that pushed good answers off the first page).
 */
export const keywordSearch = (db: Database.Database, text: string, filter: SearchFilter, k: number, anyWord = true): KeywordHit[] => {
  const terms = words(text);
  if (terms.length === 0) throw badRequest('INVALID_QUERY', 'The search text holds no word to look for.', { q: text.slice(0, 100) });
  const { sql, params } = filterSql(filter);
  const statement = db.prepare<unknown[], { id: string; rank: number }>(
    `SELECT t.id AS id, bm25(tasks_fts, 0.0, 10.0, 3.0, 5.0) AS rank FROM tasks_fts JOIN tasks t ON t.seq = tasks_fts.rowid
     WHERE tasks_fts MATCH ?${sql} ORDER BY rank LIMIT ?`,
  );
  let rows = statement.all(match(terms, ' '), ...params, k);
  if (rows.length === 0 && terms.length > 1 && anyWord) rows = statement.all(match(terms, ' OR '), ...params, k);
  return rows.map((r) => ({ id: r.id, score: -r.rank }));
};
