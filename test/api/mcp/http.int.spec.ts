import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { call, ok, refused } from './support.js';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('MCP over Streamable HTTP (/mcp, stateless)', () => {
  let app: TestApp;
  const clients: Client[] = [];

  /** A token of a new plugin holding exactly these capabilities. */
  const tokenWith = async (capabilities: string[]): Promise<string> => {
    const id = `http-${capabilities.join('-')}-${Date.now()}`;
    expect((await api(app.baseUrl, 'POST', '/api/v1/plugins', { id, name: id, type: 'agent', capabilities })).status).to.equal(201);
    return (await api(app.baseUrl, 'POST', `/api/v1/plugins/${id}/tokens`, {})).body.token as string;
  };
  const clientWith = async (token: string): Promise<Client> => {
    const client = new Client({ name: 'vespera-http-spec', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${app.baseUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    clients.push(client);
    return client;
  };
  const postRaw = (headers: Record<string, string>) =>
    fetch(`${app.baseUrl}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(INITIALIZE),
    });

  before(async () => {
    app = await startTestApp({ mcpTools: 'all' });
  });
  after(async () => {
    for (const client of clients) await client.close();
    await app?.close();
  });

  describe('when the token lacks the capability a tool needs', () => {
    it('refuses the tool with MISSING_CAPABILITY, as REST refuses the route', async () => {
      const reader = await clientWith(await tokenWith(['task_reading']));
      const error = refused(await call(reader, 'create_task', { title: 'Not allowed' }), 'MISSING_CAPABILITY');
      expect(error.details).to.include({ required: 'task_creation' });
      expect(
        (await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Not allowed' }, { authorization: `Bearer ${await tokenWith(['task_reading'])}` }))
          .status,
      ).to.equal(403);
    });
  });

  describe('when a write is retried with its idempotencyKey', () => {
    it('answers the retry (a new stateless server) with the first task, and a REST resend of the key too', async () => {
      const token = await tokenWith(['task_creation', 'task_reading']);
      const agent = await clientWith(token);
      const args = { title: 'Filed over HTTP once', idempotencyKey: 'http-retry-0001' };
      const first = ok(await call(agent, 'create_task', args));
      expect(ok(await call(agent, 'create_task', args)).id).to.equal(first.id);
      const headers = { authorization: `Bearer ${token}`, 'idempotency-key': 'http-retry-0001' };
      const rest = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Filed over HTTP once' }, headers);
      expect([rest.status, rest.body.id]).to.deep.equal([201, first.id]);
      expect((await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Another' }, headers)).body.code).to.equal('IDEMPOTENCY_KEY_REUSED');
    });
  });

  describe('when the token has the capability', () => {
    it('runs the tool, and the events record tool mcp:<name> and the plugin as actor', async () => {
      const token = await tokenWith(['task_creation', 'task_reading']);
      const writer = await clientWith(token);
      const task = ok<{ id: string; title: string }>(await call(writer, 'create_task', { title: 'Made over HTTP' }));
      expect(ok(await call(writer, 'get_task', { id: task.id }))).to.include({ title: 'Made over HTTP' });
      const history = ok<{ items: Array<{ tool: string; actor: string; type: string }> }>(await call(writer, 'get_task_history', { id: task.id }));
      expect(history.items[0]).to.include({ type: 'TaskCreated', tool: 'mcp:create_task' });
      expect(history.items[0]!.actor).to.match(/^http-task_creation-task_reading-/);
    });

    it('records the HTTP request in the events: its X-Correlation-Id and traceparent, in a session and without one', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const headers = { authorization: `Bearer ${app.adminToken}`, 'x-correlation-id': 'mcp-in-session', traceparent };
      const client = new Client({ name: 'vespera-http-spec', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${app.baseUrl}/mcp`), { requestInit: { headers } }));
      clients.push(client);
      ok(await call(client, 'create_task', { title: 'Traced over MCP' }));
      const inSession = await api(app.baseUrl, 'GET', '/api/v1/audit/correlations/mcp-in-session');
      expect(inSession.status, JSON.stringify(inSession.body)).to.equal(200);
      expect(inSession.body.items.map((e: { type: string }) => e.type)).to.include('TaskCreated');
      expect(inSession.body.items[0].metadata).to.include({ correlationId: 'mcp-in-session', traceparent, tool: 'mcp:create_task' });

      const stateless = await fetch(`${app.baseUrl}/mcp`, {
        method: 'POST',
        headers: {
          ...headers,
          'x-correlation-id': 'mcp-stateless',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'create_task', arguments: { title: 'Traced without a session' } },
        }),
      });
      expect(stateless.status).to.equal(200);
      const events = await api(app.baseUrl, 'GET', '/api/v1/audit/correlations/mcp-stateless');
      expect(events.body.items[0].metadata).to.include({ correlationId: 'mcp-stateless', traceparent });
    });

    it('lists the configured tool set', async () => {
      const client = await clientWith(app.adminToken);
      expect((await client.listTools()).tools.map((t) => t.name)).to.deep.equal(app.operations.map((op) => op.tool));
    });
  });

  describe('without a valid token', () => {
    it('answers 401 problem+json when the token is missing', async () => {
      const response = await postRaw({});
      expect(response.status).to.equal(401);
      expect(response.headers.get('content-type')).to.include('application/problem+json');
      expect(response.headers.get('www-authenticate')).to.equal('Bearer');
      expect(await response.json()).to.include({ code: 'AUTHENTICATION_REQUIRED' });
    });

    it('answers 401 problem+json when the token is not one of ours', async () => {
      const response = await postRaw({ authorization: 'Bearer aaa.bbb.ccc' });
      expect(response.status).to.equal(401);
      expect(response.headers.get('content-type')).to.include('application/problem+json');
    });
  });

  it('answers GET with 405: stateless, there is no stream to resume', async () => {
    const response = await fetch(`${app.baseUrl}/mcp`, { headers: { authorization: `Bearer ${app.adminToken}`, accept: 'text/event-stream' } });
    expect(response.status).to.equal(405);
  });
});
