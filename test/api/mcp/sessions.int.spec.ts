import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { expect } from 'chai';
import { ConfigError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/config.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { call, ok } from './support.js';

const PROTOCOL = '2025-06-18';
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const ORIGIN = 'https://app.example.com';
const TOOLS_LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

type Raw = { status: number; headers: Headers; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('MCP sessions over Streamable HTTP (/mcp)', () => {
  let app: TestApp;
  const clients: Client[] = [];

  const tokenWith = async (target: TestApp, capabilities: string[]): Promise<string> => {
    const id = `sess-${capabilities.join('-')}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
    const created = await api(target.baseUrl, 'POST', '/api/v1/plugins', { id, name: id, type: 'agent', capabilities });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    return (await api(target.baseUrl, 'POST', `/api/v1/plugins/${id}/tokens`, {})).body.token as string;
  };
  const connect = async (target: TestApp, token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> => {
    const transport = new StreamableHTTPClientTransport(new URL(`${target.baseUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'vespera-session-spec', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  };
  /** One raw JSON-RPC POST (or GET/DELETE without a body) to /mcp. */
  const raw = async (target: TestApp, method: string, headers: Record<string, string>, body?: unknown): Promise<Raw> => {
    const response = await fetch(`${target.baseUrl}/mcp`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const inSession = (token: string, sessionId: string) => ({ ...bearer(token), 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL });
  const openSession = async (target: TestApp, token: string): Promise<string> => {
    const answer = await raw(target, 'POST', bearer(token), INITIALIZE);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const sessionId = answer.headers.get('mcp-session-id');
    expect(sessionId, 'initialize answers with Mcp-Session-Id').to.match(/^[0-9a-f-]{36}$/);
    return sessionId!;
  };

  before(async () => {
    app = await startTestApp({ mcpTools: 'all' });
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await app?.close();
  });

  describe('when a client initializes without Mcp-Session-Id', () => {
    it('opens a session: the SDK client keeps its id and every later call goes through it', async () => {
      const { client, transport } = await connect(app, app.adminToken);
      expect(transport.sessionId).to.match(/^[0-9a-f-]{36}$/);
      const before = mcpSessions();
      const task = ok<{ id: string }>(await call(client, 'create_task', { title: 'Made in a session' }));
      expect(ok(await call(client, 'get_task', { id: task.id }))).to.include({ title: 'Made in a session' });
      expect(transport.sessionId, 'the same session throughout').to.be.a('string');
      expect(mcpSessions(), 'no session was opened by the calls').to.equal(before);
    });

    it('answers requests of the session from the same server: the session id is honoured on POST', async () => {
      const sessionId = await openSession(app, app.adminToken);
      const initialized = await raw(app, 'POST', inSession(app.adminToken, sessionId), { jsonrpc: '2.0', method: 'notifications/initialized' });
      expect(initialized.status).to.equal(202);
      const tools = await raw(app, 'POST', inSession(app.adminToken, sessionId), TOOLS_LIST);
      expect(tools.status).to.equal(200);
      expect(tools.body.result.tools.map((t: { name: string }) => t.name)).to.include('get_task');
    });
  });

  describe('when another token sends the session id', () => {
    it('answers 404 MCP_SESSION_NOT_FOUND and serves nothing, while the owner keeps using it', async () => {
      const owner = await tokenWith(app, ['task_reading']);
      const sessionId = await openSession(app, owner);
      const stranger = await tokenWith(app, ['task_reading']);
      for (const method of ['POST', 'GET', 'DELETE']) {
        const answer = await raw(app, method, inSession(stranger, sessionId), method === 'POST' ? TOOLS_LIST : undefined);
        expect(answer.status, method).to.equal(404);
        expect(answer.headers.get('content-type')).to.include('application/problem+json');
        expect(answer.body).to.include({ code: 'MCP_SESSION_NOT_FOUND' });
      }
      expect((await raw(app, 'POST', inSession(owner, sessionId), TOOLS_LIST)).status).to.equal(200);
    });

    it('refuses a revoked token with 401 even inside its own session', async () => {
      const id = `sess-revoked-${Date.now()}`;
      expect((await api(app.baseUrl, 'POST', '/api/v1/plugins', { id, name: id, type: 'agent', capabilities: ['task_reading'] })).status).to.equal(
        201,
      );
      const token = (await api(app.baseUrl, 'POST', `/api/v1/plugins/${id}/tokens`, {})).body.token as string;
      const sessionId = await openSession(app, token);
      expect((await api(app.baseUrl, 'POST', `/api/v1/plugins/${id}/revoke`, {})).status).to.equal(200);
      const answer = await raw(app, 'POST', inSession(token, sessionId), TOOLS_LIST);
      expect(answer.status).to.equal(401);
      expect(answer.body).to.include({ code: 'TOKEN_REVOKED' });
    });
  });

  describe('when the client ends the session with DELETE', () => {
    it('closes it: the id is unknown afterwards, and the SDK client terminates its session the same way', async () => {
      const sessionId = await openSession(app, app.adminToken);
      const before = mcpSessions();
      expect((await raw(app, 'DELETE', inSession(app.adminToken, sessionId))).status).to.equal(200);
      expect(mcpSessions()).to.equal(before - 1);
      const after = await raw(app, 'POST', inSession(app.adminToken, sessionId), TOOLS_LIST);
      expect(after.status).to.equal(404);
      expect(after.body).to.include({ code: 'MCP_SESSION_NOT_FOUND' });

      const { transport } = await connect(app, app.adminToken);
      const open = mcpSessions();
      await transport.terminateSession();
      expect(mcpSessions()).to.equal(open - 1);
    });
  });

  describe('when a client sends no session id after initialize (stateless)', () => {
    it('serves tools/list and tools/call as before, without opening a session', async () => {
      const before = mcpSessions();
      const tools = await raw(app, 'POST', bearer(app.adminToken), TOOLS_LIST);
      expect(tools.status).to.equal(200);
      expect(tools.headers.get('mcp-session-id')).to.equal(null);
      expect(tools.body.result.tools.length).to.equal(app.operations.length);
      const created = await raw(app, 'POST', bearer(app.adminToken), {
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'create_task', arguments: { title: 'Stateless still works' } },
      });
      expect(created.body.result.structuredContent).to.include({ title: 'Stateless still works' });
      expect(mcpSessions()).to.equal(before);
    });

    it('answers GET and DELETE without a session with 405', async () => {
      expect((await raw(app, 'GET', bearer(app.adminToken))).status).to.equal(405);
      expect((await raw(app, 'DELETE', bearer(app.adminToken))).status).to.equal(405);
    });
  });

  describe('with VESPERA_MCP_SESSIONS=off', () => {
    let off: TestApp;
    before(async () => {
      off = await startTestApp({ mcpTools: 'core' }, { VESPERA_MCP_SESSIONS: 'off' });
    });
    after(async () => off?.close());

    it('answers initialize without a session id, and the SDK client works statelessly', async () => {
      const answer = await raw(off, 'POST', bearer(off.adminToken), INITIALIZE);
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('mcp-session-id')).to.equal(null);
      const { client, transport } = await connect(off, off.adminToken);
      expect(transport.sessionId).to.equal(undefined);
      ok(await call(client, 'list_tasks', {}));
    });
  });

  describe('limits', () => {
    let small: TestApp;
    before(async () => {
      small = await startTestApp({ corsOrigins: [ORIGIN] }, { VESPERA_MCP_MAX_SESSIONS: '2', VESPERA_MCP_SESSION_IDLE_MS: '1000' });
    });
    after(async () => small?.close());

    it('refuses a session past VESPERA_MCP_MAX_SESSIONS with 503 MCP_SESSIONS_EXHAUSTED, and closes idle ones', async function () {
      this.timeout(20_000);
      await openSession(small, small.adminToken);
      await openSession(small, small.adminToken);
      const third = await raw(small, 'POST', bearer(small.adminToken), INITIALIZE);
      expect(third.status).to.equal(503);
      expect(third.body).to.include({ code: 'MCP_SESSIONS_EXHAUSTED' });
      expect(third.headers.get('retry-after')).to.equal('60');
      // Idle for more than a second: swept, so there is room again.
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect(mcpSessionsOf(small)).to.equal(0);
      await openSession(small, small.adminToken);
    });

    it('closes a session that only listens once its token is revoked, ending its stream', async function () {
      this.timeout(20_000);
      const token = await tokenWith(small, ['task_reading']);
      const pluginId = ((await api(small.baseUrl, 'GET', '/api/v1/plugins/me', undefined, bearer(token))).body as { pluginId: string }).pluginId;
      const sessionId = await openSession(small, token);
      const stream = await fetch(`${small.baseUrl}/mcp`, { headers: { ...inSession(token, sessionId), accept: 'text/event-stream' } });
      expect(stream.status).to.equal(200);
      const ended = (async () => {
        const reader = stream.body!.getReader();
        while (!(await reader.read()).done);
        return performance.now();
      })();
      // Listening keeps it from going idle: still open after the idle time.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(small.mcpSessions.size, 'sessions open while listening').to.be.above(0);
      const open = small.mcpSessions.size;
      expect((await api(small.baseUrl, 'POST', `/api/v1/plugins/${pluginId}/revoke`, {})).status).to.equal(200);
      const revokedAt = performance.now();
      const endedAt = await Promise.race([ended, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 5000))]);
      expect(endedAt - revokedAt, 'ms until the stream ends').to.be.below(3000);
      expect(small.mcpSessions.size).to.equal(open - 1);
    });

    it('lets a browser on an allowed origin read Mcp-Session-Id', async () => {
      const answer = await raw(small, 'POST', { ...bearer(small.adminToken), origin: ORIGIN }, INITIALIZE);
      expect(answer.headers.get('mcp-session-id')).to.be.a('string');
      expect(answer.headers.get('access-control-expose-headers')).to.include('Mcp-Session-Id');
      expect((await raw(small, 'DELETE', { ...inSession(small.adminToken, answer.headers.get('mcp-session-id')!), origin: ORIGIN })).status).to.equal(
        200,
      );
    });

    it('refuses a bad session setting at start, by variable name', () => {
      expect(() => loadConfig({ VESPERA_MCP_SESSIONS: 'maybe' })).to.throw(ConfigError, /VESPERA_MCP_SESSIONS/);
      expect(() => loadConfig({ VESPERA_MCP_MAX_SESSIONS: '0' })).to.throw(ConfigError, /VESPERA_MCP_MAX_SESSIONS/);
      expect(() => loadConfig({ VESPERA_MCP_SESSION_IDLE_MS: '10' })).to.throw(ConfigError, /VESPERA_MCP_SESSION_IDLE_MS/);
    });
  });

  describe('when the app stops', () => {
    it('closes every session, its notice stream included, without waiting for the connection timeout', async () => {
      const stopping = await startTestApp();
      const { transport } = await connect(stopping, stopping.adminToken);
      expect(transport.sessionId).to.be.a('string');
      // The SDK client holds a GET notice stream open once initialized; give it a moment to open.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      await stopping.close();
      expect(performance.now() - started, 'ms to stop').to.be.below(4000);
      expect(mcpSessionsOf(stopping)).to.equal(0);
    });
  });

  const mcpSessionsOf = (target: TestApp): number => target.mcpSessions.size;
  const mcpSessions = () => mcpSessionsOf(app);
});
