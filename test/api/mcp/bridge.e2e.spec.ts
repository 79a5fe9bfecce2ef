import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { startServer, until, type Server } from '../../support/serveProcess.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PROJECT = 'bridged';
const PER_AGENT = 15;
const ROLE = {
  name: 'bridge_swarm',
  description: 'Any task; room for every bridged agent at once.',
  capabilities: ['code_writing'],
  filePatterns: ['**/*'],
  tools: ['read_file'],
  maxConcurrentTasks: 100,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

type Agent = { name: string; client: Client; transport: StdioClientTransport; stderr: () => string };

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_'))) as Record<string, string>;

/** `vespera mcp` as an MCP client such as Claude Code starts it: a child process speaking over its stdio. */
const startAgent = async (name: string, dataDir: string): Promise<Agent> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'mcp'],
    cwd: ROOT,
    env: { ...cleanEnv(), VESPERA_DATA_DIR: dataDir, VESPERA_LOG_LEVEL: 'info' },
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return { name, client, transport, stderr: () => log };
};

const call = async (agent: Agent, name: string, args: Record<string, unknown>) =>
  (await agent.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
const ok = <T = Record<string, unknown>>(result: CallToolResult): T => {
  expect(result.isError, JSON.stringify(result.content)).to.not.equal(true);
  return result.structuredContent as T;
};
const serverFile = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, 'server.json'), 'utf8')) as { pid: number; mcpSocket?: string };

describe('One owner per data directory: a server and three stdio agents (vespera mcp, spawned)', function () {
  this.timeout(240_000);
  let dataDir: string;
  let server: Server;
  let agents: Agent[] = [];
  let created: string[] = [];
  const claimed = new Map<string, string[]>();

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-bridge-'));
    server = await startServer(dataDir);
    agents = await Promise.all(['agent-1', 'agent-2', 'agent-3'].map((name) => startAgent(name, dataDir)));
  });

  after(async () => {
    await Promise.all(agents.map((agent) => agent.client.close().catch(() => undefined)));
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('has every agent bridge to the server instead of opening the stores', async () => {
    expect(serverFile(dataDir).pid).to.equal(server.child.pid);
    expect(serverFile(dataDir).mcpSocket).to.be.a('string');
    await until('every agent to announce its bridge', 20_000, async () =>
      agents.every((agent) => agent.stderr().includes('bridging stdio to it')) ? true : undefined,
    );
    for (const agent of agents) expect(agent.stderr(), agent.name).to.not.include('Could not set lock');
  });

  it('lets all three create at once: every task is in the one log', async () => {
    const post = (route: string, body: unknown) =>
      fetch(`${server.baseUrl}/api/v1${route}`, {
        method: 'POST',
        headers: { ...server.auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/roles', ROLE)).status).to.equal(201);
    expect((await post('/projects', { id: PROJECT, name: 'Bridged agents' })).status).to.equal(201);
    const ids = await Promise.all(
      agents.map(async (agent) => {
        const mine: string[] = [];
        for (let i = 0; i < PER_AGENT; i++)
          mine.push(ok<{ id: string }>(await call(agent, 'create_task', { title: `${agent.name} task ${i}`, projectId: PROJECT })).id);
        return mine;
      }),
    );
    created = ids.flat();
    expect(new Set(created).size).to.equal(3 * PER_AGENT);
    const listed = await fetch(`${server.baseUrl}/api/v1/tasks?projectId=${PROJECT}&limit=200`, { headers: server.auth });
    expect(((await listed.json()) as { items: unknown[] }).items).to.have.length(3 * PER_AGENT);
  });

  it('lets all three claim at once: every task is claimed exactly once', async () => {
    await Promise.all(
      agents.map(async (agent) => {
        for (;;) {
          const next = ok<{ claimed: boolean; task: { id: string } | null }>(
            await call(agent, 'claim_next_task', { role: ROLE.name, agent: agent.name, projectId: PROJECT, leaseSeconds: 600 }),
          );
          if (!next.claimed || !next.task) return;
          claimed.set(next.task.id, [...(claimed.get(next.task.id) ?? []), agent.name]);
          ok(await call(agent, 'complete_task', { id: next.task.id, agent: agent.name, output: `done by ${agent.name}` }));
        }
      }),
    );
    expect(new Set(claimed.keys())).to.deep.equal(new Set(created));
    expect([...claimed].filter(([, by]) => by.length > 1)).to.deep.equal([]);
  });

  it('refuses a second `vespera serve` on the directory with DATA_DIR_OWNED, exit 1, naming the owner', async () => {
    const second = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      cwd: ROOT,
      env: { ...cleanEnv(), VESPERA_DATA_DIR: dataDir, VESPERA_PORT: '0', VESPERA_LOG_LEVEL: 'warn' },
    });
    let stderr = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    expect(code, stderr).to.equal(1);
    expect(stderr).to.match(/^DATA_DIR_OWNED .*pid \d+/m);
    expect(stderr).to.not.match(/\n\s+at /);
  });

  describe('when the server is killed with -9', () => {
    const failed = new Map<string, number>();
    let answered: string[][] = [];

    before(async () => {
      server.child.kill('SIGKILL');
      await server.exited;
      // Each agent keeps working through the loss: calls under way may fail once, then the session goes on.
      answered = await Promise.all(
        agents.map(async (agent) => {
          const titles: string[] = [];
          for (let i = 0; i < 8; i++) {
            const result = await call(agent, 'list_tasks', { projectId: PROJECT, limit: 1 }).catch(
              (error: Error) => ({ isError: true, content: [{ type: 'text', text: error.message }] }) as CallToolResult,
            );
            if (result.isError) failed.set(agent.name, (failed.get(agent.name) ?? 0) + 1);
            else titles.push(String((result.structuredContent as { items: Array<{ title: string }> }).items[0]?.title));
          }
          return titles;
        }),
      );
    });

    it('lets each agent see at most one failed call, never a dead server', () => {
      for (const agent of agents) {
        expect(failed.get(agent.name) ?? 0, agent.stderr()).to.be.at.most(1);
        expect(agent.transport.pid, agent.name).to.be.a('number');
      }
      for (const titles of answered) expect(titles.length).to.be.at.least(7);
    });

    it('has exactly one agent take the directory over, announced in server.json, the others bridged to it', async () => {
      const owner = serverFile(dataDir);
      const owners = agents.filter((agent) => agent.transport.pid === owner.pid);
      expect(owners, agents.map((a) => a.stderr()).join('\n---\n')).to.have.length(1);
      expect(owners[0]!.stderr()).to.include('this one takes it over');
    });

    it('loses nothing: the new owner serves every task created and completed before the kill', async () => {
      const listed = ok<{ items: Array<{ id: string; status: string }> }>(await call(agents[2]!, 'list_tasks', { projectId: PROJECT, limit: 200 }));
      expect(new Set(listed.items.map((t) => t.id))).to.deep.equal(new Set(created));
      expect(listed.items.every((t) => t.status === 'completed')).to.equal(true);
      const more = ok<{ id: string }>(await call(agents[0]!, 'create_task', { title: 'After the takeover', projectId: PROJECT }));
      expect(ok(await call(agents[1]!, 'get_task', { id: more.id }))).to.include({ title: 'After the takeover' });
    });
  });
});
