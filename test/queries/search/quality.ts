/**
 * Retrieval metrics and seeding for the long-text quality corpus, shared by the quality spec and
 * `npm run bench -- search`. Metrics follow the usual definitions: recall@5 (an expected task in the
 * first five), MRR (1 / rank of the first expected task, 0 past the depth searched) and nDCG@10 with
 * gain 2 for an expected task and 1 for its parent or subtasks.
 */
import type { App } from '../../../src/app.js';
import { LONG_CORPUS, LONG_PROJECTS } from './fixtures/taskFiles.js';
import type { QualityQuery } from './fixtures/taskQueries.js';

export type Metrics = { recallAt5: number; mrr: number; ndcgAt10: number; queries: number };

const parentOf = new Map(LONG_CORPUS.filter((t) => t.parent).map((t) => [t.key, t.parent!]));

/** Graded relevance of a query: its expected tasks (2) and their parents and subtasks (1), by task id. */
export const relevanceOf = (query: QualityQuery, ids: ReadonlyMap<string, string>): Map<string, number> => {
  const gains = new Map<string, number>();
  for (const key of query.expect) {
    const parent = parentOf.get(key);
    if (parent) gains.set(ids.get(parent)!, 1);
    for (const [child, of] of parentOf) if (of === key) gains.set(ids.get(child)!, 1);
  }
  for (const key of query.expect) gains.set(ids.get(key)!, 2);
  return gains;
};

const dcg = (gains: readonly number[]) => gains.reduce((sum, g, i) => sum + (2 ** g - 1) / Math.log2(i + 2), 0);

/** Metrics of one ranking per query (task ids, best first). */
export const metricsOf = (rankings: ReadonlyArray<{ ranked: readonly string[]; relevance: ReadonlyMap<string, number> }>): Metrics => {
  let recall = 0;
  let rr = 0;
  let ndcg = 0;
  for (const { ranked, relevance } of rankings) {
    const first = ranked.findIndex((id) => relevance.get(id) === 2);
    if (first >= 0 && first < 5) recall += 1;
    if (first >= 0) rr += 1 / (first + 1);
    const ideal = dcg([...relevance.values()].sort((a, b) => b - a).slice(0, 10));
    ndcg += dcg(ranked.slice(0, 10).map((id) => relevance.get(id) ?? 0)) / ideal;
  }
  const n = Math.max(1, rankings.length);
  return { recallAt5: recall / n, mrr: rr / n, ndcgAt10: ndcg / n, queries: rankings.length };
};

let seq = 0;

/** Creates the six projects and their task trees through the command side; answers key → task id. */
export const seedLongCorpus = async (app: App): Promise<Map<string, string>> => {
  const meta = () => ({ actor: 'quality', tool: 'test', commandId: `long-corpus-${process.pid}-${++seq}` });
  const ids = new Map<string, string>();
  for (const project of LONG_PROJECTS) {
    await app.commands.createProject({ projectId: project.name, name: project.name }, meta());
    for (const [i, tree] of project.trees.entries()) {
      const created = await app.commands.createTaskTree({ projectId: project.name, root: tree }, meta());
      project.keys[i]!.forEach((key, n) => ids.set(key, created.taskIds[n]!));
    }
  }
  return ids;
};
