import { expect } from 'chai';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { tracesUrl } from '../../../src/wiring/tracing.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { randomHex, startOtlpReceiver, until, type ReceivedSpan } from './support.js';

/**
 * Tracing over real HTTP: with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP receiver, one write request
 * sent with a W3C traceparent yields its spans (server, operation, decide+append, projection batch) under that trace id,
 * and its events carry the traceparent. Without the endpoint events carry the traceparent as
 * the caller sent it.
 */
describe('Traces (OpenTelemetry over OTLP/HTTP, W3C traceparent)', () => {
  const SERVER = 2; // SpanKind.SERVER in OTLP

  describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
    let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
    let app: TestApp;
    before(async () => {
      receiver = await startOtlpReceiver();
      app = await startTestApp({}, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'vespera-spec' });
    });
    after(async () => {
      await app?.close();
      await receiver?.close();
    });

    const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
    const named = (spans: ReceivedSpan[], pattern: RegExp) => spans.find((s) => pattern.test(s.name));

    it("continues the caller's trace: server, operation, decide+append and projection spans arrive under its trace id", async () => {
      const traceId = randomHex(16);
      const callerSpan = randomHex(8);
      const correlationId = `trace-spec-${Date.now()}`;
      const created = await api(
        app.baseUrl,
        'POST',
        '/api/v1/projects',
        { id: `traced-${Date.now().toString(36)}`, name: 'Traced' },
        { traceparent: `00-${traceId}-${callerSpan}-01`, 'x-correlation-id': correlationId },
      );
      expect(created.status, JSON.stringify(created.body)).to.equal(201);

      const spans = await until('the request, decide+append and projection spans', () => {
        const mine = spansOf(traceId);
        return named(mine, /^POST \/api\/v1\/projects$/) && named(mine, /^decide\+append$/) && named(mine, /^project sqlite/) ? mine : undefined;
      });
      const server = named(spans, /^POST \/api\/v1\/projects$/)!;
      expect(server).to.deep.include({ kind: SERVER, parentSpanId: callerSpan, serviceName: 'vespera-spec' });
      expect(server.attributes).to.include({ 'http.route': '/api/v1/projects', 'http.response.status_code': 201 });
      const operation = named(spans, /^rest createProject$/);
      expect(operation, spans.map((s) => s.name).join(', ')).to.not.equal(undefined);
      expect(operation!.parentSpanId).to.equal(server.spanId);
      const decide = named(spans, /^decide\+append$/)!;
      expect(decide.parentSpanId).to.equal(operation!.spanId);
      expect(decide.attributes['vespera.events']).to.be.at.least(1);
      expect(named(spans, /^project sqlite/)!.attributes['vespera.events']).to.be.at.least(1);

      // The events name the operation's span: same trace, so the audit log leads to the trace and back.
      const events = await api(app.baseUrl, 'GET', `/api/v1/audit/correlations/${correlationId}`);
      expect(events.status, JSON.stringify(events.body)).to.equal(200);
      const traceparents = (events.body.items as Array<{ metadata: { traceparent?: string } }>).map((e) => e.metadata.traceparent);
      expect(traceparents).to.have.length.above(0);
      expect(traceparents).to.deep.equal(traceparents.map(() => `00-${traceId}-${operation!.spanId}-01`));
      expect(receiver.refused).to.deep.equal([]);
    });

    it('gives each request to the graph (Kuzu) worker its own span, except the status poll', async () => {
      await app.graph.checkCycles();
      const kuzu = await until('the kuzu checkCycles span', () => receiver.spans.find((s) => s.name === 'kuzu checkCycles'));
      expect(kuzu.attributes).to.include({ 'db.system.name': 'kuzu' });
      // The 250 ms status poll is left out, or it would bury everything else.
      expect(receiver.spans.filter((s) => s.name === 'kuzu status')).to.deep.equal([]);
    });

    it('starts a new trace for a request whose traceparent is malformed, and still answers it', async () => {
      const before = new Set(receiver.spans.map((s) => s.spanId));
      const response = await api(app.baseUrl, 'GET', '/api/v1/tasks?limit=1', undefined, { traceparent: '00-NOT-A-TRACE-01' });
      expect(response.status).to.equal(200);
      const server = await until('the server span of GET /api/v1/tasks', () =>
        receiver.spans.find((s) => !before.has(s.spanId) && s.name === 'GET /api/v1/tasks'),
      );
      expect(server.parentSpanId ?? '').to.equal('');
      expect(server.traceId).to.match(/^[0-9a-f]{32}$/);
    });
  });

  it('refuses an OTLP endpoint that is not an http(s) URL or holds credentials, by variable name', () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).to.throw(ConfigError, /OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://user:secret@collector/v1/traces' })).to.throw(
      ConfigError,
      /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must not hold credentials/,
    );
    expect(() => loadConfig({ OTEL_SERVICE_NAME: 'has spaces' })).to.throw(ConfigError, /OTEL_SERVICE_NAME/);
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(tracesUrl(config)).to.equal('http://collector:4318/v1/traces');
    expect(tracesUrl({ ...config, otlpTracesEndpoint: 'http://other:4318/custom' })).to.equal('http://other:4318/custom');
    expect(tracesUrl(loadConfig({}))).to.equal(undefined);
  });

  describe('without an OTLP endpoint', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp();
    });
    after(async () => {
      await app?.close();
    });

    it('records the traceparent the caller sent in the events, unchanged, and ignores an invalid one', async () => {
      const traceparent = `00-${randomHex(16)}-${randomHex(8)}-01`;
      const traced = `untraced-${Date.now()}`;
      const invalid = `invalid-${Date.now()}`;
      const send = (correlationId: string, header: string) =>
        api(
          app.baseUrl,
          'POST',
          '/api/v1/projects',
          { id: `${correlationId}-p`, name: 'Untraced' },
          { traceparent: header, 'x-correlation-id': correlationId },
        );
      expect((await send(traced, traceparent)).status).to.equal(201);
      expect((await send(invalid, `ff-${randomHex(16)}-${randomHex(8)}-01`)).status).to.equal(201);
      const metadataOf = async (id: string) =>
        ((await api(app.baseUrl, 'GET', `/api/v1/audit/correlations/${id}`)).body.items as Array<{ metadata: Record<string, unknown> }>).map(
          (e) => e.metadata,
        );
      const withTrace = await metadataOf(traced);
      expect(withTrace).to.have.length.above(0);
      for (const m of withTrace) expect(m.traceparent).to.equal(traceparent);
      for (const m of await metadataOf(invalid)) expect(m).to.not.have.property('traceparent');
    });
  });
});
