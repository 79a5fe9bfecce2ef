import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';

const PROTOCOL = '2025-06-18';

type Answer = { status: number; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('MCP over Streamable HTTP without a session: pooled servers', () => {
  let app: TestApp;
  let reader: string;
  let writer: string;
  let id = 0;

  const tokenWith = async (capabilities: string[]): Promise<string> => {
    const plugin = `pool-${capabilities.join('-')}-${Date.now()}`;
    expect((await api(app.baseUrl, 'POST', '/api/v1/plugins', { id: plugin, name: plugin, type: 'agent', capabilities })).status).to.equal(201);
    return (await api(app.baseUrl, 'POST', `/api/v1/plugins/${plugin}/tokens`, {})).body.token as string;
  };
  /** One stateless JSON-RPC request (no Mcp-Session-Id) with this token. */
  const rpc = async (token: string, method: string, params: Record<string, unknown> = {}, correlationId?: string): Promise<Answer> => {
    const response = await fetch(`${app.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': PROTOCOL,
        ...(correlationId ? { 'x-correlation-id': correlationId } : {}),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
    });
    return { status: response.status, body: await response.json() };
  };
  const toolNames = async (token: string): Promise<string[]> =>
    ((await rpc(token, 'tools/list')).body.result.tools as Array<{ name: string }>).map((t) => t.name);
  const createTask = (token: string, title: string, correlationId?: string) =>
    rpc(token, 'tools/call', { name: 'create_task', arguments: { title } }, correlationId);
  const actorOf = async (correlationId: string): Promise<string> => {
    const events = await api(app.baseUrl, 'GET', `/api/v1/audit/correlations/${correlationId}`);
    expect(events.status, JSON.stringify(events.body)).to.equal(200);
    return events.body.items[0].metadata.actor as string;
  };

  before(async () => {
    app = await startTestApp({ mcpTools: 'all' }, { VESPERA_MCP_SESSIONS: 'off' });
    reader = await tokenWith(['task_reading']);
    writer = await tokenWith(['task_creation', 'task_reading']);
  });
  after(async () => {
    await app?.close();
  });

  describe('when one request after another is served', () => {
    it('answers them from one reused server instead of building one per request', async () => {
      for (let i = 0; i < 5; i++) expect((await rpc(writer, 'tools/list')).status).to.equal(200);
      expect(app.mcpStateless.idleCount).to.equal(1);
    });
  });

  describe('when a read-only token and a writing token take turns on the same pooled server', () => {
    it('lists each token its own tools: the reader is never offered a writing tool, the writer is', async () => {
      for (let turn = 0; turn < 3; turn++) {
        const [readerTools, writerTools] = [await toolNames(reader), await toolNames(writer)];
        expect(readerTools).to.include('get_task').and.not.include('create_task');
        expect(writerTools).to.include('create_task');
      }
      expect(app.mcpStateless.idleCount).to.equal(1);
    });

    it('refuses the reader the write the writer has just made on that server, and records each call under its own actor', async () => {
      for (let turn = 0; turn < 3; turn++) {
        const written = await createTask(writer, `Pooled write ${turn}`, `pool-writer-${turn}`);
        expect(written.body.result.isError ?? false, JSON.stringify(written.body)).to.equal(false);
        const refused = await createTask(reader, `Pooled refusal ${turn}`, `pool-reader-${turn}`);
        expect(refused.body.result.isError).to.equal(true);
        expect(refused.body.result._meta['vespera/error'].code).to.equal('MISSING_CAPABILITY');
        expect(await actorOf(`pool-writer-${turn}`)).to.match(/^pool-task_creation-task_reading-/);
      }
    });
  });

  describe('when requests of both tokens are in flight at once', () => {
    it('serves them on several servers and still answers each with its own caller, then keeps the servers for later', async () => {
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? createTask(writer, `Concurrent ${i}`, `pool-burst-${i}`) : toolNames(reader))),
      );
      answers.forEach((answer, i) => {
        if (i % 2 === 0) expect((answer as Answer).body.result.isError ?? false, JSON.stringify(answer)).to.equal(false);
        else expect(answer as string[]).to.not.include('create_task');
      });
      for (let i = 0; i < 12; i += 2) expect(await actorOf(`pool-burst-${i}`)).to.match(/^pool-task_creation-task_reading-/);
      expect(app.mcpStateless.idleCount).to.be.within(2, 16);
    });
  });

  describe('when a stateless initialize is answered', () => {
    it('closes that server instead of pooling it: it holds the client capabilities that client declared', async () => {
      const before = app.mcpStateless.idleCount;
      const answer = await rpc(writer, 'initialize', { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
      expect(answer.status).to.equal(200);
      expect(answer.body.result.serverInfo.name).to.equal('vespera');
      expect(app.mcpStateless.idleCount).to.be.at.most(before);
    });
  });
});
