import { expect } from 'chai';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

const expectProblem = (response: JsonResponse, status: number, code: string): JsonResponse => {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
  expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(response.body.code).to.equal(code);
  return response;
};

const customRole = (name: string) => ({
  name,
  description: `Custom role ${name}`,
  capabilities: ['documentation'],
  filePatterns: ['docs/**'],
  tools: ['read_file'],
  maxConcurrentTasks: 2,
  restrictions: { maxFileChanges: 5, maxTaskDepth: 2, requireApproval: false, timeLimitMinutes: 60 },
});

describe('X-Vespera-Role', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const asRole = (role: string) => ({ 'x-vespera-role': role });

  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  describe('when it names a role that does not exist', () => {
    for (const role of ['admin', 'no_such_role']) {
      it(`refuses "${role}" with 422 UNKNOWN_ROLE and a hint naming how to list roles`, async () => {
        const response = expectProblem(await call('GET', '/plugins/me', undefined, asRole(role)), 422, 'UNKNOWN_ROLE');
        expect(response.body.hint).to.include('/api/v1/roles');
        expect(response.body.role).to.equal(role);
      });
    }

    it('refuses a write, and nothing is recorded', async () => {
      const before = await app.store.headPosition();
      expectProblem(await call('POST', '/tasks', { title: 'as an impostor' }, asRole('admin')), 422, 'UNKNOWN_ROLE');
      expect(await app.store.headPosition()).to.equal(before);
    });

    it('refuses it on the MCP endpoint as well', async () => {
      const response = await api(
        app.baseUrl,
        'POST',
        '/mcp',
        { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
        { ...asRole('admin'), accept: 'application/json, text/event-stream' },
      );
      expectProblem(response, 422, 'UNKNOWN_ROLE');
    });
  });

  describe('when it names a retired role', () => {
    it('refuses it with 422 ROLE_RETIRED', async () => {
      expect((await call('POST', '/roles', customRole('short_lived'))).status).to.equal(201);
      expect((await call('DELETE', '/roles/short_lived')).status).to.equal(200);
      expectProblem(await call('GET', '/plugins/me', undefined, asRole('short_lived')), 422, 'ROLE_RETIRED');
    });
  });

  describe('when it names a live role', () => {
    it('records that role in the history of what the caller changes', async () => {
      const task = await call('POST', '/tasks', { title: 'acted for the tester' }, asRole('tester'));
      expect(task.status, JSON.stringify(task.body)).to.equal(201);
      const history = await call('GET', `/tasks/${task.body.id}/history`);
      expect(history.body.items.map((h: { role?: string }) => h.role)).to.deep.equal(['tester']);
    });
  });
});
