import type { KeywordHit } from './keyword.js';

/**
 * Weight of the keyword side in hybrid fusion. Tuned on the long-text quality corpus
 * (test/queries/search/fixtures/tasks): 0.5–0.7 all beat both halves there; 0.6 is the middle, and the
 * 200-title corpus of the older spec agrees (see docs/performance.md, search quality).
 */
export const KEYWORD_WEIGHT = 0.6;

export type Fused = { id: string; score: number };

/**
 * Convex combination of the two halves, each scaled to 0..1 over its own hits: keyword = BM25 ÷ the best
 * BM25 × the share of the query the task covers (a task matching one stray word of a sentence weighs
 * little), semantic = min-max scaled similarity. Tasks holding every quoted phrase and identifier of the
 * query come first whatever the vectors say.
 */
export const convexFusion = (
  keyword: readonly KeywordHit[],
  semantic: ReadonlyArray<{ id: string; similarity: number }>,
  alpha = KEYWORD_WEIGHT,
): Fused[] => {
  const best = Math.max(0, ...keyword.map((h) => h.score));
  const top = Math.max(...semantic.map((h) => h.similarity));
  const bottom = Math.min(...semantic.map((h) => h.similarity));
  const span = top - bottom;
  const scores = new Map<string, number>();
  const exact = new Set(keyword.filter((h) => h.exact).map((h) => h.id));
  for (const h of keyword) scores.set(h.id, alpha * (best > 0 ? h.score / best : 1) * h.coverage);
  for (const h of semantic) scores.set(h.id, (scores.get(h.id) ?? 0) + (1 - alpha) * (span > 1e-9 ? (h.similarity - bottom) / span : 1));
  return [...scores]
    .map(([id, score]) => ({ id, score }))
    .sort((a, b) => Number(exact.has(b.id)) - Number(exact.has(a.id)) || b.score - a.score || a.id.localeCompare(b.id));
};
