import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

type OpenApiOperation = {
  operationId?: string;
  'x-capability'?: string;
  responses?: Record<string, unknown>;
  parameters?: { name: string; in: string }[];
};

describe('OpenAPI document', () => {
  let app: TestApp;
  let doc: { openapi: string; paths: Record<string, Record<string, OpenApiOperation>>; components: { schemas: Record<string, unknown> } };
  const toOpenApiPath = (path: string) => `/api/v1${path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
  const documented = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

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
        expect(op.responses, `${method} ${path}`).to.have.keys(String(catalog.successStatus ?? 200), '4XX');
      }
    });

    it('declares every path parameter', () => {
      for (const { path, method, op } of documented()) {
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
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
        expect(ref).to.match(/^#\/components\/schemas\//);
        expect(doc.components.schemas, ref).to.have.property(ref.replace('#/components/schemas/', ''));
      }
    });
  });
});
