import { expect } from 'chai';
import { api, type TestApp } from '../../support/testApp.js';
import { CORPUS, KEYWORD_QUERIES, SEMANTIC_QUERIES } from './fixtures/corpus.js';
import { seed, startVectorApp, vectorsCaughtUp } from './support.js';

describe('Search quality (200 software tasks)', function () {
  // Embedded Chroma starts and the embedder works through the seed: on a loaded 2-core machine that outlasts
  // mocha's 30 s default, and vectorsCaughtUp allows 60 s itself.
  this.timeout(180_000);
  let app: TestApp;
  let ids: Map<string, string>;

  before(async () => {
    app = await startVectorApp();
    ids = await seed(app, CORPUS);
    await vectorsCaughtUp(app);
  });
  after(async () => app?.close());

  /** Share of queries with an acceptable answer among the first five results. */
  const recallAt5 = async (queries: ReadonlyArray<{ q: string; expect: string[] }>, mode: string) => {
    let found = 0;
    for (const { q, expect: keys } of queries) {
      const { status, body } = await api(app.baseUrl, 'GET', `/api/v1/search?q=${encodeURIComponent(q)}&mode=${mode}&limit=5`);
      expect(status, JSON.stringify(body)).to.equal(200);
      const wanted = new Set(keys.map((k) => ids.get(k)));
      if ((body.items as Array<{ id: string }>).some((item) => wanted.has(item.id))) found += 1;
    }
    return found / queries.length;
  };

  describe('when the query shares no word with its answer', () => {
    it('semantic search finds most answers in the top five', async () => {
      expect(await recallAt5(SEMANTIC_QUERIES, 'semantic')).to.be.at.least(0.7);
    });
    it('keyword search alone finds almost none', async () => {
      expect(await recallAt5(SEMANTIC_QUERIES, 'keyword')).to.be.at.most(0.1);
    });
  });

  describe('when the query is an identifier', () => {
    it('keyword search finds every one first-page', async () => {
      expect(await recallAt5(KEYWORD_QUERIES, 'keyword')).to.equal(1);
    });
  });

  describe('in hybrid mode (the default)', () => {
    it('finds both kinds', async () => {
      expect(await recallAt5(KEYWORD_QUERIES, 'hybrid')).to.equal(1);
      expect(await recallAt5(SEMANTIC_QUERIES, 'hybrid')).to.be.at.least(0.7);
    });
    it('scores every item and says which side matched', async () => {
      const { body } = await api(app.baseUrl, 'GET', `/api/v1/search?q=${encodeURIComponent('VSP-1042')}`);
      expect(body.mode).to.equal('hybrid');
      expect(body.degraded).to.equal(false);
      expect(body.items[0].id).to.equal(ids.get('id1'));
      expect(body.items[0].keywordScore).to.be.greaterThan(0);
      expect(body.items[0].similarity).to.be.a('number');
    });
  });
});
