import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { expect } from 'chai';
import { tryOwnerLock } from '../../../src/wiring/ownerLock.js';
import { startTestApp, type TestApp } from '../../support/testApp.js';

type Line = { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } };

/** A raw client of the owner's MCP socket, as a bridge is: one line out, lines back. */
const dial = async (socketPath: string) => {
  const socket = net.connect(socketPath);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const lines: Line[] = [];
  readline.createInterface({ input: socket }).on('line', (line) => lines.push(JSON.parse(line) as Line));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const send = (message: unknown) => socket.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  const answer = async (id: unknown) => {
    for (let i = 0; i < 400; i++) {
      const found = lines.find((l) => l.id === id);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no answer to ${String(id)}: ${JSON.stringify(lines)}`);
  };
  const handshake = async () => {
    send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await answer('init');
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  };
  return { socket, lines, closed, send, answer, handshake };
};

describe('The owner’s MCP socket (what `vespera mcp` bridges to)', () => {
  let app: TestApp;
  let socketPath: string;
  before(async () => {
    app = await startTestApp();
    socketPath = (JSON.parse(fs.readFileSync(path.join(app.dataDir, 'server.json'), 'utf8')) as { mcpSocket: string }).mcpSocket;
  });
  after(async () => app?.close());

  it('is announced in server.json and readable by its owner only (0600)', () => {
    expect(socketPath).to.be.a('string');
    expect(fs.statSync(socketPath).mode & 0o777).to.equal(0o600);
  });

  it('holds the data directory’s owner lock: no other taker while the app runs', () => {
    expect(tryOwnerLock(app.dataDir)).to.equal(undefined);
  });

  it('refuses a connection whose first line is not a bridge hello with -32600, and closes it', async () => {
    const client = await dial(socketPath);
    client.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    await client.closed;
    expect(client.lines).to.have.length(1);
    expect(client.lines[0]!.error?.code).to.equal(-32600);
    expect(client.lines[0]!.error?.message).to.include('bridge hello');
  });

  it('serves a session with the token of the hello: a read-only token is listed no writing tool', async () => {
    const pluginId = `reader-${randomUUID().slice(0, 8)}`;
    const meta = { actor: 'spec', tool: 'test', commandId: randomUUID() };
    await app.plugins.register({ pluginId, name: pluginId, type: 'agent', capabilities: ['task_reading'] }, meta);
    const jti = randomUUID();
    const recorded = await app.plugins.recordToken(
      { pluginId, jti, capabilities: ['task_reading'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
      { ...meta, commandId: randomUUID() },
    );
    await app.projector.waitFor(recorded.position, 5000);
    const { token } = await app.tokens.issue(pluginId, ['task_reading'], 3600, jti);
    const client = await dial(socketPath);
    client.send({ vespera: 'bridge', version: 1, token });
    await client.handshake();
    client.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const names = ((await client.answer(2)).result!.tools as Array<{ name: string }>).map((t) => t.name);
    expect(names).to.include('get_task').and.not.include('create_task');
    client.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } });
    expect((await client.answer(3)).result!.isError ?? false).to.equal(false);
    client.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'create_task', arguments: { title: 'Not with a read-only token' } } });
    const refused = (await client.answer(4)).result!;
    expect(refused.isError).to.equal(true);
    expect(JSON.stringify(refused.content)).to.include('MISSING_CAPABILITY');
    client.socket.destroy();
  });

  it('answers every call of a session whose token is refused with a tool error naming the command to run', async () => {
    const client = await dial(socketPath);
    client.send({ vespera: 'bridge', version: 1, token: 'not-a-token' });
    await client.handshake();
    client.send({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } });
    const refused = (await client.answer(6)).result!;
    expect(refused.isError).to.equal(true);
    expect(JSON.stringify(refused.content)).to.include('vespera token create');
    client.socket.destroy();
  });

  it('acts with the data directory’s admin token when the hello names none', async () => {
    const client = await dial(socketPath);
    client.send({ vespera: 'bridge', version: 1 });
    await client.handshake();
    client.send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'create_task', arguments: { title: 'Over the socket' } } });
    const created = (await client.answer(5)).result!;
    expect(created.isError ?? false, JSON.stringify(created.content)).to.equal(false);
    client.socket.destroy();
  });
});
