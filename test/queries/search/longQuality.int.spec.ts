import { expect } from 'chai';
import { api, type TestApp } from '../../support/testApp.js';
import { LONG_CORPUS } from './fixtures/taskFiles.js';
import { LONG_QUERIES, type QualityQuery } from './fixtures/taskQueries.js';
import { metricsOf, relevanceOf, seedLongCorpus, type Metrics } from './quality.js';
import { startVectorApp, vectorsCaughtUp } from './support.js';

const STOPWORDS = new Set(
  'a an the of to in on for and or is are be it its with by at as from that this my we our how what when so do not no me i you your'.split(' '),
);
const words = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];

describe('Search quality on long task files (300 tasks of six projects, 72 queries)', function () {
  // Seeding embeds about 1,500 chunks: on the loaded 2-core machine the model manages a few dozen a second.
  this.timeout(600_000);
  let app: TestApp;
  let ids: Map<string, string>;
  const metrics = new Map<string, Metrics>();

  const measure = async (mode: string, queries: readonly QualityQuery[] = LONG_QUERIES): Promise<Metrics> => {
    const rankings = [];
    for (const query of queries) {
      const { status, body } = await api(app.baseUrl, 'GET', `/api/v1/search?q=${encodeURIComponent(query.q)}&mode=${mode}&limit=20`);
      expect(status, JSON.stringify(body)).to.equal(200);
      rankings.push({ ranked: (body.items as Array<{ id: string }>).map((i) => i.id), relevance: relevanceOf(query, ids) });
    }
    return metricsOf(rankings);
  };

  before(async () => {
    app = await startVectorApp();
    ids = await seedLongCorpus(app);
    await vectorsCaughtUp(app, 540_000);
    for (const mode of ['keyword', 'semantic', 'hybrid']) metrics.set(mode, await measure(mode));
  });
  after(async () => app?.close());

  describe('the corpus and its queries', () => {
    it('holds at least 300 tasks and 50 queries, a third of them sharing no word with their answer', () => {
      expect(LONG_CORPUS.length).to.be.at.least(300);
      expect(LONG_QUERIES.length).to.be.at.least(50);
      expect(LONG_QUERIES.filter((q) => q.kind === 'no-overlap').length).to.be.at.least(LONG_QUERIES.length / 3);
    });
    it('no-overlap queries really share no word (nor a prefix of one) with their answer', () => {
      for (const query of LONG_QUERIES.filter((q) => q.kind === 'no-overlap')) {
        const target = LONG_CORPUS.find((t) => t.key === query.expect[0])!;
        const text = words(`${target.title} ${target.description} ${target.tags.join(' ')}`);
        const shared = words(query.q).filter((w) => !STOPWORDS.has(w) && text.some((t) => t.startsWith(w)));
        expect(shared, query.q).to.deep.equal([]);
      }
    });
  });

  describe('hybrid (the default) against each of its halves', () => {
    for (const metric of ['recallAt5', 'mrr', 'ndcgAt10'] as const) {
      it(`is at least as good as keyword and as semantic on ${metric}`, () => {
        const [hybrid, keyword, semantic] = ['hybrid', 'keyword', 'semantic'].map((m) => metrics.get(m)![metric]);
        expect(hybrid, JSON.stringify(Object.fromEntries(metrics))).to.be.at.least(keyword!);
        expect(hybrid, JSON.stringify(Object.fromEntries(metrics))).to.be.at.least(semantic!);
      });
    }
  });

  describe('by kind of query', () => {
    it('finds every identifier and quoted phrase on the first page of hybrid, and first', async () => {
      const exact = LONG_QUERIES.filter((q) => q.kind === 'identifier' || q.kind === 'phrase');
      const hybrid = await measure('hybrid', exact);
      expect(hybrid.recallAt5).to.equal(1);
      expect(hybrid.mrr).to.be.at.least(0.9);
    });
    it('lets the vectors answer queries sharing no word with their answer: hybrid keeps most of what semantic finds', async () => {
      const loose = LONG_QUERIES.filter((q) => q.kind === 'no-overlap');
      const [keyword, semantic, hybrid] = [await measure('keyword', loose), await measure('semantic', loose), await measure('hybrid', loose)];
      expect(keyword.recallAt5).to.be.at.most(0.05);
      expect(hybrid.recallAt5).to.be.at.least(semantic.recallAt5 * 0.8);
      expect(hybrid.recallAt5).to.be.greaterThan(keyword.recallAt5);
    });
  });
});
