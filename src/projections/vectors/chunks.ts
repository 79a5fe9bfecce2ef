/**
 * Chunk records in the vector store. A task's title chunk is stored under the task id itself (so a
 * lookup by task id finds the vector that stands for the task: similar tasks, clusters), its body
 * chunks under `<taskId>#<n>`. Every record carries the task's filter metadata, so a filtered
 * query filters chunks, and `chunk` (0 for the title) so listings can keep to title chunks.
 */
import { MAX_BODY_CHUNKS } from '../../embeddings/chunks.js';

export const chunkId = (taskId: string, n: number): string => (n === 0 ? taskId : `${taskId}#${n}`);

export const taskOfChunk = (id: string): string => {
  const at = id.lastIndexOf('#');
  return at < 0 ? id : id.slice(0, at);
};

/** Ids of the body chunks a task no longer has once it has `count` chunks (title included). */
export const surplusChunkIds = (taskId: string, count: number): string[] => {
  const ids: string[] = [];
  for (let n = Math.max(1, count); n <= MAX_BODY_CHUNKS; n++) ids.push(chunkId(taskId, n));
  return ids;
};

/** Chunk hits fetched per task wanted: a task's title and a few of its body chunks may all rank near the top. */
export const CHUNK_FANOUT = 4;

/** Weight of the title chunk in a task's similarity; the rest is its best chunk (title or body). */
const TITLE_WEIGHT = 0.5;

/**
 * A task's similarity from its chunks' hits: `TITLE_WEIGHT` × title + the rest × best chunk. A task whose
 * title chunk is not among the hits gets, in its place, the lowest similarity returned (a bound: its title
 * ranked below every hit). Answers the best `k` tasks, most similar first.
 */
export const tasksFromChunkHits = <H extends { id: string; similarity: number }>(hits: readonly H[], k: number): H[] => {
  if (hits.length === 0) return [];
  const floor = Math.min(...hits.map((h) => h.similarity));
  const byTask = new Map<string, { hit: H; title?: number; best: number }>();
  for (const hit of hits) {
    const taskId = taskOfChunk(hit.id);
    const entry = byTask.get(taskId) ?? { hit: { ...hit, id: taskId }, best: -Infinity };
    if (hit.id === taskId) entry.title = hit.similarity;
    entry.best = Math.max(entry.best, hit.similarity);
    byTask.set(taskId, entry);
  }
  return [...byTask.values()]
    .map(({ hit, title, best }) => ({ ...hit, similarity: TITLE_WEIGHT * (title ?? floor) + (1 - TITLE_WEIGHT) * best }))
    .sort((a, b) => b.similarity - a.similarity || a.id.localeCompare(b.id))
    .slice(0, k);
};
