import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { api, type JsonResponse } from '../support/testApp.js';
import { freshDatabase } from '../support/postgres.js';

type FreshDatabase = Awaited<ReturnType<typeof freshDatabase>>;
import { startServer, type Server } from '../support/serveProcess.js';

/**
 * Several API nodes on one PostgreSQL log (DESIGN §11, docs/deploy.md): each `vespera serve` a real process with
 * its own data directory and read models, one JWT secret, no Redis. What a client may rely on when a balancer
 * sends its requests to any node.
 */

const AGENTS = 16;
const TASKS = 500;
const SWARM_ROLE = {
  name: 'node_swarm',
  description: 'Any task; room for every agent of both nodes at once.',
  capabilities: ['code_writing'],
  filePatterns: ['**/*'],
  tools: ['read_file'],
  maxConcurrentTasks: 1000,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

const nodeEnv = (db: FreshDatabase, secret: string): Record<string, string> => ({
  VESPERA_EVENT_STORE: 'postgres',
  VESPERA_POSTGRES_URL: db.url,
  VESPERA_JWT_SECRET: secret,
  VESPERA_VECTORS: 'off',
  VESPERA_RATE_LIMIT_PER_MINUTE: '0',
});

const tempDir = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `vespera-node-${label}-`));

const ok = (response: JsonResponse, status = 200): JsonResponse => {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
  return response;
};

