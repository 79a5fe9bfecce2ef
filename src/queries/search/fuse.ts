/** Reciprocal rank fusion: each list adds 1 / (k + rank) for the items it ranks (rank from 1). */
export const reciprocalRankFusion = (lists: ReadonlyArray<readonly string[]>, k = 60): Array<{ id: string; score: number }> => {
  const scores = new Map<string, number>();
  for (const list of lists) list.forEach((id, i) => scores.set(id, (scores.get(id) ?? 0) + 1 / (k + i + 1)));
  return [...scores].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
};
