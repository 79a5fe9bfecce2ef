import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { MAX_JSON_TEXT } from '../../../src/api/mcp/results.js';
import type { JsonSchema } from '../../../src/api/schemas.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { call, connect, ok, refused, type Connected } from './support.js';

/** MCP as an agent meets it: text it can parse, only the tools it may call, hints it can follow, errors that say what fits. */
describe('MCP for agents', () => {
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

  const textOf = (result: CallToolResult): string => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  const tokenWith = async (id: string, capabilities: string[]): Promise<string> => {
    expect((await api(app.baseUrl, 'POST', '/api/v1/plugins', { id, name: id, type: 'agent', capabilities })).status).to.equal(201);
    return (await api(app.baseUrl, 'POST', `/api/v1/plugins/${id}/tokens`, {})).body.token as string;
  };

  describe('text content', () => {
    it(`is the compact JSON of the answer when it is at most ${MAX_JSON_TEXT} bytes`, async () => {
      const result = await call(mcp.client, 'create_task', { title: 'A task with a longer description', description: 'd'.repeat(2_000) });
      const task = ok(result);
      expect(textOf(result)).to.equal(JSON.stringify(task));
      expect(JSON.parse(textOf(result))).to.deep.equal(result.structuredContent);
    });

    it('is a one-line summary naming the task id when claim_next_task answers more than that', async () => {
      const projectId = 'agents-big';
      ok(await call(mcp.client, 'create_project', { id: projectId, name: 'Big answers' }));
      const created = ok(await call(mcp.client, 'create_task', { projectId, title: 'Big one', description: 'x'.repeat(MAX_JSON_TEXT + 100) }));
      const result = await call(mcp.client, 'claim_next_task', { role: 'generalist', projectId });
      expect(ok(result).task.id).to.equal(created.id);
      const text = textOf(result);
      expect(Buffer.byteLength(text)).to.be.below(MAX_JSON_TEXT);
      expect(text).to.include(`task.id="${created.id}"`).and.include('claimed=true').and.include('structuredContent');
    });
  });

  describe('tools/list', () => {
    // Any token may refresh itself (refresh_token, capability `authenticated`): that is the one write a reader is listed.
    it('lists a read-only token no writing tool but its own refresh, and only the tools its capabilities allow', async () => {
      const reader = await connect(app, { token: await tokenWith('reader-agent', ['task_reading', 'search']) });
      try {
        const { tools } = await reader.client.listTools();
        expect(tools.map((t) => t.name)).to.include.members(['get_task', 'list_tasks', 'search_tasks']);
        for (const tool of tools) {
          const { capability } = app.operations.find((op) => op.tool === tool.name)!;
          expect(['task_reading', 'search', 'authenticated'], tool.name).to.include(capability);
          if (capability !== 'authenticated') expect(tool.annotations?.readOnlyHint, tool.name).to.equal(true);
        }
        expect(tools.filter((t) => !t.annotations?.readOnlyHint).map((t) => t.name)).to.deep.equal(['refresh_token']);
        expect(tools.map((t) => t.name)).to.not.include('create_task');
        refused(await call(reader.client, 'create_task', { title: 'Not allowed' }), 'MISSING_CAPABILITY');
      } finally {
        await reader.close();
      }
    });

    it('lists an admin token every tool of the set', async () => {
      expect((await mcp.client.listTools()).tools.map((t) => t.name)).to.deep.equal(app.operations.map((op) => op.tool));
    });
  });

  describe('hints', () => {
    it('name only tools the session serves', async () => {
      const everything = refused(await call(mcp.client, 'get_task', { id: 'no-such-task' }), 'TASK_NOT_FOUND');
      expect(everything.hint).to.include('list_tasks');
      const narrow = await connect(app, { toolSet: 'get_task,create_task' });
      try {
        const error = refused(await call(narrow.client, 'get_task', { id: 'no-such-task' }), 'TASK_NOT_FOUND');
        expect(error.hint).to.not.match(/list_tasks|search_tasks/);
        const names = app.operations.map((op) => op.tool).filter((tool) => !['get_task', 'create_task'].includes(tool));
        const noProject = refused(await call(narrow.client, 'create_task', { title: 'x', projectId: 'no-such-project' }), 'PROJECT_NOT_FOUND');
        for (const name of names) expect(noProject.hint).to.not.include(name);
      } finally {
        await narrow.close();
      }
    });
  });

  describe('validation errors', () => {
    it('list the allowed values of an enum', async () => {
      const task = ok(await call(mcp.client, 'create_task', { title: 'Enum target' }));
      const error = refused(await call(mcp.client, 'change_task_status', { id: task.id, status: 'teleported' }), 'VALIDATION_ERROR');
      expect(error.message).to.include('"pending"').and.include('"completed"');
      const priority = refused(await call(mcp.client, 'list_tasks', { priority: ['urgent'] }), 'VALIDATION_ERROR');
      expect(priority.details.errors).to.deep.include({
        field: 'priority.0',
        message: '`priority.0` must be one of "low", "normal", "high", "critical"',
        allowed: ['low', 'normal', 'high', 'critical'],
      });
    });
  });

  describe('the catalog as the all set serves it', () => {
    it('gives every tool a title', async () => {
      for (const tool of (await mcp.client.listTools()).tools) expect(tool.title, tool.name).to.be.a('string').and.not.equal('');
    });

    it('describes every input field of every operation (a $ref by its definition)', () => {
      const missing: string[] = [];
      for (const op of app.operations) {
        const defs = (op.input.$defs ?? {}) as Record<string, JsonSchema>;
        for (const [field, schema] of Object.entries((op.input.properties ?? {}) as Record<string, JsonSchema>)) {
          const target = typeof schema.$ref === 'string' ? defs[schema.$ref.replace('#/$defs/', '')] : schema;
          if (typeof target?.description !== 'string' || target.description === '') missing.push(`${op.tool}.${field}`);
        }
      }
      expect(missing).to.deep.equal([]);
    });
  });
});