const call = (node: Server, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
  api(node.baseUrl, method, `/api/v1${url}`, body, { ...node.auth, ...headers });

describe('Two API nodes on one PostgreSQL log (e2e)', function () {
  this.timeout(240_000);
  let db: FreshDatabase;
  let nodeA: Server;
  let nodeB: Server;
  const dirs: string[] = [];

  before(async () => {
    db = await freshDatabase();
    const env = nodeEnv(db, randomBytes(36).toString('base64url'));
    dirs.push(tempDir('a'), tempDir('b'));
    // Both start on an empty log at the same moment: the admin bootstrap and the role sync race.
    [nodeA, nodeB] = await Promise.all([startServer(dirs[0]!, env), startServer(dirs[1]!, env)]);
  });

  after(async () => {
    for (const node of [nodeA, nodeB]) if (node && node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await Promise.all([nodeA, nodeB].filter(Boolean).map((node) => node.exited));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it("accepts either node's admin token on the other (one secret, one log of tokens)", async () => {
    ok(await api(nodeB.baseUrl, 'GET', '/api/v1/projects', undefined, nodeA.auth));
    ok(await api(nodeA.baseUrl, 'GET', '/api/v1/projects', undefined, nodeB.auth));
  });

  it('serves a write made on A from B once B has reached its position (X-Vespera-Min-Position)', async () => {
    for (let i = 0; i < 20; i++) {
      const created = ok(await call(nodeA, 'POST', '/tasks', { title: `written on A ${i}` }), 201);
      const position = created.headers.get('x-vespera-position');
      expect(position).to.match(/^\d+$/);
      const read = ok(await call(nodeB, 'GET', `/tasks/${created.body.id}`, undefined, { 'x-vespera-min-position': position! }));
      expect(read.body).to.include({ id: created.body.id, title: `written on A ${i}` });
    }
  });

  it('lets exactly one of two conditional updates of one task win when they race on different nodes (412 for the other)', async () => {
    const task = ok(await call(nodeA, 'POST', '/tasks', { title: 'contended' }), 201);
    const minPosition = { 'x-vespera-min-position': task.headers.get('x-vespera-position')! };
    for (let round = 0; round < 10; round++) {
      const onA = ok(await call(nodeA, 'GET', `/tasks/${task.body.id}`, undefined, minPosition));
      const onB = ok(await call(nodeB, 'GET', `/tasks/${task.body.id}`, undefined, minPosition));
      expect(onB.headers.get('etag'), 'both nodes show the same version').to.equal(onA.headers.get('etag'));
      const etag = onA.headers.get('etag')!;
      const answers = await Promise.all([
        call(nodeA, 'PATCH', `/tasks/${task.body.id}`, { title: `A won round ${round}` }, { 'if-match': etag }),
        call(nodeB, 'PATCH', `/tasks/${task.body.id}`, { title: `B won round ${round}` }, { 'if-match': etag }),
      ]);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, JSON.stringify(answers.map((a) => a.body))).to.deep.equal([200, 412]);
      const loser = answers.find((a) => a.status === 412)!;
      expect(loser.body).to.include({ code: 'CONCURRENCY_CONFLICT' });
      minPosition['x-vespera-min-position'] = answers.find((a) => a.status === 200)!.headers.get('x-vespera-position')!;
    }
  });

  describe(`given ${AGENTS} agents split across both nodes and ${TASKS} ready tasks`, () => {
    const claimed = new Map<string, string[]>();
    const failures: string[] = [];
    let taskIds: string[] = [];
    let lastPosition = 0;

    const runAgent = async (node: Server, agent: string) => {
      for (let round = 0; round <= TASKS; round++) {
        const claim = await call(node, 'POST', '/tasks/claim-next', { role: SWARM_ROLE.name, agent, leaseSeconds: 600, projectId: 'nodes' });
        if (claim.status !== 200) return failures.push(`${agent} claim-next ${claim.status}: ${JSON.stringify(claim.body)}`);
        if (!claim.body.claimed) return;
        const id = claim.body.task.id as string;
        claimed.set(id, [...(claimed.get(id) ?? []), agent]);
        const done = await call(node, 'POST', `/tasks/${id}/complete`, { agent, output: `done by ${agent}` });
        if (done.status !== 200) failures.push(`${agent} complete ${id} ${done.status}: ${JSON.stringify(done.body)}`);
        else lastPosition = Math.max(lastPosition, Number(done.headers.get('x-vespera-position')));
      }
      return failures.push(`${agent} never saw claimed: false`);
    };

    before(async () => {
      ok(await call(nodeA, 'POST', '/roles', SWARM_ROLE), 201);
      const project = ok(await call(nodeA, 'POST', '/projects', { id: 'nodes', name: 'Two nodes' }), 201);
      const root = { title: 'Nodes root', children: Array.from({ length: TASKS - 1 }, (_, i) => ({ title: `Node task ${i + 1}` })) };
      const tree = ok(await call(nodeA, 'POST', '/tasks/tree', { projectId: project.body.id, root }), 201);
      taskIds = tree.body.taskIds as string[];
      // B must know the role and the tasks before its agents ask it for work.
      const minPosition = { 'x-vespera-min-position': tree.headers.get('x-vespera-position')! };
      ok(await call(nodeB, 'GET', `/tasks/${taskIds[0]}`, undefined, minPosition));
      await Promise.all(
        Array.from({ length: AGENTS }, (_, i) => runAgent(i % 2 === 0 ? nodeA : nodeB, `node-agent-${String(i + 1).padStart(2, '0')}`)),
      );
    });

    it('drains every task with no refusal or transport error', () => {
      expect(failures.slice(0, 5), `${failures.length} failures`).to.deep.equal([]);
      expect(new Set(claimed.keys())).to.deep.equal(new Set(taskIds));
    });

    it('claimed every task exactly once', () => {
      expect([...claimed].filter(([, agents]) => agents.length > 1)).to.deep.equal([]);
      expect(claimed.size).to.equal(TASKS);
    });

    it('shows every task completed on both nodes', async () => {
      for (const node of [nodeA, nodeB]) {
        const dashboard = ok(
          await call(node, 'GET', '/tasks/dashboard?projectId=nodes', undefined, { 'x-vespera-min-position': String(lastPosition) }),
        );
        expect(dashboard.body.byStatus, node.baseUrl).to.include({ completed: TASKS });
      }
    });
  });

  // Last: it leaves node A dead.
  describe('when node A is killed mid-load', () => {
    it('keeps serving on B when A is killed mid-load, and B has every write either node acknowledged', async () => {
      const acknowledged: { id: string; position: number }[] = [];
      let writing = true;
      const writer = async (node: Server, label: string) => {
        for (let i = 0; writing; i++) {
          const answer = await call(node, 'POST', '/tasks', { title: `${label} ${i}` }).catch(() => undefined);
          if (answer?.status === 201) acknowledged.push({ id: answer.body.id as string, position: Number(answer.headers.get('x-vespera-position')) });
          else if (node === nodeA && answer === undefined) return;
        }
      };
      const writers = [
        ...Array.from({ length: 4 }, (_, i) => writer(nodeA, `on A ${i}`)),
        ...Array.from({ length: 4 }, (_, i) => writer(nodeB, `on B ${i}`)),
      ];
      await new Promise((r) => setTimeout(r, 1500));
      nodeA.child.kill('SIGKILL');
      expect((await nodeA.exited).signal).to.equal('SIGKILL');
      const afterKill = acknowledged.length;
      await new Promise((r) => setTimeout(r, 1500));
      writing = false;
      await Promise.all(writers);
      expect(acknowledged.length, 'B went on acknowledging writes after A died').to.be.above(afterKill);

      const head = Math.max(...acknowledged.map((a) => a.position));
      const minPosition = { 'x-vespera-min-position': String(head) };
      const missing: string[] = [];
      for (const { id } of acknowledged) {
        const read = await call(nodeB, 'GET', `/tasks/${id}`, undefined, minPosition);
        if (read.status !== 200) missing.push(`${id}: ${read.status}`);
      }
      expect(missing, `of ${acknowledged.length} acknowledged writes`).to.deep.equal([]);
    });
  });
});

describe('Two nodes with different JWT secrets on one log (e2e)', function () {
  this.timeout(120_000);
  let db: FreshDatabase;
  let nodeA: Server;
  let nodeB: Server;
  const dirs: string[] = [];

  before(async () => {
    db = await freshDatabase();
    dirs.push(tempDir('a'), tempDir('b'));
    nodeA = await startServer(dirs[0]!, nodeEnv(db, randomBytes(36).toString('base64url')));
    nodeB = await startServer(dirs[1]!, nodeEnv(db, randomBytes(36).toString('base64url')));
  });

  after(async () => {
    for (const node of [nodeA, nodeB]) if (node) node.child.kill('SIGKILL');
    await Promise.all([nodeA, nodeB].filter(Boolean).map((node) => node.exited));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it("refuses the other node's tokens with 401, each node accepting its own", async () => {
    ok(await api(nodeA.baseUrl, 'GET', '/api/v1/projects', undefined, nodeA.auth));
    ok(await api(nodeB.baseUrl, 'GET', '/api/v1/projects', undefined, nodeB.auth));
    const refused = await api(nodeB.baseUrl, 'GET', '/api/v1/projects', undefined, nodeA.auth);
    expect(refused.status).to.equal(401);
    expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });
});
