import http from 'node:http';
import { expect } from 'chai';
import { projectStreamId } from '../../src/events/project.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/**
 * Concurrency: 16 agents, each its own HTTP client (its own keep-alive connection pool), claim from
 * 1,000 ready tasks through POST /tasks/claim-next, completing each task right after claiming it,
 * until claim-next answers claimed: false. Every task must be claimed exactly once: no task twice,
 * none lost.
 */

const AGENTS = 16;
const TASKS = 1000;
/** A custom role with room for every agent at once: the shipped roles allow 2–5 tasks in progress. */
const SWARM_ROLE = {
  name: 'swarm_worker',
  description: 'Takes any task without files or required capabilities; room for the whole swarm.',
  capabilities: ['code_writing'],
  filePatterns: ['**/*'],
  tools: ['read_file'],
  maxConcurrentTasks: 1000,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

type Outcome = { agent: string; claimed: string[]; completed: string[]; failures: string[]; requests: number };

/** One agent: its own http.Agent (keep-alive), its own loop. */
const agentClient = (baseUrl: string, token: string) => {
  const pool = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(baseUrl);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const post = (path: string, body: unknown): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const request = http.request(
        {
          agent: pool,
          host: hostname,
          port: Number(port),
          method: 'POST',
          path: `/api/v1${path}`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  return { post, close: () => pool.destroy() };
};

const runAgent = async (baseUrl: string, token: string, agent: string, role: string): Promise<Outcome> => {
  const client = agentClient(baseUrl, token);
  const outcome: Outcome = { agent, claimed: [], completed: [], failures: [], requests: 0 };
  try {
    // Bounded: an agent can never need more rounds than there are tasks (plus the final empty answer).
    for (let round = 0; round <= TASKS; round++) {
      outcome.requests += 1;
      const claim = await client.post('/tasks/claim-next', { role, agent, leaseSeconds: 600 });
      if (claim.status !== 200) {
        outcome.failures.push(`claim-next ${claim.status}: ${JSON.stringify(claim.body)}`);
        return outcome;
      }
      if (!claim.body.claimed) return outcome;
      const task = claim.body.task as { id: string; claimedBy: string; status: string };
      outcome.claimed.push(task.id);
      if (task.claimedBy !== agent || task.status !== 'in_progress') outcome.failures.push(`claim answered ${JSON.stringify(task)}`);
      outcome.requests += 1;
      const done = await client.post(`/tasks/${task.id}/complete`, { agent, output: `done by ${agent}` });
      if (done.status !== 200) outcome.failures.push(`complete ${task.id} ${done.status}: ${JSON.stringify(done.body)}`);
      else outcome.completed.push(task.id);
    }
    outcome.failures.push('did not see claimed: false after as many rounds as tasks');
    return outcome;
  } catch (error) {
    outcome.failures.push(`transport: ${(error as Error).message}`);
    return outcome;
  } finally {
    client.close();
  }
};

describe('Claiming under concurrency (e2e)', function () {
  this.timeout(180_000);
  let app: TestApp;
  let projectId: string;
  let taskIds: string[];
  let outcomes: Outcome[];
  let seconds: number;

  const call = (method: string, url: string, body?: unknown): Promise<JsonResponse> => api(app.baseUrl, method, `/api/v1${url}`, body);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const allClaimed = () => outcomes.flatMap((o) => o.claimed);

  /** Every task of the project with this status, page by page (bounded by the task count). */
  const listAll = async (status: string): Promise<string[]> => {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page <= TASKS / 200 + 1; page++) {
      const query: string = `/tasks?projectId=${projectId}&status=${status}&limit=200&fields=id${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const body = ok(await call('GET', query)).body as { items: { id: string }[]; nextCursor: string | null };
      ids.push(...body.items.map((t) => t.id));
      cursor = body.nextCursor;
      if (!cursor) return ids;
    }
    throw new Error(`more pages of ${status} tasks than ${TASKS} tasks allow`);
  };

  before(async () => {
    app = await startTestApp({ rateLimitPerMinute: 0 });
    ok(await call('POST', '/roles', SWARM_ROLE), 201);
    projectId = ok(await call('POST', '/projects', { id: 'swarm', name: 'Swarm' }), 201).body.id;
    // One tree: a root and 999 children, without files; the children are ready, the root once they are all done.
    const root = { title: 'Swarm root', children: Array.from({ length: TASKS - 1 }, (_, i) => ({ title: `Swarm task ${i + 1}` })) };
    const tree = ok(await call('POST', '/tasks/tree', { projectId, root }), 201);
    taskIds = tree.body.taskIds as string[];
    expect(taskIds).to.have.length(TASKS);
    expect(ok(await call('GET', `/tasks/dashboard?projectId=${projectId}`)).body.ready, 'ready before the swarm starts').to.equal(TASKS - 1);

    const started = Date.now();
    outcomes = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) =>
        runAgent(app.baseUrl, app.adminToken, `swarm-agent-${String(i + 1).padStart(2, '0')}`, SWARM_ROLE.name),
      ),
    );
    seconds = (Date.now() - started) / 1000;
  });

  after(() => app?.close());

  it('every agent ran without a refusal or transport error, and stopped on claimed: false', () => {
    expect(outcomes.flatMap((o) => o.failures.map((f) => `${o.agent}: ${f}`))).to.deep.equal([]);
  });

  it('spread the work over the agents (each claimed at least one task)', () => {
    const idle = outcomes.filter((o) => o.claimed.length === 0).map((o) => o.agent);
    expect(idle, `claims per agent: ${outcomes.map((o) => o.claimed.length).join(', ')} in ${seconds.toFixed(1)} s`).to.deep.equal([]);
  });

  it('claimed no task twice (zero double claims)', () => {
    const seen = new Map<string, number>();
    for (const id of allClaimed()) seen.set(id, (seen.get(id) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1)).to.deep.equal([]);
  });

  it('claimed every task: the union of the claims is all 1,000, the root included (zero lost)', () => {
    const claimed = allClaimed();
    expect(claimed).to.have.length(TASKS);
    expect(new Set(claimed)).to.deep.equal(new Set(taskIds));
    expect(claimed).to.include(taskIds[0]);
  });

  it('appended exactly one TaskClaimed and one TaskCompleted per task, and no LeaseExpired', async () => {
    const events = await app.store.readStream(projectStreamId(projectId), { maxCount: 100_000 });
    const byType = (type: string) => events.filter((e) => e.type === type).map((e) => (e.data as { taskId: string }).taskId);
    const claims = byType('TaskClaimed');
    expect(claims).to.have.length(TASKS);
    expect(new Set(claims).size).to.equal(TASKS);
    expect(new Set(byType('TaskCompleted'))).to.deep.equal(new Set(taskIds));
    expect(byType('TaskCompleted')).to.have.length(TASKS);
    expect(byType('LeaseExpired')).to.deep.equal([]);
    // Each claim went to the agent whose answer said so.
    const holder = new Map(
      events.filter((e) => e.type === 'TaskClaimed').map((e) => [(e.data as { taskId: string }).taskId, (e.data as { agent: string }).agent]),
    );
    const wrong = outcomes.flatMap((o) =>
      o.claimed.filter((id) => holder.get(id) !== o.agent).map((id) => `${id} answered to ${o.agent}, held by ${holder.get(id)}`),
    );
    expect(wrong).to.deep.equal([]);
  });

  it('left every task completed in the read model, none pending or in progress', async () => {
    const completed = await listAll('completed');
    expect(completed).to.have.length(TASKS);
    expect(new Set(completed)).to.deep.equal(new Set(taskIds));
    expect(await listAll('pending')).to.deep.equal([]);
    expect(await listAll('in_progress')).to.deep.equal([]);
  });

  it('answers claimed: false to one more claim', async () => {
    expect(ok(await call('POST', '/tasks/claim-next', { role: SWARM_ROLE.name, agent: 'latecomer' })).body).to.deep.equal({
      claimed: false,
      task: null,
    });
  });
});
