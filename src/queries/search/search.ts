import type Database from 'better-sqlite3';
import { DomainError, badRequest } from '../../errors.js';
import { titleChunk } from '../../embeddings/chunks.js';
import { contentHash } from '../../embeddings/embedder.js';
import { TimeoutError, withTimeout } from '../../util/timeout.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { getTask, toTaskView, type TaskRow, type TaskView } from '../tasks.js';
import { convexFusion } from './fuse.js';
import { filterSql, keywordSearch, type KeywordHit, type SearchFilter } from './keyword.js';

export type SearchMode = 'semantic' | 'keyword' | 'hybrid';

export type VectorHit = { id: string; projectId: string; similarity: number };

/** The vector side of search, as the vector read model offers it. */
export interface SemanticIndex {
  /** False when Chroma is known to be down or vectors are off: skip it instead of waiting. */
  available(): boolean;
  /** Longest the vector side of one ranked search may take; past it the search answers without vectors, degraded. */
  readonly timeoutMs?: number;
  embedQuery(text: string): Promise<Float32Array>;
  query(vector: Float32Array, opts: { projectId?: string; filter?: SearchFilter; k: number }): Promise<VectorHit[]>;
  vectors(projectId: string, ids?: readonly string[]): Promise<Map<string, Float32Array>>;
}

export type SearchItem = TaskView & { score: number; similarity: number | null; keywordScore: number | null };
export type SearchAnswer = { mode: SearchMode; items: SearchItem[]; nextCursor: string | null; degraded: boolean; reason?: string };

/** Deepest result a cursor may reach: ranked search is for the first pages, listing is for the rest. */
export const MAX_SEARCH_DEPTH = 500;

export const vectorsUnavailable = (reason: string) =>
  new DomainError('VECTORS_UNAVAILABLE', 503, `Semantic search is unavailable right now: ${reason}`, {}, 'Use mode=keyword, or retry shortly.');

export const rowsById = (db: Database.Database, ids: readonly string[], filter: SearchFilter = {}): Map<string, TaskRow> => {
  if (ids.length === 0) return new Map();
  const { sql, params } = filterSql(filter);
  const rows = db.prepare<unknown[], TaskRow>(`SELECT t.* FROM tasks t WHERE t.id IN (${ids.map(() => '?').join(',')})${sql}`).all(...ids, ...params);
  return new Map(rows.map((r) => [r.id, r]));
};

/** Vector hits, or the reason there are none (vectors off, Chroma down, a failed call, no answer within `timeoutMs`). */
export const semanticHits = async (index: SemanticIndex | undefined, run: (index: SemanticIndex) => Promise<VectorHit[]>, timeoutMs?: number) => {
  if (!index) return { hits: [] as VectorHit[], reason: 'vectors are disabled (VESPERA_VECTORS=off)' };
  if (!index.available()) return { hits: [] as VectorHit[], reason: 'the vector store is not reachable' };
  try {
    return { hits: await (timeoutMs ? withTimeout(run(index), timeoutMs, 'the vector store') : run(index)) };
  } catch (error) {
    if (error instanceof TimeoutError) return { hits: [] as VectorHit[], reason: `the vector store did not answer within ${error.ms} ms` };
    return { hits: [] as VectorHit[], reason: `the vector store failed: ${(error as Error).message}` };
  }
};

export type SearchParams = SearchFilter & { q: string; mode?: SearchMode; limit?: number; cursor?: string };

