import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import fs from 'node:fs';
import { WebSocket } from 'ws';
import { FeedClient } from '../api/feed/feedClient.js';
import { mulberry32 } from '../support/random.js';
import { startServer, type Server } from '../support/serveProcess.js';
import { call, headPosition, knob, mcpClient, percentile, readLog, report, SOAK_ENV, SOAK_ROLE, stopServer, tempDir, verify } from './support.js';

/**
 * `kill -9` of `vespera serve` amid mixed load, round after round on one data directory: REST writers, MCP agents
 * claiming and completing over HTTP, and a feed subscriber. After each restart, every acknowledged command is in the log,
 * `vespera verify` exits 0, and the subscriber resumes from its last position with no gap.
 */

const ROUNDS = knob('SOAK_ROUNDS', 20);
const ROUND_MS = knob('SOAK_ROUND_MS', 3000);
const WRITERS = 8;
const AGENTS = 4;

type Kind = 'create' | 'update' | 'dependency';
const LAST_EVENT: Record<Kind, string> = { create: 'TaskCreated', update: 'TaskUpdated', dependency: 'DependencyAdded' };

type Acked = { kind: Kind; taskId: string; position: number };
type AgentAcked = { kind: 'claim' | 'complete'; taskId: string; agent: string };

type Round = {
  from: number;
  rest: Acked[];
  mcp: AgentAcked[];
  feed: number;
  /** The last event the subscriber saw before the kill: it must still be in the log, unchanged. */
  lastSeen?: { position: number; type: string };
  serverErrors: string[];
};

