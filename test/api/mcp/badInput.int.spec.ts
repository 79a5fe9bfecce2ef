import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../../support/testApp.js';
import { call, connect, ok, refused, type Connected } from './support.js';

describe('MCP bad input', () => {
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
  afterEach(async () => {
    // Whatever came before, the server still answers.
    ok(await call(mcp.client, 'list_tasks', { limit: 1 }));
  });

  it('answers an unknown tool with a JSON-RPC invalid-params error', async () => {
    const error = await call(mcp.client, 'teleport_task', {}).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(McpError);
    expect((error as McpError).code).to.equal(-32602);
    expect((error as McpError).message).to.include('Unknown tool: teleport_task');
  });

  it('refuses missing arguments, naming them', async () => {
    const error = refused(await call(mcp.client, 'get_task', {}), 'VALIDATION_ERROR');
    expect(error.message).to.include('`id` is required');
  });

  it('refuses mistyped arguments', async () => {
    refused(await call(mcp.client, 'create_task', { title: 42 }), 'VALIDATION_ERROR');
    refused(await call(mcp.client, 'list_tasks', { limit: 'many' }), 'VALIDATION_ERROR');
    refused(await call(mcp.client, 'change_task_status', { id: 'x', status: 'teleported' }), 'VALIDATION_ERROR');
  });

  it('refuses unknown arguments', async () => {
    refused(await call(mcp.client, 'get_task', { id: 'x', sudo: true }), 'VALIDATION_ERROR');
  });

  it('refuses 100 KB strings', async () => {
    const huge = 'x'.repeat(100_000);
    refused(await call(mcp.client, 'create_task', { title: huge }), 'VALIDATION_ERROR');
    refused(await call(mcp.client, 'create_task', { title: 'ok', description: huge }), 'VALIDATION_ERROR');
    refused(await call(mcp.client, 'get_task', { id: huge }), 'VALIDATION_ERROR');
  });

  it('refuses arguments nested too deep before walking them', async () => {
    let metadata: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) metadata = { inner: metadata };
    refused(await call(mcp.client, 'create_task', { title: 'deep', metadata }), 'INPUT_TOO_DEEP');
  });

  it('refuses unknown ids with their not-found code', async () => {
    refused(await call(mcp.client, 'get_task', { id: 'no-such-task' }), 'TASK_NOT_FOUND');
    refused(await call(mcp.client, 'get_project', { projectId: 'no-such-project' }), 'PROJECT_NOT_FOUND');
    refused(await call(mcp.client, 'get_role', { name: 'no_such_role' }), 'ROLE_NOT_FOUND');
  });

  it('answers a failure inside an operation as INTERNAL_ERROR with a correlation id, not a crash', async () => {
    const op = app.operations.find((o) => o.tool === 'get_task')! as { run: unknown };
    const run = op.run;
    op.run = async () => {
      throw new Error('disk on fire');
    };
    try {
      const error = refused(await call(mcp.client, 'get_task', { id: 'any' }), 'INTERNAL_ERROR');
      expect(error.correlationId).to.match(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(error)).to.not.include('disk on fire');
    } finally {
      op.run = run;
    }
  });
});
