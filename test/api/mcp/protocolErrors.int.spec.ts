import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { VERSION } from '../../../src/version.js';
import { buildMcpServer } from '../../../src/api/mcp/server.js';
import { servedTools } from '../../../src/api/mcp/tools.js';
import { startTestApp, type TestApp } from '../../support/testApp.js';
import { call, connect, refused, type Connected } from './support.js';

type Answer = { id: number; result?: unknown; error?: { code: number; message: string; data?: unknown } };

/** A raw JSON-RPC peer of the server: what a client that skips the SDK's own checks would send. */
const rawPeer = async (app: TestApp) => {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = buildMcpServer({
    tools: servedTools(app.operations, 'all'),
    validators: app.validators,
    authorizer: app.authorizer,
    caller: () => app.authorizer.authenticate(`Bearer ${app.adminToken}`),
    logger: app.logger,
    version: VERSION,
  });
  const answers = new Map<number, Answer>();
  clientSide.onmessage = (message: JSONRPCMessage) => {
    if ('id' in message) answers.set(Number(message.id), message as Answer);
  };
  await server.connect(serverSide);
  await clientSide.start();
  let next = 0;
  const request = async (method: string, params?: unknown): Promise<Answer> => {
    const id = ++next;
    await clientSide.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) } as JSONRPCMessage);
    for (let waited = 0; waited < 5000 && !answers.has(id); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    return answers.get(id) ?? { id, error: { code: 0, message: 'no answer' } };
  };
  await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
  return { request, close: () => server.close() };
};

const expectInvalidParams = (answer: Answer, mentions: string): void => {
  expect(answer.error, JSON.stringify(answer)).to.be.an('object');
  expect(answer.error!.code).to.equal(-32602);
  expect(answer.error!.message).to.include(mentions);
  expect(answer.error!.message, 'one line').to.not.include('\n');
  expect(answer.error!.message.length).to.be.below(200);
  expect(answer.error).to.not.have.property('data');
};

describe('MCP protocol errors', () => {
  let app: TestApp;
  let peer: Awaited<ReturnType<typeof rawPeer>>;

  before(async () => {
    app = await startTestApp();
    peer = await rawPeer(app);
  });
  after(async () => {
    await peer?.close();
    await app?.close();
  });

  describe('when tools/call carries no tool name', () => {
    it('answers -32602 Invalid params with one line naming `name`', async () => {
      expectInvalidParams(await peer.request('tools/call', { arguments: {} }), 'name');
    });

    it('answers -32602 when params are missing altogether', async () => {
      expectInvalidParams(await peer.request('tools/call'), 'name');
    });
  });

  describe('when tools/call carries arguments that are not an object', () => {
    for (const [label, args] of [
      ['a number', 5],
      ['a string', 'id=1'],
      ['an array', [1, 2]],
      ['null', null],
    ] as const) {
      it(`answers -32602 Invalid params with one line for ${label}`, async () => {
        expectInvalidParams(await peer.request('tools/call', { name: 'get_task', arguments: args }), 'arguments');
      });
    }
  });

  describe('when tools/call is well-formed', () => {
    it('still runs the tool', async () => {
      const answer = await peer.request('tools/call', { name: 'who_am_i', arguments: {} });
      expect((answer.result as { structuredContent?: object }).structuredContent, JSON.stringify(answer)).to.include({
        actor: 'admin',
        pluginId: 'admin',
      });
    });

    it('runs it with no arguments at all', async () => {
      const answer = await peer.request('tools/call', { name: 'who_am_i' });
      expect(answer.error, JSON.stringify(answer)).to.equal(undefined);
    });
  });

  describe('when an unknown method is called', () => {
    it('answers -32601 Method not found', async () => {
      expect((await peer.request('no/such/method', {})).error?.code).to.equal(-32601);
    });
  });

  describe('the hint for an unknown token id', () => {
    let connected: Connected;
    before(async () => {
      connected = await connect(app);
    });
    after(() => connected?.close());

    it('names only tools whose answers carry a jti', async () => {
      const error = refused(await call(connected.client, 'revoke_token', { pluginId: 'admin', jti: 'no-such-jti' }), 'TOKEN_NOT_FOUND');
      const { tools } = await connected.client.listTools();
      const named = tools.filter((tool) => new RegExp(`\\b${tool.name}\\b`).test(error.hint));
      for (const tool of named) {
        const op = app.operations.find((o) => o.tool === tool.name)!;
        expect(JSON.stringify(op.output), `${tool.name} answers no jti`).to.include('"jti"');
      }
      expect(error.hint).to.not.include('get_plugin');
    });
  });
});
