import { expect } from 'chai';
import { objectsWithoutKeys } from '../support/schemaKeys.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

type Ref = { $ref: string };
type Parameter = { name: string; in: string };
type Answer = { headers?: Record<string, Ref> };
type OpenApiOperation = {
  operationId?: string;
  'x-capability'?: string;
  responses?: Record<string, Answer | Ref>;
  parameters?: (Parameter | Ref)[];
};

describe('OpenAPI document', () => {
  let app: TestApp;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, OpenApiOperation>>;
    components: Record<string, Record<string, unknown>> & { headers: Record<string, { schema: { pattern: string } }> };
  };
  const toOpenApiPath = (path: string) => `/api/v1${path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
  const documented = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const resolve = <T>(node: T | Ref): T =>
    '$ref' in (node as object) ? (doc.components[(node as Ref).$ref.split('/')[2]!]![(node as Ref).$ref.split('/')[3]!] as T) : (node as T);
  /** The header parameters an operation declares, by name. */
  const requestHeaders = (op: OpenApiOperation) =>
    (op.parameters ?? [])
      .map((p) => resolve<Parameter>(p))
      .filter((p) => p.in === 'header')
      .map((p) => p.name);
  /** The headers an operation's answer declares, by status. */
  const answerHeaders = (op: OpenApiOperation, status: string) => Object.keys(resolve<Answer>(op.responses![status]!).headers ?? {});
  const operation = (name: string) => documented().find(({ op }) => op.operationId === name)!.op;
  const catalogEntry = (op: OpenApiOperation) => app.operations.find((o) => o.name === op.operationId)!;

  before(async () => {
    app = await startTestApp();
    const response = await api(app.baseUrl, 'GET', '/api/v1/openapi.json');
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.match(/^application\/json/);
    doc = response.body;
  });

  after(() => app?.close());

  describe('when it is fetched', () => {
    it('is OpenAPI 3.1.0', () => {
      expect(doc.openapi).to.equal('3.1.0');
    });

    it('has exactly one operation per catalog entry', () => {
      const fromCatalog = app.operations.map((op) => `${op.method} ${toOpenApiPath(op.path)} ${op.name}`).sort();
      const fromDocument = documented()
        .map(({ path, method, op }) => `${method} ${path} ${op.operationId}`)
        .sort();
      expect(fromDocument).to.deep.equal(fromCatalog);
    });

    it('gives every operation a unique operationId and its capability', () => {
      const ids = documented().map(({ op }) => op.operationId);
      expect(new Set(ids).size).to.equal(ids.length);
      for (const { path, method, op } of documented()) {
        expect(op.operationId, `${method} ${path}`).to.be.a('string').with.length.above(0);
        const capability = app.operations.find((o) => o.name === op.operationId)?.capability;
        expect(op['x-capability'], `${method} ${path}`).to.equal(capability);
      }
    });

    it('documents the success answer and problem answers of every operation', () => {
      for (const { path, method, op } of documented()) {
        const catalog = app.operations.find((o) => o.name === op.operationId)!;
        expect(op.responses, `${method} ${path}`).to.have.keys(String(catalog.successStatus ?? 200), '429', '4XX', '5XX');
      }
    });

    it('declares every path parameter', () => {
      for (const { path, method, op } of documented()) {
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? [])
          .map((p) => resolve<Parameter>(p))
          .filter((p) => p.in === 'path')
          .map((p) => p.name);
        expect(declared, `${method} ${path}`).to.deep.equal(inPath);
      }
    });

    it('lists the static task paths next to the parameterised ones', () => {
      expect(doc.paths).to.include.keys(
        '/api/v1/tasks',
        '/api/v1/tasks/tree',
        '/api/v1/tasks/ready',
        '/api/v1/tasks/dashboard',
        '/api/v1/tasks/{id}',
        '/api/v1/tasks/{id}/dependencies',
        '/api/v1/projects',
        '/api/v1/projects/{projectId}',
      );
      expect(doc.paths['/api/v1/tasks/ready']).to.have.property('get');
      expect(doc.paths['/api/v1/tasks/dashboard']).to.have.property('get');
    });

    it('resolves every $ref inside the document', () => {
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
      expect(refs).to.have.length.above(0);
      for (const ref of refs) {
        const [, kind, name] = /^#\/components\/(schemas|parameters|headers|responses)\/([^/]+)$/.exec(ref) ?? [];
        expect(kind, ref).to.be.a('string');
        expect(doc.components[kind!], ref).to.have.property(name!);
      }
    });

    it('says of every object schema which keys it takes, so no generated client types one as empty', () => {
      expect(objectsWithoutKeys(doc, '#')).to.deep.equal([]);
    });
  });

  describe('when it declares headers', () => {
    it('offers Idempotency-Key on every command and on nothing else', () => {
      for (const { path, method, op } of documented()) {
        expect(requestHeaders(op).includes('Idempotency-Key'), `${method} ${path}`).to.equal(catalogEntry(op).kind === 'command');
      }
    });

    it('offers If-Match exactly where the operation takes an expectedVersion', () => {
      const guarded = documented().filter(({ op }) => requestHeaders(op).includes('If-Match'));
      expect(guarded.map(({ op }) => op.operationId)).to.include.members(['updateTask', 'deleteTask', 'changeTaskStatus', 'assignRole']);
      for (const { path, method, op } of documented()) {
        const takesVersion = 'expectedVersion' in ((catalogEntry(op).input.properties ?? {}) as object);
        expect(requestHeaders(op).includes('If-Match'), `${method} ${path}`).to.equal(takesVersion);
      }
    });

    it('offers X-Vespera-Min-Position on every query and on nothing else', () => {
      for (const { path, method, op } of documented()) {
        expect(requestHeaders(op).includes('X-Vespera-Min-Position'), `${method} ${path}`).to.equal(catalogEntry(op).kind === 'query');
      }
    });

    it('offers X-Vespera-Role and X-Correlation-Id on every operation', () => {
      for (const { path, method, op } of documented())
        expect(requestHeaders(op), `${method} ${path}`).to.include.members(['X-Vespera-Role', 'X-Correlation-Id']);
    });

    it('declares Retry-After on the rate-limited answer of every operation', () => {
      for (const { path, method, op } of documented()) expect(answerHeaders(op, '429'), `${method} ${path}`).to.include('Retry-After');
    });

    it('declares ETag and X-Vespera-Position on the answers that carry them, as the server sends them', async () => {
      const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Headers' });
      const read = await api(app.baseUrl, 'GET', `/api/v1/tasks/${created.body.id}`);
      const updated = await api(
        app.baseUrl,
        'PATCH',
        `/api/v1/tasks/${created.body.id}`,
        { priority: 'high' },
        { 'if-match': read.headers.get('etag')! },
      );
      const dashboard = await api(app.baseUrl, 'GET', '/api/v1/tasks/dashboard');
      const project = await api(app.baseUrl, 'POST', '/api/v1/projects', { id: 'headers', name: 'Headers' });
      const sent = { createTask: created, getTask: read, updateTask: updated, getTaskDashboard: dashboard, createProject: project };
      for (const [name, response] of Object.entries(sent)) {
        expect(response.status, name).to.be.within(200, 201);
        const declared = answerHeaders(operation(name), String(response.status));
        for (const header of ['ETag', 'X-Vespera-Position', 'X-Correlation-Id']) {
          expect(declared.includes(header), `${name} declares ${header}`).to.equal(response.headers.has(header));
        }
      }
      expect(answerHeaders(operation('createTask'), '201')).to.include.members(['ETag', 'X-Vespera-Position']);
      expect(answerHeaders(operation('getTask'), '200'))
        .to.include('ETag')
        .and.not.include('X-Vespera-Position');
      expect(answerHeaders(operation('getTaskDashboard'), '200')).to.deep.equal(['X-Correlation-Id']);
    });

    it('declares the Retry-After the server sends once a caller is rate limited', async () => {
      const limited = await startTestApp({ rateLimitPerMinute: 1 });
      try {
        let response = await api(limited.baseUrl, 'GET', '/api/v1/tasks/dashboard');
        for (let i = 0; i < 3 && response.status !== 429; i++) response = await api(limited.baseUrl, 'GET', '/api/v1/tasks/dashboard');
        expect(response.status).to.equal(429);
        expect(response.headers.get('retry-after')).to.match(new RegExp(doc.components.headers.RetryAfter!.schema.pattern));
      } finally {
        await limited.close();
      }
    });
  });
});
