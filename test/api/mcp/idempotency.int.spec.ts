import { expect } from 'chai';
import { api, restartTestApp, startTestApp, type TestApp } from '../../support/testApp.js';
import { call, connect, ok, refused, type Connected } from './support.js';

/**
 * Retry-safe MCP: a write's `idempotencyKey` is REST's `Idempotency-Key` by another name — scoped to the plugin,
 * bound to one request, kept in keys.db across restarts — so an agent that lost its connection may resend.
 */
describe('MCP idempotency keys', () => {
  let app: TestApp;
  let mcp: Connected;
  before(async () => {
    app = await startTestApp();
    mcp = await connect(app);
  });
  after(async () => {
    await mcp?.close();
    await app?.close();
  });

  let projects = 0;
  const newProject = async (): Promise<string> => {
    const id = `retry-${++projects}`;
    ok(await call(mcp.client, 'create_project', { id, name: `Retry ${projects}` }));
    return id;
  };
  const taskCount = async (projectId: string): Promise<number> =>
    ok<{ items: unknown[] }>(await call(mcp.client, 'list_tasks', { projectId, limit: 200 })).items.length;

  describe('when create_task is retried with the same key', () => {
    it('creates one task and answers the retry with the same result', async () => {
      const projectId = await newProject();
      const args = { projectId, title: 'Write the parser', priority: 'high', idempotencyKey: 'mcp-retry-0001' };
      const first = await call(mcp.client, 'create_task', args);
      const second = await call(mcp.client, 'create_task', { ...args });
      expect(ok(second).id).to.equal(ok(first).id);
      expect(second.structuredContent).to.deep.equal(first.structuredContent);
      expect(await taskCount(projectId)).to.equal(1);
    });

    it('creates two tasks for two calls without a key', async () => {
      const projectId = await newProject();
      ok(await call(mcp.client, 'create_task', { projectId, title: 'Same title' }));
      ok(await call(mcp.client, 'create_task', { projectId, title: 'Same title' }));
      expect(await taskCount(projectId)).to.equal(2);
    });
  });

  describe('when the key is reused with other arguments', () => {
    it('refuses with IDEMPOTENCY_KEY_REUSED and creates nothing more', async () => {
      const projectId = await newProject();
      ok(await call(mcp.client, 'create_task', { projectId, title: 'First request', idempotencyKey: 'mcp-reused-0001' }));
      const error = refused(
        await call(mcp.client, 'create_task', { projectId, title: 'Another request', idempotencyKey: 'mcp-reused-0001' }),
        'IDEMPOTENCY_KEY_REUSED',
      );
      expect(error.status).to.equal(422);
      expect(error.details).to.include({ key: 'mcp-reused-0001', operation: 'createTask' });
      refused(await call(mcp.client, 'create_project', { name: 'Another tool', idempotencyKey: 'mcp-reused-0001' }), 'IDEMPOTENCY_KEY_REUSED');
      expect(await taskCount(projectId)).to.equal(1);
    });
  });

  describe('when the key is malformed or sent to a query', () => {
    it('refuses a key outside 8–128 of letters, digits, _ . : - with INVALID_IDEMPOTENCY_KEY', async () => {
      const projectId = await newProject();
      for (const idempotencyKey of ['short', 'x'.repeat(129), 'has space!', 42]) {
        refused(await call(mcp.client, 'create_task', { projectId, title: 'Never', idempotencyKey }), 'INVALID_IDEMPOTENCY_KEY');
      }
      expect(await taskCount(projectId)).to.equal(0);
    });

    it('offers the key on every write tool and on no read tool', async () => {
      const { tools } = await mcp.client.listTools();
      for (const tool of tools) {
        const op = app.operations.find((o) => o.tool === tool.name)!;
        expect(Object.keys(tool.inputSchema.properties ?? {}).includes('idempotencyKey'), tool.name).to.equal(op.kind === 'command');
      }
      refused(await call(mcp.client, 'list_tasks', { idempotencyKey: 'query-key-0001' }), 'VALIDATION_ERROR');
    });
  });

  describe('when the server restarts', () => {
    it('still remembers the key', async () => {
      const projectId = await newProject();
      const args = { projectId, title: 'Before the restart', idempotencyKey: 'mcp-restart-0001' };
      const first = ok(await call(mcp.client, 'create_task', args));
      await mcp.close();
      app = await restartTestApp(app);
      mcp = await connect(app);
      refused(await call(mcp.client, 'create_task', { ...args, title: 'After the restart' }), 'IDEMPOTENCY_KEY_REUSED');
      expect(ok(await call(mcp.client, 'create_task', args)).id).to.equal(first.id);
      expect(await taskCount(projectId)).to.equal(1);
    });
  });

  describe('when REST and MCP send the same key for the same plugin', () => {
    it('treats them as one key: the same request is answered once, another request is refused', async () => {
      const projectId = await newProject();
      const key = 'cross-surface-0001';
      const rest = await api(app.baseUrl, 'POST', '/api/v1/tasks', { projectId, title: 'Filed over REST' }, { 'idempotency-key': key });
      expect(rest.status, JSON.stringify(rest.body)).to.equal(201);
      const retried = ok(await call(mcp.client, 'create_task', { projectId, title: 'Filed over REST', idempotencyKey: key }));
      expect(retried.id).to.equal(rest.body.id);
      refused(await call(mcp.client, 'create_task', { projectId, title: 'Filed over MCP', idempotencyKey: key }), 'IDEMPOTENCY_KEY_REUSED');
      expect(await taskCount(projectId)).to.equal(1);
    });
  });
});
