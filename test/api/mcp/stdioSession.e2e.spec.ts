import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const VESPERA_MCP = ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'mcp'];

type Message = {
  jsonrpc: string;
  id?: number | null;
  result?: { isError?: boolean; structuredContent?: Record<string, unknown>; content?: Array<{ text: string }> };
  error?: { code: number; message: string };
};

/** `vespera mcp` spawned over `dataDir`, spoken to line by line. */
const spawnMcp = async (dataDir: string, extra: Record<string, string> = {}) => {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    VESPERA_DATA_DIR: dataDir,
    VESPERA_SYNC: 'normal',
    VESPERA_MCP_TOOLS: 'all',
    VESPERA_LOG_LEVEL: 'warn',
    ...extra,
  };
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, VESPERA_MCP, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Message[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const line of complete.filter(Boolean)) lines.push(JSON.parse(line) as Message);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const until = async (found: () => Message | undefined, what: string, timeoutMs = 20_000): Promise<Message> => {
    for (let waited = 0; waited < timeoutMs; waited += 25) {
      const message = found();
      if (message) return message;
      if (child.exitCode !== null) throw new Error(`vespera mcp exited (${child.exitCode}) before ${what}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no ${what}: ${stderr}`);
  };
  let next = 0;
  const request = (method: string, params: unknown) => {
    const id = ++next;
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return until(() => lines.find((m) => m.id === id), `an answer to request ${id}`);
  };
  const tool = async (name: string, args: Record<string, unknown> = {}) => (await request('tools/call', { name, arguments: args })).result!;
  const raw = (line: string) => {
    const seen = lines.length;
    child.stdin.write(`${line}\n`);
    return until(() => lines.slice(seen).find((m) => m.id === null), `answer to ${JSON.stringify(line)}`, 5000);
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
  };
  await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  return { request, tool, raw, stop };
};

/** Every file and directory under `dir`, with its permission bits. */
const modesUnder = (dir: string): Array<[string, number]> =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    return [path.relative(dir, file), fs.lstatSync(file).mode & 0o777] as [string, number];
  });

describe('vespera mcp session (stdio, spawned)', () => {
  let parent: string;
  let dataDir: string;
  let session: Awaited<ReturnType<typeof spawnMcp>>;

  before(async () => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-mcp-session-'));
    dataDir = path.join(parent, 'data');
    session = await spawnMcp(dataDir);
  });
  after(async () => {
    await session?.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  describe('when a line is not JSON', () => {
    it('answers a JSON-RPC parse error (-32700) with id null, and keeps serving', async () => {
      const answer = await session.raw('this is not json');
      expect(answer.error?.code).to.equal(-32700);
      expect(answer.error?.message).to.be.a('string').and.not.include('\n');
      expect((await session.tool('who_am_i')).isError ?? false).to.equal(false);
    });
  });

  describe('when a line is JSON but no JSON-RPC message', () => {
    it('answers Invalid Request (-32600)', async () => {
      expect((await session.raw('{"hello":"world"}')).error?.code).to.equal(-32600);
    });
  });

  describe('when the session refreshes its own token (the admin token of the data directory)', () => {
    let refreshedJti: unknown;

    it('switches to the new token: later calls still work and act with the new jti', async () => {
      const before = (await session.tool('who_am_i')).structuredContent!;
      const fresh = await session.tool('refresh_token');
      expect(fresh.isError ?? false, fresh.content?.[0]?.text).to.equal(false);
      const after = await session.tool('who_am_i');
      expect(after.isError ?? false, after.content?.[0]?.text).to.equal(false);
      expect(after.structuredContent!.jti).to.equal(fresh.structuredContent!.jti).and.not.equal(before.jti);
      refreshedJti = fresh.structuredContent!.jti;
      const task = await session.tool('create_task', { title: 'after the refresh' });
      expect(task.isError ?? false, task.content?.[0]?.text).to.equal(false);
    });

    it('writes the new token into admin.token, so the file keeps working', () => {
      const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
      const { jti } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
      expect(jti).to.be.a('string').and.equal(refreshedJti);
    });
  });

  describe('the data directory it created', () => {
    it('is 0700, and everything in it is private to the owner (files 0600, directories 0700)', async () => {
      await session.tool('create_task', { title: 'makes the WAL grow' });
      expect(fs.statSync(dataDir).mode & 0o777).to.equal(0o700);
      const modes = modesUnder(dataDir);
      expect(modes.map(([file]) => file)).to.include.members(['events.db', 'read.db', 'jwt.secret', 'admin.token']);
      const open = modes.filter(([, mode]) => (mode & 0o077) !== 0).map(([file, mode]) => `${file} ${mode.toString(8)}`);
      expect(open, 'readable by group or others').to.deep.equal([]);
    });
  });

  describe('when an agent session with its own VESPERA_TOKEN refreshes it', () => {
    let agent: Awaited<ReturnType<typeof spawnMcp>> | undefined;
    after(() => agent?.stop());

    it('keeps working with the new token', async () => {
      const registered = await session.tool('register_plugin', {
        id: 'stdio-agent',
        name: 'Stdio agent',
        type: 'agent',
        capabilities: ['task_reading'],
      });
      expect(registered.isError ?? false, registered.content?.[0]?.text).to.equal(false);
      const token = (await session.tool('issue_token', { pluginId: 'stdio-agent', ttlSeconds: 600 })).structuredContent!.token as string;
      await session.stop();
      agent = await spawnMcp(dataDir, { VESPERA_TOKEN: token });
      const fresh = await agent.tool('refresh_token');
      expect(fresh.isError ?? false, fresh.content?.[0]?.text).to.equal(false);
      const me = await agent.tool('who_am_i');
      expect(me.isError ?? false, me.content?.[0]?.text).to.equal(false);
      expect(me.structuredContent).to.include({ pluginId: 'stdio-agent', jti: fresh.structuredContent!.jti });
      const listed = await agent.tool('list_tasks');
      expect(listed.isError ?? false, listed.content?.[0]?.text).to.equal(false);
    });
  });
});
