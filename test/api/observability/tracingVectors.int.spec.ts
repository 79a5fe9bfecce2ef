import { expect } from 'chai';
import { api, type TestApp } from '../../support/testApp.js';
import { startVectorApp, vectorsCaughtUp } from '../../queries/search/support.js';
import { randomHex, startOtlpReceiver, until } from './support.js';

/**
 * With the vector model on (embedded Chroma, USE-lite) and tracing on: a task created with a traceparent is embedded and
 * written to Chroma under spans of its own trace, and `vespera_embeddings_pending` counts what the vector model has still
 * to apply.
 */
describe('Traces and metrics of the vector model (Chroma, embeddings)', function () {
  this.timeout(180_000);
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let app: TestApp;
  before(async function () {
    this.timeout(180_000);
    receiver = await startOtlpReceiver();
    app = await startVectorApp({ metrics: 'public' }, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    await vectorsCaughtUp(app);
  });
  after(async () => {
    await app?.close();
    await receiver?.close();
  });

  const pending = async () => {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('vespera_embeddings_pending '));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it('projects a traced task into Chroma under its trace: project vectors, embed and chroma upsert spans', async () => {
    const traceId = randomHex(16);
    const created = await api(
      app.baseUrl,
      'POST',
      '/api/v1/tasks',
      { title: 'Trace the vector projection', description: 'Embedded and upserted under the caller trace.' },
      { traceparent: `00-${traceId}-${randomHex(8)}-01` },
    );
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    await vectorsCaughtUp(app);
    const names = await until(
      'the vector spans of the trace',
      () => {
        const mine = new Set(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name));
        return mine.has('project vectors') && mine.has('embed') && mine.has('chroma upsert') ? mine : undefined;
      },
      30_000,
    );
    expect([...names]).to.include.members(['project vectors', 'embed', 'chroma upsert']);
    const upsert = receiver.spans.find((s) => s.traceId === traceId && s.name === 'chroma upsert')!;
    expect(upsert.attributes).to.include({ 'db.system.name': 'chroma' });
  });

  it('counts events the vector model has still to apply in vespera_embeddings_pending, back to 0 once applied', async () => {
    expect(await pending()).to.equal(0);
    const release = await app.background.vectors!.projector!.hold();
    try {
      for (let i = 0; i < 3; i++) expect((await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: `Pending embedding ${i}` })).status).to.equal(201);
      expect(await pending()).to.be.at.least(3);
    } finally {
      release();
    }
    await vectorsCaughtUp(app);
    expect(await pending()).to.equal(0);
  });
});
