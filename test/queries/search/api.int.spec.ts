import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { CORPUS } from './fixtures/corpus.js';
import { seed, startVectorApp, vectorsCaughtUp } from './support.js';

const get = (app: TestApp, url: string, headers?: Record<string, string>) => api(app.baseUrl, 'GET', url, undefined, headers);

describe('Search API', function () {
  // Embedded Chroma starts and the embedder works through the seed: on a loaded 2-core machine that outlasts
  // mocha's 30 s default, and vectorsCaughtUp allows 60 s itself.
  this.timeout(180_000);
  let app: TestApp;
  let ids: Map<string, string>;
  before(async () => {
    app = await startVectorApp();
    ids = await seed(app, CORPUS.slice(0, 60));
    await vectorsCaughtUp(app);
  });
  after(async () => app?.close());

  describe('when creating a task close to an existing one', () => {
    it('answers 201 with possibleDuplicates, without refusing', async () => {
      const { status, body } = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Fix flaky login test in CI' });
      expect(status).to.equal(201);
      expect(body.possibleDuplicates.map((d: { id: string }) => d.id)).to.include(ids.get('auth1'));
      expect(body.possibleDuplicates[0].similarity).to.be.at.least(0.8);
    });
    it('answers an empty list for a new idea', async () => {
      const { body } = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Plan the team offsite in Lisbon' });
      expect(body.possibleDuplicates).to.deep.equal([]);
    });
    it('GET /search/duplicates checks before creating', async () => {
      const { status, body } = await get(
        app,
        `/api/v1/search/duplicates?title=${encodeURIComponent('Add two factor auth using TOTP')}&threshold=0.6`,
      );
      expect(status).to.equal(200);
      expect(body.items[0].id).to.equal(ids.get('auth2'));
    });
  });

  it('finds similar tasks, most similar first, never the task itself', async () => {
    const { status, body } = await get(app, `/api/v1/search/similar/${ids.get('perf3')}?limit=5`);
    expect(status).to.equal(200);
    expect(body.items).to.have.length(5);
    expect(body.items.map((i: { id: string }) => i.id)).not.to.include(ids.get('perf3'));
    const sims = body.items.map((i: { similarity: number }) => i.similarity);
    expect(sims).to.deep.equal([...sims].sort((a, b) => b - a));
  });

  it('clusters a project and labels each cluster by keywords', async () => {
    const { status, body } = await get(app, '/api/v1/search/clusters?projectId=default&k=3');
    expect(status).to.equal(200);
    expect(body.k).to.equal(3);
    expect(body.clusters.reduce((n: number, c: { size: number }) => n + c.size, 0)).to.equal(body.tasks);
    for (const c of body.clusters) expect(c.keywords.length).to.be.greaterThan(0);
  });

  it('filters by status and tags, and pages with a cursor', async () => {
    const first = await get(app, '/api/v1/search?q=the&mode=keyword&tags=performance&limit=2');
    expect(first.status).to.equal(200);
    expect(first.body.items).to.have.length(2);
    for (const item of first.body.items) expect(item.tags).to.include('performance');
    const second = await get(app, `/api/v1/search?q=the&mode=keyword&tags=performance&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((i: { id: string }) => i.id)).not.to.include.members(first.body.items.map((i: { id: string }) => i.id));
    const none = await get(app, '/api/v1/search?q=slow&status=completed');
    expect(none.body.items).to.deep.equal([]);
  });

  describe('when the input is bad', () => {
    const cases: Array<[string, string, number, string]> = [
      ['an empty query', '/api/v1/search?q=', 400, 'VALIDATION_ERROR'],
      ['a blank query', '/api/v1/search?q=%20%20', 400, 'VALIDATION_ERROR'],
      ['a 10 KB query', `/api/v1/search?q=${'a'.repeat(10_240)}`, 400, 'VALIDATION_ERROR'],
      ['punctuation only', '/api/v1/search?q=%21%21%21', 400, 'INVALID_QUERY'],
      ['a limit out of range', '/api/v1/search?q=x&limit=1000', 400, 'VALIDATION_ERROR'],
      ['an unknown mode', '/api/v1/search?q=x&mode=fuzzy', 400, 'VALIDATION_ERROR'],
      ['a filter on an unknown field', '/api/v1/search?q=x&owner=bob', 400, 'VALIDATION_ERROR'],
      ['a foreign cursor', '/api/v1/search?q=x&cursor=WzIwLCJ4Il0', 400, 'INVALID_CURSOR'],
      ['an unknown task', '/api/v1/search/similar/nope', 404, 'TASK_NOT_FOUND'],
      ['an unknown project', '/api/v1/search/clusters?projectId=nope', 404, 'PROJECT_NOT_FOUND'],
    ];
    for (const [what, url, status, code] of cases) {
      it(`answers ${status} ${code} for ${what}`, async () => {
        const response = await get(app, url);
        expect(response.status).to.equal(status);
        expect(response.headers.get('content-type')).to.match(/application\/problem\+json/);
        expect(response.body.code).to.equal(code);
      });
    }
  });

  describe('services', () => {
    it('lists every background service', async () => {
      const { status, body } = await get(app, '/api/v1/services');
      expect(status).to.equal(200);
      expect(body.items.map((s: { name: string }) => s.name)).to.have.members([
        'auto_embedding',
        'sync_coordinator',
        'index_optimization',
        'cycle_detection',
      ]);
    });
    it('stops and starts a service (admin only)', async () => {
      expect((await api(app.baseUrl, 'POST', '/api/v1/services/index_optimization/stop')).body.state).to.equal('stopped');
      expect((await api(app.baseUrl, 'POST', '/api/v1/services/index_optimization/restart')).body.state).to.equal('running');
      expect((await api(app.baseUrl, 'POST', '/api/v1/services/nope/start')).body.code).to.equal('SERVICE_NOT_FOUND');
      expect((await api(app.baseUrl, 'POST', '/api/v1/services/nope/start', undefined, { authorization: '' })).status).to.equal(401);
    });
  });
});

describe('Search with VESPERA_VECTORS=off', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Fix the flaky login test' });
  });
  after(async () => app?.close());

  it('hybrid answers from keywords with degraded: true', async () => {
    const { status, body } = await get(app, '/api/v1/search?q=login');
    expect(status).to.equal(200);
    expect(body.degraded).to.equal(true);
    expect(body.items).to.have.length(1);
  });
  it('semantic answers 503 VECTORS_UNAVAILABLE', async () => {
    const { status, body } = await get(app, '/api/v1/search?q=login&mode=semantic');
    expect([status, body.code]).to.deep.equal([503, 'VECTORS_UNAVAILABLE']);
  });
});
