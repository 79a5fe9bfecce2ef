import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { api, type TestApp } from '../../support/testApp.js';
import { startVectorApp, vectorsCaughtUp } from './support.js';

/** Found by the catalog fuzzer: one tag holding a lone surrogate made Chroma refuse every upsert after it. */
describe('A task whose text holds a lone surrogate (\\ud800)', function () {
  this.timeout(120_000);
  let app: TestApp;
  before(async () => {
    app = await startVectorApp();
  });
  after(async () => app?.close());

  for (const [field, body] of [
    ['tag', '{"title":"Lone surrogate tag","tags":["\\ud800"]}'],
    ['title', '{"title":"Lone \\udc00 surrogate title"}'],
  ] as const) {
    it(`in its ${field} is refused with 400, or stored without stalling the vector read model`, async () => {
      const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', body);
      expect([201, 400], JSON.stringify(created.body)).to.include(created.status);
      const after = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: `Written after the ${field}` });
      expect(after.status).to.equal(201);
      await vectorsCaughtUp(app, 15_000);
      const health = (await api(app.baseUrl, 'GET', '/health')).body;
      const vectors = health.projectors.find((p: { name: string }) => p.name === 'vectors');
      expect(vectors, JSON.stringify(health.projectors)).to.include({ lag: 0 });
      expect(vectors.lastError).to.equal(undefined);
    });
  }

  it('already in the log (written before the API refused it) does not stall the vector read model', async () => {
    const taskId = uuidv7();
    const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Neighbour of an old event' });
    expect(created.status).to.equal(201);
    const stream = `project-${created.body.projectId}`;
    const events = await app.store.readStream(stream, { fromRevision: 0, maxCount: 10_000 });
    const template = events.find((e) => e.type === 'TaskCreated')!;
    await app.store.appendToStream(
      stream,
      [
        {
          id: uuidv7(),
          type: 'TaskCreated',
          data: { ...(template.data as object), taskId, title: 'Old \ud800 title', tags: ['\udc00'] },
          metadata: template.metadata,
        },
      ],
      events.at(-1)!.revision,
    );
    expect((await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Written after the old event' })).status).to.equal(201);
    await vectorsCaughtUp(app, 15_000);
    const vectors = (await api(app.baseUrl, 'GET', '/health')).body.projectors.find((p: { name: string }) => p.name === 'vectors');
    expect(vectors).to.include({ lag: 0 });
    expect(vectors.lastError).to.equal(undefined);
  });
});
