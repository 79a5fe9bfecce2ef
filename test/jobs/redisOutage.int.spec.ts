import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { api, type TestApp } from '../support/testApp.js';
import { CORPUS } from '../queries/search/fixtures/corpus.js';
import { eventually, meta, startVectorApp, vectorsCaughtUp } from '../queries/search/support.js';
import { PrivateRedis } from '../support/privateRedis.js';

const health = async (app: TestApp) => (await api(app.baseUrl, 'GET', '/health')).body;

describe('When Redis dies during writes and comes back', function () {
  this.timeout(120_000);
  const redis = new PrivateRedis();
  let app: TestApp;
  before(async () => {
    await redis.start();
    app = await startVectorApp({ redisUrl: redis.url, queuePrefix: `vespera-outage-${randomUUID().slice(0, 8)}` });
    for (const task of CORPUS.slice(0, 5)) await app.commands.createTask({ title: task.title }, meta());
    await vectorsCaughtUp(app, 30_000);
    expect(app.background.queue.kind).to.equal('bullmq');
  });
  after(async () => {
    try {
      await redis.start();
      await app?.close();
    } finally {
      await redis.kill();
    }
  });

  it('keeps accepting writes and reports the queue degraded while Redis is down', async () => {
    // Embedding jobs queued in Redis and not yet run when it dies: a restarted Redis has forgotten them.
    await app.background.services.act('auto_embedding', 'stop');
    for (const task of CORPUS.slice(5, 20)) await app.commands.createTask({ title: task.title, tags: ['outage'] }, meta());
    await eventually(async () => (await app.background.queue.stats('embeddings')).waiting > 0, 10_000);
    await redis.kill();
    await app.background.services.act('auto_embedding', 'start');
    for (const task of CORPUS.slice(20, 35)) await app.commands.createTask({ title: task.title, tags: ['outage'] }, meta());
    const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Written while Redis is down' });
    expect(created.status).to.equal(201);
    await eventually(async () => (await health(app)).status === 'degraded', 10_000);
    const body = await health(app);
    expect(body.dependencies.find((d: { name: string }) => d.name === 'redis')).to.include({ state: 'down' });
    expect(body.reasons.join(' ')).to.match(/redis/);
    // Jobs keep running in-process meanwhile; that must not read as Redis being back.
    await new Promise((r) => setTimeout(r, 6000));
    expect((await health(app)).status, 'still degraded while Redis is down').to.equal('degraded');
  });

  it('catches the vector read model up by itself once Redis is back, and says ok again', async () => {
    await redis.start();
    await vectorsCaughtUp(app, 20_000);
    await eventually(async () => (await health(app)).status === 'ok', 15_000);
    expect((await app.background.vectors!.store!.vectors('default')).size).to.equal(36);
  });

  it('sends embedding jobs through Redis again, not in-process', async () => {
    expect(app.background.queue.kind).to.equal('bullmq');
    const inlineBefore = (await app.background.queue.inline.stats('embeddings')).completed;
    await app.commands.createTask({ title: 'Embedded through BullMQ after the outage' }, meta());
    await vectorsCaughtUp(app, 15_000);
    expect((await app.background.queue.inline.stats('embeddings')).completed).to.equal(inlineBefore);
    expect((await app.background.queue.stats('embeddings')).completed).to.be.above(inlineBefore);
  });
});
