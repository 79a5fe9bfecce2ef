/**
 * Search: embedding throughput in the worker (with API latency alongside), time to searchable, latency per mode at 10,000
 * tasks, rebuild from cache, and quality on the long-text corpus (bench/searchQuality.ts).
 */
import { CORPUS, SEMANTIC_QUERIES } from '../test/queries/search/fixtures/corpus.js';
import {
  atLeast,
  below,
  info,
  makeTree,
  meta,
  mintTokens,
  nowMs,
  percentile,
  round,
  setupOf,
  startApp,
  type BenchOptions,
  type Result,
} from './lib.js';
import { searchQuality } from './searchQuality.js';

const WORDS = ['urgent', 'follow-up', 'phase two', 'for the EU', 'on mobile', 'in staging', 'for enterprise', 'v2', 'cleanup', 'regression'];

/** Realistic, mostly distinct titles: corpus titles with a varying qualifier and a number. */
const titleOf = (i: number) => `${CORPUS[i % CORPUS.length]!.title} ${WORDS[(i >> 3) % WORDS.length]} #${i}`;

const treeOf = (size: number, from: number) => {
  const tree = makeTree(size, 'x');
  let i = from;
  const rename = (node: { title: string; children?: unknown[] }) => {
    node.title = titleOf(i++);
    for (const child of (node.children ?? []) as Array<{ title: string }>) rename(child);
  };
  rename(tree as unknown as { title: string });
  return tree;
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const total = opts.quick ? 2000 : 10_000;
  // The long-text corpus first, in its own app, so its few hundred tasks are ranked on their own.
  const quality = await searchQuality();
  const app = await startApp({}, true);
  try {
    const vectors = app.background.vectors!;
    await vectors.booted;
    const head = async () => app.store.headPosition();
    // Many tokens, so the GET samples taken during the bulk embed stay inside the default per-token limit.
    const tokens = await mintTokens(app, 50, ['task_reading', 'search']);
    let turn = 0;
    const get = async (url: string) => {
      const response = await fetch(`${app.baseUrl}${url}`, { headers: { authorization: `Bearer ${tokens[++turn % tokens.length]!}` } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
    };
    const getTask = async (id: string) => {
      const t = nowMs();
      await get(`/api/v1/tasks/${id}`);
      return nowMs() - t;
    };
    const probe = await app.commands.createTask({ title: 'latency probe' }, meta());
    const probeId = (probe.events.find((e) => e.type === 'TaskCreated')!.data as { taskId: string }).taskId;
    await vectors.projector!.waitFor(await head(), 60_000);
    const idle: number[] = [];
    for (let i = 0; i < 300; i++) idle.push(await getTask(probeId));

    // Bulk: seed `total` tasks and measure embedding throughput while sampling GET /tasks/:id.
    const t0 = nowMs();
    for (let from = 0; from < total; from += 1000) await app.commands.createTaskTree({ root: treeOf(Math.min(1000, total - from), from) }, meta());
    const busy: number[] = [];
    const target = await head();
    let done = false;
    const waiting = vectors.projector!.waitFor(target, 1_800_000).finally(() => (done = true));
    while (!done) busy.push(await getTask(probeId));
    await waiting;
    const bulkSeconds = (nowMs() - t0) / 1000;
    const computed = vectors.cache.stats().computed;

    // Search latency per mode with query embedding included (every query text distinct, so never cached). The modes take
    // turns query by query, so whatever the store still settles after the seed weighs on each of them alike.
    const samples: Record<'hybrid' | 'keyword' | 'semantic', number[]> = { hybrid: [], keyword: [], semantic: [] };
    for (let i = 0; i < 200; i++) {
      for (const [mode, salt] of [
        ['hybrid', 0],
        ['keyword', 1000],
        ['semantic', 2000],
      ] as const) {
        const q = `${SEMANTIC_QUERIES[i % SEMANTIC_QUERIES.length]!.q} ${WORDS[i % WORDS.length]} ${salt + i}`;
        const t = nowMs();
        await get(`/api/v1/search?q=${encodeURIComponent(q)}&limit=20&mode=${mode}`);
        samples[mode].push(nowMs() - t);
      }
    }
    const { hybrid: latencies, keyword: keywordLatencies, semantic: semanticLatencies } = samples;
    const embedOnly: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = nowMs();
      await vectors.embedQuery(`embedding latency probe ${i}`);
      embedOnly.push(nowMs() - t);
    }

    // 1,000 new tasks until semantically searchable.
    const t1 = nowMs();
    await app.commands.createTaskTree({ root: treeOf(1000, total) }, meta());
    await vectors.projector!.waitFor(await head(), 600_000);
    const searchableSeconds = (nowMs() - t1) / 1000;

    // Rebuild of the vector model from the embedding cache.
    const projection = vectors.projector!.projection;
    const events = await app.store.readAll({ fromPosition: 0, maxCount: 1_000_000 });
    const before = vectors.cache.stats().computed;
    await projection.reset();
    const t2 = nowMs();
    for (let i = 0; i < events.length; i += 2000) await projection.applyBatch(events.slice(i, i + 2000));
    const rebuildSeconds = (nowMs() - t2) / 1000;
    // Tasks, not records: a task with a long description is several chunk records (all titles here, one each).
    const rebuilt = app.readDb.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tasks').get()!.n;
    const records = await vectors.store!.count();

    const p99Idle = percentile(idle, 99);
    const p99Busy = percentile(busy, 99);
    return {
      name: 'search',
      setup: `${total.toLocaleString('en-US')} tasks (titles from the 200-task corpus with qualifiers) seeded in-process, ${setupOf(app.config, 'searches and GETs over HTTP with tokens')}; embedded Chroma, USE-lite on ${app.config.embedThreads} bulk worker thread(s) at nice ${app.config.embedNice} (queries in their own worker), in-process queue; hybrid = any-word FTS5 BM25 (× query coverage) and chunked vectors, convex fusion; then the 300 long task files`,
      rows: [
        atLeast('embedding throughput in the worker (bulk seed → vectors caught up)', round(computed / bulkSeconds, 0), 300, 'titles/s'),
        info('GET /tasks/:id p99 idle', round(p99Idle, 2), 'ms'),
        below('GET /tasks/:id p99 during the bulk embed ÷ idle', round(p99Busy / p99Idle, 2), 2, '×'),
        below(
          `hybrid search p95 at ${total.toLocaleString('en-US')} tasks (GET /api/v1/search with a token; query embedding included)`,
          round(percentile(latencies, 95), 1),
          // Issue 17's target at 2,000 tasks, issue 18's at 10,000.
          total <= 2000 ? 20 : 25,
          'ms',
        ),
        info('  hybrid p50', round(percentile(latencies, 50), 1), 'ms'),
        info('  keyword p50 / p95', `${round(percentile(keywordLatencies, 50), 1)} / ${round(percentile(keywordLatencies, 95), 1)} ms`),
        info(
          '  semantic p50 / p95 (query embedding included)',
          `${round(percentile(semanticLatencies, 50), 1)} / ${round(percentile(semanticLatencies, 95), 1)} ms`,
        ),
        info(
          '  query embedding alone p50 / p95 (query worker, round trip included)',
          `${round(percentile(embedOnly, 50), 1)} / ${round(percentile(embedOnly, 95), 1)} ms`,
        ),
        below('1,000 new tasks until semantically searchable', round(searchableSeconds, 2), 4, 's'),
        atLeast(
          `vector rebuild of ${rebuilt.toLocaleString('en-US')} tasks (${records.toLocaleString('en-US')} records) from cache`,
          round(rebuilt / rebuildSeconds, 0),
          2000,
          'tasks/s',
        ),
        { ...info('  texts computed during the rebuild', vectors.cache.stats().computed - before), ok: vectors.cache.stats().computed === before },
        info('100,000 tasks', 'not run: at the measured embedding rate the seed alone would take longer than the bench budget'),
        ...quality.rows,
      ],
      figures: {
        tasks: total,
        embedPerSec: round(computed / bulkSeconds, 0),
        getP99IdleMs: round(p99Idle, 2),
        getP99BusyMs: round(p99Busy, 2),
        hybridP95Ms: round(percentile(latencies, 95), 1),
        queryEmbedP50Ms: round(percentile(embedOnly, 50), 1),
        searchableSeconds: round(searchableSeconds, 2),
        rebuildTasksPerSec: round(rebuilt / rebuildSeconds, 0),
        keywordP95Ms: round(percentile(keywordLatencies, 95), 1),
        semanticP95Ms: round(percentile(semanticLatencies, 95), 1),
        ...quality.figures,
      },
    };
  } finally {
    await app.close();
  }
};