/** Ranked search: keyword (BM25), semantic (vectors, best chunk and title) or both fused (see fuse.ts), with filters and a cursor. */
export const searchTasks = async (db: Database.Database, index: SemanticIndex | undefined, params: SearchParams): Promise<SearchAnswer> => {
  const { q, mode = 'hybrid', limit = 20, cursor, ...filter } = params;
  if (q.trim() === '') throw badRequest('INVALID_QUERY', 'The search text is empty.');
  const fingerprint = contentHash(JSON.stringify([q, mode, filter])).slice(0, 12);
  let offset = 0;
  if (cursor) {
    const [at, print] = decodeCursor(cursor, 2);
    if (print !== fingerprint || typeof at !== 'number')
      throw badRequest('INVALID_CURSOR', 'The cursor belongs to another search; start again without it.', { cursor });
    offset = at;
  }
  const depth = Math.min(MAX_SEARCH_DEPTH, offset + limit + 1);
  const pool = Math.max(50, depth);

  // The vector side starts first, so the keyword search runs while Chroma is answering.
  const vectorSide =
    mode === 'keyword'
      ? Promise.resolve({ hits: [] as VectorHit[], reason: undefined })
      : semanticHits(
          index,
          async (i) =>
            i.query(await i.embedQuery(q), {
              ...(filter.projectId ? { projectId: filter.projectId } : {}),
              filter,
              k: filter.tags?.length ? pool * 3 : pool,
            }),
          index?.timeoutMs,
        );
  let keyword: KeywordHit[];
  try {
    keyword = mode === 'semantic' ? [] : keywordSearch(db, q, filter, pool, mode === 'keyword' ? 'strict' : 'loose');
  } catch (error) {
    await vectorSide;
    throw error;
  }
  const semantic = await vectorSide;
  if (mode === 'semantic' && semantic.reason) throw vectorsUnavailable(semantic.reason);

  const rows = rowsById(db, [...new Set([...keyword.map((h) => h.id), ...semantic.hits.map((h) => h.id)])], filter);
  const kw = keyword.filter((h) => rows.has(h.id));
  const sem = semantic.hits.filter((h) => rows.has(h.id));
  const ranked =
    mode === 'keyword'
      ? kw.map((h) => ({ id: h.id, score: h.score }))
      : mode === 'semantic'
        ? sem.map((h) => ({ id: h.id, score: h.similarity }))
        : convexFusion(kw, sem);
  const kwScore = new Map(kw.map((h) => [h.id, h.score]));
  const similarity = new Map(sem.map((h) => [h.id, h.similarity]));
  const page = ranked.slice(offset, offset + limit);
  const more = ranked.length > offset + limit && offset + limit < MAX_SEARCH_DEPTH;
  return {
    mode,
    items: page.map((r) => ({
      ...toTaskView(rows.get(r.id)!),
      score: r.score,
      similarity: similarity.get(r.id) ?? null,
      keywordScore: kwScore.get(r.id) ?? null,
    })),
    nextCursor: more ? encodeCursor([offset + limit, fingerprint]) : null,
    degraded: semantic.reason !== undefined,
    ...(semantic.reason ? { reason: semantic.reason } : {}),
  };
};

/** The stored vector of a task, or its text embedded now when the vector model has not reached it yet. */
export const taskVector = async (index: SemanticIndex, task: TaskView): Promise<Float32Array> =>
  (await index.vectors(task.projectId, [task.id])).get(task.id) ?? index.embedQuery(titleChunk(task));

export type SimilarTask = {
  id: string;
  title: string;
  status: TaskView['status'];
  priority: TaskView['priority'];
  projectId: string;
  similarity: number;
};

/** Tasks nearest to one task, in its project. */
export const similarTasks = async (db: Database.Database, index: SemanticIndex | undefined, taskId: string, limit = 10) => {
  const task = getTask(db, taskId);
  const semantic = await semanticHits(
    index,
    async (i) => i.query(await taskVector(i, task), { projectId: task.projectId, k: limit + 1 }),
    index?.timeoutMs,
  );
  if (semantic.reason) throw vectorsUnavailable(semantic.reason);
  const rows = rowsById(
    db,
    semantic.hits.map((h) => h.id),
  );
  const items: SimilarTask[] = semantic.hits
    .filter((h) => h.id !== taskId && rows.has(h.id))
    .slice(0, limit)
    .map((h) => {
      const row = rows.get(h.id)!;
      return { id: h.id, title: row.title, status: row.status, priority: row.priority, projectId: row.project_id, similarity: h.similarity };
    });
  return { taskId, items };
};

/** Existing tasks of a project whose meaning is close to a title (and description) about to be created. */
export const findDuplicates = async (
  db: Database.Database,
  index: SemanticIndex | undefined,
  input: { title: string; description?: string; projectId?: string; threshold: number; limit?: number },
) => {
  const text = titleChunk({ title: input.title, description: input.description ?? '', tags: [] });
  const projectId = input.projectId ?? 'default';
  const semantic = await semanticHits(index, async (i) => i.query(await i.embedQuery(text), { projectId, k: input.limit ?? 5 }), index?.timeoutMs);
  const close = semantic.hits.filter((h) => h.similarity >= input.threshold);
  const rows = rowsById(
    db,
    close.map((h) => h.id),
  );
  const items: SimilarTask[] = close
    .filter((h) => rows.has(h.id))
    .map((h) => ({
      id: h.id,
      title: rows.get(h.id)!.title,
      status: rows.get(h.id)!.status,
      priority: rows.get(h.id)!.priority,
      projectId,
      similarity: h.similarity,
    }));
  return { items, threshold: input.threshold, degraded: semantic.reason !== undefined, ...(semantic.reason ? { reason: semantic.reason } : {}) };
};
