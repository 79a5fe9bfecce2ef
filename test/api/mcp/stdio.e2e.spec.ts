import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { expect } from 'chai';
import { call, ok } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const VESPERA_MCP = ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'mcp'];

const environment = (dataDir: string, extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  VESPERA_DATA_DIR: dataDir,
  VESPERA_SYNC: 'normal',
  VESPERA_MCP_TOOLS: 'all',
  ...extra,
});

describe('vespera mcp (stdio, spawned)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-mcp-stdio-'));
  });
  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs create → claim → complete with the admin token of the data directory', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: VESPERA_MCP,
      cwd: ROOT,
      env: environment(dataDir),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'vespera-stdio-spec', version: '1.0.0' });
    const protocolErrors: Error[] = [];
    client.onerror = (error) => protocolErrors.push(error);
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      const task = ok<{ id: string }>(await call(client, 'create_task', { title: 'Ship the MCP server', priority: 'high' }));
      expect(ok(await call(client, 'get_task', { id: task.id }))).to.include({ status: 'pending', ready: true });
      expect(names, 'VESPERA_MCP_TOOLS=all lists the orchestration tools').to.include.members([
        'claim_next_task',
        'complete_task',
        'change_task_status',
      ]);
      const claim = ok<{ claimed: boolean; task: { id: string } }>(await call(client, 'claim_next_task', { role: 'generalist' }));
      expect(claim.claimed).to.equal(true);
      expect(claim.task.id).to.equal(task.id);
      ok(await call(client, 'complete_task', { id: task.id, output: 'Served over stdio.' }));
      expect(ok(await call(client, 'get_task', { id: task.id }))).to.include({ status: 'completed' });
      const keyed = { title: 'Filed once, sent twice', idempotencyKey: 'stdio-retry-0001' };
      const once = ok<{ id: string }>(await call(client, 'create_task', keyed));
      expect(ok(await call(client, 'create_task', keyed)).id, 'a retry with the same idempotencyKey').to.equal(once.id);
      const other = ok<{ id: string }>(await call(client, 'create_task', { title: 'Not needed after all' }));
      expect(ok(await call(client, 'change_task_status', { id: other.id, status: 'cancelled' }))).to.include({ status: 'cancelled' });
      const history = ok<{ items: Array<{ tool: string; actor: string }> }>(await call(client, 'get_task_history', { id: task.id }));
      expect(history.items.map((i) => i.tool)).to.include('mcp:create_task');
      expect(history.items[0]).to.include({ actor: 'admin' });
      expect(protocolErrors, 'stdout lines the client could not parse').to.deep.equal([]);
    } finally {
      await client.close();
    }
  });

  it('writes nothing but JSON-RPC on stdout, even logging at debug and refusing bad lines', async () => {
    const child = spawn(process.execPath, VESPERA_MCP, {
      cwd: ROOT,
      env: environment(dataDir, { VESPERA_LOG_LEVEL: 'debug' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const send = (message: object | string) => child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
    const answered = async (id: number) => {
      for (let waited = 0; waited < 30_000; waited += 50) {
        if (stdout.split('\n').some((line) => line.includes(`"id":${id}`))) return;
        if (child.exitCode !== null) throw new Error(`vespera mcp exited (${child.exitCode}): ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no answer to request ${id}`);
    };
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await answered(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send('this is not json');
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_task', arguments: { id: 'no-such-task' } } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'create_task', arguments: { title: 'x'.repeat(100_000) } } });
    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'create_task', arguments: { title: 'Still up' } } });
    await answered(4);
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));

    const lines = stdout.split('\n').filter((line) => line !== '');
    for (const line of lines) expect(JSON.parse(line), line.slice(0, 200)).to.include({ jsonrpc: '2.0' });
    const answers = new Map(
      lines.map((line) => JSON.parse(line) as { id: number; result?: { isError?: boolean; content: Array<{ text: string }> } }).map((m) => [m.id, m]),
    );
    expect(answers.get(2)?.result?.content[0]?.text).to.match(/^TASK_NOT_FOUND: /);
    expect(answers.get(3)?.result?.content[0]?.text).to.match(/^VALIDATION_ERROR: /);
    expect(answers.get(4)?.result?.isError).to.not.equal(true);
    expect(stderr, 'pino logs go to stderr').to.match(/"level":\d+/);
  });
});