describe('Endurance: kill -9 under mixed load, round after round', function () {
  this.timeout(ROUNDS * 120_000 + 120_000);
  const dataDir = tempDir('crash');
  const rounds: Round[] = [];
  const lost: string[] = [];
  const verifyFailures: string[] = [];
  const feedGaps: string[] = [];
  const restartMs: number[] = [];
  const verifyMs: number[] = [];
  const known: string[] = [];
  let feedLast = 0;
  let server: Server | undefined;

  /** Checks the round before the restart against the log the restarted server reads. */
  const checkRound = async (round: Round, restarted: Server) => {
    const log = await readLog(restarted, Math.max(1, round.from));
    for (const write of round.rest) {
      const event = log.get(write.position);
      if (!event || event.type !== LAST_EVENT[write.kind] || (write.kind !== 'create' && event.data.taskId !== write.taskId))
        lost.push(`${write.kind} ${write.taskId} @${write.position}: ${event ? `${event.type} ${String(event.data.taskId)}` : 'no event'}`);
    }
    const kinds = new Set([...log.values()].map((e) => `${e.type} ${String(e.data.taskId)}`));
    for (const { kind, taskId, agent } of round.mcp)
      if (!kinds.has(`${kind === 'claim' ? 'TaskClaimed' : 'TaskCompleted'} ${taskId}`))
        lost.push(`MCP ${kind} ${taskId} by ${agent}: not in the log`);
    if (round.lastSeen && log.get(round.lastSeen.position)?.type !== round.lastSeen.type)
      feedGaps.push(
        `the feed saw ${round.lastSeen.type} @${round.lastSeen.position}, the restarted log holds ${log.get(round.lastSeen.position)?.type}`,
      );
  };

  const restWriter = async (target: Server, round: Round, seed: number, alive: () => boolean) => {
    const random = mulberry32(seed);
    const any = () => known[Math.floor(random() * known.length)]!;
    while (alive()) {
      const roll = random();
      let kind: Kind = 'create';
      let taskId = '';
      let answer;
      try {
        if (roll < 0.5 || known.length < 10) {
          answer = await call(target, 'POST', '/tasks', { title: `soak crash ${seed} ${Math.floor(random() * 1e9)}` });
          if (answer.status === 201) known.push((taskId = answer.body.id as string));
        } else if (roll < 0.8) {
          kind = 'update';
          taskId = any();
          answer = await call(target, 'PATCH', `/tasks/${taskId}`, { description: `edited ${Math.floor(random() * 1e9)}` });
        } else {
          kind = 'dependency';
          taskId = any();
          answer = await call(target, 'POST', `/tasks/${taskId}/dependencies`, { dependsOn: any(), kind: random() < 0.5 ? 'hard' : 'soft' });
        }
      } catch {
        continue; // the connection died with the server: not acknowledged
      }
      if (answer.status >= 500 && alive()) round.serverErrors.push(`${kind} ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      if (answer.status < 200 || answer.status >= 300) continue;
      const position = Number(answer.headers.get('x-vespera-position'));
      round.rest.push({ kind, taskId, position });
    }
  };

  const mcpAgent = async (client: Client, agent: string, round: Round, alive: () => boolean) => {
    while (alive()) {
      try {
        const claim = (await client.callTool({
          name: 'claim_next_task',
          arguments: { role: SOAK_ROLE.name, agent, leaseSeconds: 600 },
        })) as CallToolResult;
        const body = claim.structuredContent as { claimed?: boolean; task?: { id: string } } | undefined;
        if (claim.isError || !body?.claimed || !body.task) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        round.mcp.push({ kind: 'claim', taskId: body.task.id, agent });
        const done = (await client.callTool({
          name: 'complete_task',
          arguments: { id: body.task.id, agent, output: `done by ${agent}` },
        })) as CallToolResult;
        if (!done.isError) round.mcp.push({ kind: 'complete', taskId: body.task.id, agent });
      } catch {
        // the server died mid-call: not acknowledged
      }
    }
  };

  const subscribe = async (target: Server, round: Round) => {
    // A loaded machine may take more than the client's default 10 s to authenticate a socket.
    const feed = new FeedClient(new WebSocket(`${target.baseUrl.replace(/^http/, 'ws')}/api/v1/ws`, { headers: target.auth }), 60_000);
    await feed.next((m) => m.op === 'authenticated');
    feed.ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { op: string; position?: number; type?: string };
      if (message.op !== 'event') return;
      if (message.position !== feedLast + 1) feedGaps.push(`after ${feedLast} the feed sent ${message.position}`);
      feedLast = message.position!;
      round.feed += 1;
      round.lastSeen = { position: feedLast, type: message.type! };
    });
    feed.send({ op: 'subscribe', id: 'all', fromPosition: feedLast + 1 });
    return feed;
  };

  let kept = false;
  before(async () => {
    let r = 0;
    try {
      for (; r <= ROUNDS; r++) await oneRound(r);
    } catch (error) {
      // Kept for a post-mortem: the log, the read models and server.json as the failed round left them.
      kept = true;
      throw new Error(`round ${r}: ${(error as Error).message}\n(data directory kept: ${dataDir})\n${server?.log().slice(-3000) ?? ''}`);
    }
  });

  const oneRound = async (r: number) => {
    const started = Date.now();
    server = await startServer(dataDir, SOAK_ENV, 90_000);
    restartMs.push(Date.now() - started);
    if (r === 0) expect((await call(server, 'POST', '/roles', SOAK_ROLE)).status).to.equal(201);
    else {
      await checkRound(rounds.at(-1)!, server);
      const verifying = Date.now();
      const verified = await verify(dataDir);
      verifyMs.push(Date.now() - verifying);
      if (verified.code !== 0) verifyFailures.push(`after kill ${r}: exit ${verified.code} ${verified.report}`);
    }
    if (r === ROUNDS) return;
    const round: Round = { from: (await headPosition(server)) + 1, rest: [], mcp: [], feed: 0, serverErrors: [] };
    rounds.push(round);
    const target = server;
    const feed = await subscribe(target, round);
    const clients = await Promise.all(Array.from({ length: AGENTS }, (_, i) => mcpClient(target, `soak-agent-${i}`)));
    let alive = true;
    const load = [
      ...Array.from({ length: WRITERS }, (_, i) => restWriter(target, round, r * 100 + i, () => alive)),
      ...clients.map((client, i) => mcpAgent(client, `soak-agent-${i}`, round, () => alive)),
    ];
    await new Promise((resolve) => setTimeout(resolve, ROUND_MS * (0.75 + Math.random() * 0.5)));
    target.child.kill('SIGKILL');
    await target.exited;
    alive = false;
    await Promise.all(load);
    feed.ws.terminate();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  };

  after(async () => {
    await stopServer(server);
    const sum = (pick: (r: Round) => number) => rounds.reduce((n, r) => n + pick(r), 0);
    report('crash', `kill -9 × ${rounds.length} under mixed load (${WRITERS} REST writers, ${AGENTS} MCP agents, 1 feed subscriber)`, [
      {
        rounds: rounds.length,
        'round s': ROUND_MS / 1000,
        'REST writes acked': sum((r) => r.rest.length),
        'MCP claims acked': sum((r) => r.mcp.filter((m) => m.kind === 'claim').length),
        'MCP completions acked': sum((r) => r.mcp.filter((m) => m.kind === 'complete').length),
        'feed events': sum((r) => r.feed),
        lost: lost.length,
        '5xx': sum((r) => r.serverErrors.length),
        'verify ≠ 0': verifyFailures.length,
        'feed gaps': feedGaps.length,
        'restart s p50': percentile(restartMs.slice(1), 50) / 1000,
        'verify s p50': percentile(verifyMs, 50) / 1000,
      },
    ]);
    if (!kept) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads every round with acknowledged REST writes, MCP completions and feed events', () => {
    const idle = rounds.filter((r) => r.rest.length === 0 || r.feed === 0);
    expect(idle.length, 'rounds without REST writes or feed events').to.equal(0);
    expect(rounds.reduce((n, r) => n + r.mcp.filter((m) => m.kind === 'complete').length, 0)).to.be.greaterThan(0);
  });

  it('loses no acknowledged command (REST by position, MCP claims and completions by task)', () => {
    expect(lost.slice(0, 10), `${lost.length} lost`).to.deep.equal([]);
  });

  it('answers no 5xx while alive', () => {
    expect(rounds.flatMap((r) => r.serverErrors).slice(0, 5)).to.deep.equal([]);
  });

  it('passes `vespera verify` (exit 0) after every restart', () => {
    expect(verifyFailures.slice(0, 3)).to.deep.equal([]);
  });

  it('resumes the feed from its last position with no gap and nothing it saw undone', () => {
    expect(feedGaps.slice(0, 10), `${feedGaps.length} gaps`).to.deep.equal([]);
  });
});
