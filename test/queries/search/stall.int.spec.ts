import { expect } from 'chai';
import { api, type TestApp } from '../../support/testApp.js';
import { CORPUS } from './fixtures/corpus.js';
import { eventually, seed, startVectorApp, vectorsCaughtUp } from './support.js';

const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
  const started = Date.now();
  const result = await run();
  return [result, Date.now() - started];
};

describe('When Chroma stops answering (SIGSTOP) and then resumes', function () {
  this.timeout(180_000);
  let app: TestApp;
  let pid: number;
  const health = async () => (await api(app.baseUrl, 'GET', '/health')).body;
  before(async () => {
    app = await startVectorApp();
    await seed(app, CORPUS.slice(0, 10));
    await vectorsCaughtUp(app);
    pid = app.background.vectors!.chromaServer!.pid!;
    process.kill(pid, 'SIGSTOP');
  });
  after(async () => {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await app?.close();
  });

  it('acknowledges a create within a second, saying the duplicate check was skipped', async () => {
    const [created, ms] = await timed(() => api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Fix the flaky login test in CI again' }));
    expect(created.status).to.equal(201);
    expect(ms).to.be.below(1000);
    expect(created.body).to.include({ duplicateCheck: 'skipped' });
    expect(created.body.duplicateCheckReason).to.be.a('string');
    expect(created.body.possibleDuplicates).to.deep.equal([]);
  });

  it('answers hybrid search from keywords within a few seconds, marked degraded', async () => {
    const [search, ms] = await timed(() => api(app.baseUrl, 'GET', '/api/v1/search?q=login'));
    expect(search.status).to.equal(200);
    expect(ms).to.be.below(4000);
    expect(search.body).to.include({ degraded: true });
    expect(search.body.items.map((i: { title: string }) => i.title)).to.include('Fix the flaky login test in CI again');
  });

  it('reports /health degraded, naming Chroma as the dependency that stopped answering', async () => {
    await eventually(async () => (await health()).status === 'degraded', 10_000);
    const body = await health();
    const chroma = body.dependencies.find((d: { name: string }) => d.name === 'chroma');
    expect(chroma).to.include({ state: 'down' });
    expect(chroma.lastError).to.match(/did not answer/);
    expect(body.reasons.join(' ')).to.match(/chroma/);
  });

  it('says ok again once Chroma resumes (SIGCONT), and the vectors catch up', async () => {
    process.kill(pid, 'SIGCONT');
    await eventually(async () => (await health()).status === 'ok', 15_000);
    await vectorsCaughtUp(app, 15_000);
    const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Fix the flaky login test in CI once more' });
    expect(created.body).to.include({ duplicateCheck: 'checked' });
    expect(created.body.possibleDuplicates.length).to.be.above(0);
  });
});

describe('When more creates arrive at once than duplicate checks may run', function () {
  this.timeout(180_000);
  let app: TestApp;
  before(async () => {
    app = await startVectorApp({ duplicateChecksInFlight: 1, duplicateCheckMs: 5000 });
    await seed(app, CORPUS.slice(0, 5));
    await vectorsCaughtUp(app);
  });
  after(() => app?.close());

  it('checks as many as the cap allows and answers the rest at once, the check skipped as busy, every task created', async () => {
    const titles = [
      'Fix the flaky login test in CI',
      'Add rate limiting to the public API',
      'Write the upgrade guide',
      'Profile the search endpoint',
    ];
    const created = await Promise.all(titles.map((title) => api(app.baseUrl, 'POST', '/api/v1/tasks', { title })));
    expect(created.map((c) => c.status)).to.deep.equal([201, 201, 201, 201]);
    const checked = created.filter((c) => c.body.duplicateCheck === 'checked');
    const busy = created.filter((c) => c.body.duplicateCheck === 'skipped');
    // One runs; those that arrive while it does are answered at once (a slow machine may let one finish before the next arrives).
    expect(checked.length, 'checked').to.be.at.least(1);
    expect(busy.length, 'skipped as busy').to.be.at.least(1);
    expect(checked.length + busy.length).to.equal(4);
    for (const c of busy) expect(c.body.duplicateCheckReason).to.match(/busy \(1 checks in flight/);
    // Once the burst is over, the next create is checked again (the slot was given back).
    const next = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Document the claims model' });
    expect(next.body).to.include({ duplicateCheck: 'checked' });
  });
});
