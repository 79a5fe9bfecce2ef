import net from 'node:net';
import { expect } from 'chai';
import { api, type TestApp } from '../../support/testApp.js';
import { CORPUS } from './fixtures/corpus.js';
import { eventually, seed, startVectorApp, vectorsCaughtUp } from './support.js';

describe('When the Chroma child process dies mid-run', function () {
  // Embedded Chroma starts and the embedder works through the seed: on a loaded 2-core machine that outlasts
  // mocha's 30 s default, and vectorsCaughtUp allows 60 s itself.
  this.timeout(180_000);
  let app: TestApp;
  let restartedPid: number | undefined;
  before(async () => {
    app = await startVectorApp();
    await seed(app, CORPUS.slice(0, 20));
    await vectorsCaughtUp(app);
  });
  after(async () => app?.close());

  it('keeps writes and keyword search working, and says degraded', async () => {
    const server = app.background.vectors!.chromaServer!;
    const pid = server.pid!;
    const port = Number(new URL(server.url).port);
    process.kill(pid, 'SIGKILL');
    await eventually(() => !server.isUp, 5000);
    // Hold Chroma down while we look: a squatter on its port makes every restart fail and every request
    // to it break, so the outage lasts as long as the assertions need, however fast Chroma restarts.
    const squatter = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => squatter.once('error', reject).listen(port, '127.0.0.1', resolve));
    try {
      const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Quarantine the unreliable checkout spec', tags: ['qa'] });
      expect(created.status).to.equal(201);
      const search = await api(app.baseUrl, 'GET', '/api/v1/search?q=quarantine');
      expect(search.status).to.equal(200);
      expect(search.body.items.map((i: { id: string }) => i.id)).to.include(created.body.id);
      expect(search.body.degraded, JSON.stringify(search.body)).to.equal(true);
      expect((await api(app.baseUrl, 'GET', '/health')).body.status).to.equal('degraded');
      expect(server.isUp, 'Chroma still held down by the squatter').to.equal(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await eventually(() => server.isUp && server.pid !== pid, 30_000);
    restartedPid = server.pid;
  });

  it('restarts it and catches up from the checkpoint, embedding nothing twice', async () => {
    expect(restartedPid).to.be.a('number');
    await vectorsCaughtUp(app, 30_000);
    const { body } = await api(
      app.baseUrl,
      'GET',
      `/api/v1/search?q=${encodeURIComponent('quarantine unreliable checkout specs')}&mode=semantic&limit=5`,
    );
    expect(body.items.map((i: { title: string }) => i.title)).to.include('Quarantine the unreliable checkout spec');
    expect(app.background.vectors!.cache.stats().computed).to.equal(21);
    expect((await app.background.vectors!.store!.vectors('default')).size).to.equal(21);
    const health = (await api(app.baseUrl, 'GET', '/health')).body;
    expect(health.vectors.chroma).to.include({ state: 'up' });
    expect(health.vectors.chroma.restarts, 'restart attempts (the failed ones under the squatter included)').to.be.at.least(1);
  });
});
