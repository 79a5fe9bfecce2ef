/**
 * Search quality on the long-text corpus (test/queries/search/fixtures/tasks: 300 tasks of six projects, 72
 * queries): recall@5, MRR and nDCG@10 per mode over HTTP, and how fast long descriptions are embedded.
 * Run alone: `npx tsx bench/searchQuality.ts`; `npm run bench -- search` includes it.
 */
import { pathToFileURL } from 'node:url';
import { LONG_CORPUS } from '../test/queries/search/fixtures/taskFiles.js';
import { LONG_QUERIES } from '../test/queries/search/fixtures/taskQueries.js';
import { metricsOf, relevanceOf, seedLongCorpus, type Metrics } from '../test/queries/search/quality.js';
import { atLeast, info, mintTokens, nowMs, percentile, printResult, round, startApp, type Row } from './lib.js';

const MODES = ['keyword', 'semantic', 'hybrid'] as const;
const KINDS = ['no-overlap', 'paraphrase', 'identifier', 'phrase'] as const;

export const searchQuality = async (): Promise<{ rows: Row[]; figures: Record<string, number> }> => {
  const app = await startApp({}, true);
  try {
    const vectors = app.background.vectors!;
    const [token] = await mintTokens(app, 1, ['task_reading', 'search']);
    const before = vectors.cache.stats().computed;
    const t0 = nowMs();
    const ids = await seedLongCorpus(app);
    await vectors.projector!.waitFor(await app.store.headPosition(), 3_600_000);
    const seconds = (nowMs() - t0) / 1000;
    const chunks = vectors.cache.stats().computed - before;

    const metrics = new Map<string, Metrics>();
    const byKind = new Map<string, Metrics>();
    const latency = new Map<string, number[]>();
    // Semantic first, so its timings include embedding each query; hybrid then finds the query vectors cached.
    for (const mode of ['keyword', 'semantic', 'hybrid'] as const) {
      const rankings = [];
      const times: number[] = [];
      for (const query of LONG_QUERIES) {
        const t = nowMs();
        const response = await fetch(`${app.baseUrl}/api/v1/search?q=${encodeURIComponent(query.q)}&mode=${mode}&limit=20`, {
          headers: { authorization: `Bearer ${token!}` },
        });
        const body = (await response.json()) as { items: Array<{ id: string }> };
        times.push(nowMs() - t);
        if (response.status !== 200) throw new Error(`search answered ${response.status}: ${JSON.stringify(body)}`);
        rankings.push({ ranked: body.items.map((i) => i.id), relevance: relevanceOf(query, ids) });
      }
      metrics.set(mode, metricsOf(rankings));
      for (const kind of KINDS) byKind.set(`${mode} ${kind}`, metricsOf(rankings.filter((_, i) => LONG_QUERIES[i]!.kind === kind)));
      latency.set(mode, times);
    }
    const m = (mode: string) => metrics.get(mode)!;
    const best = (key: keyof Metrics) => Math.max(m('keyword')[key], m('semantic')[key]);
    const f = (x: number) => round(x, 3);
    const rows: Row[] = [
      atLeast(
        `long descriptions embedded (${LONG_CORPUS.length} tasks, ${chunks} chunks, seed → vectors caught up)`,
        round(LONG_CORPUS.length / seconds, 1),
        100,
        'tasks/s',
      ),
      ...MODES.map((mode) =>
        info(
          `  ${mode}: recall@5 / MRR / nDCG@10 (${LONG_QUERIES.length} queries), p50 / p95`,
          `${f(m(mode).recallAt5)} / ${f(m(mode).mrr)} / ${f(m(mode).ndcgAt10)}, ${round(percentile(latency.get(mode)!, 50), 1)} / ${round(percentile(latency.get(mode)!, 95), 1)} ms`,
        ),
      ),
      ...KINDS.map((kind) =>
        info(
          `  recall@5 of ${kind} queries (${LONG_QUERIES.filter((q) => q.kind === kind).length}): keyword / semantic / hybrid`,
          MODES.map((mode) => f(byKind.get(`${mode} ${kind}`)!.recallAt5)).join(' / '),
        ),
      ),
      atLeast('hybrid recall@5 on the long corpus (target: ≥ keyword and ≥ semantic)', f(m('hybrid').recallAt5), f(best('recallAt5'))),
      atLeast('hybrid MRR on the long corpus (target: ≥ both halves)', f(m('hybrid').mrr), f(best('mrr'))),
      atLeast('hybrid nDCG@10 on the long corpus (target: ≥ both halves)', f(m('hybrid').ndcgAt10), f(best('ndcgAt10'))),
    ];
    const figures: Record<string, number> = { longTasksPerSec: round(LONG_CORPUS.length / seconds, 1), longChunks: chunks };
    for (const mode of MODES) {
      figures[`${mode}RecallAt5`] = f(m(mode).recallAt5);
      figures[`${mode}Mrr`] = f(m(mode).mrr);
      figures[`${mode}NdcgAt10`] = f(m(mode).ndcgAt10);
    }
    return { rows, figures };
  } finally {
    await app.close();
  }
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { rows, figures } = await searchQuality();
  printResult({
    name: 'search quality (long task files)',
    setup: 'in-process app, embedded Chroma, USE-lite; searches over HTTP with a token',
    rows,
    figures,
  });
}
