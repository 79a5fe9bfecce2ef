import { expect } from 'chai';
import { patternsOverlap } from '../../src/commands/roles/globOverlap.js';
import { projectStreamId } from '../../src/events/project.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/**
 * File-aware claims under a swarm: 16 agents, each its own loop of HTTP requests against one server on port 0,
 * claim and complete tasks whose files overlap (paths and globs). Read back from the events: no two agents ever held
 * claims on overlapping files at the same moment, and every task was completed exactly once.
 */

const AGENTS = 16;
const TASKS = 120;
/** Paths and globs the tasks touch; many tasks share some, and the globs cover several of the paths. */
const FILES = [
  'src/a.ts',
  'src/b.ts',
  'src/c.ts',
  'src/d/**',
  'src/d/e.ts',
  'docs/*.md',
  'docs/x.md',
  'test/**',
  'test/a.spec.ts',
  'README.md',
  '*.md',
];
const ROLE = {
  name: 'file_swarm_worker',
  description: 'Takes any task; no role-wide cap, one task per agent at a time.',
  capabilities: ['code_writing'],
  filePatterns: ['**'],
  tools: ['read_file'],
  maxConcurrentTasks: null,
  maxConcurrentTasksPerAgent: 1,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

/** A small deterministic generator, so a failure can be replayed. */
const lcg = (seed: number) => () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

type Outcome = { agent: string; completed: string[]; skippedAnswers: number; failures: string[] };

describe('File-aware claims under a swarm of 16 agents (e2e)', function () {
  this.timeout(180_000);
  let app: TestApp;
  const projectId = 'file-swarm';
  const filesOf = new Map<string, string[]>();
  let outcomes: Outcome[];

  const call = (method: string, url: string, body?: unknown): Promise<JsonResponse> => api(app.baseUrl, method, `/api/v1${url}`, body);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };

  const runAgent = async (agent: string, done: { count: number }): Promise<Outcome> => {
    const outcome: Outcome = { agent, completed: [], skippedAnswers: 0, failures: [] };
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (let round = 0; round < 20 * TASKS && done.count < TASKS; round++) {
      const claim = await call('POST', '/tasks/claim-next', { role: ROLE.name, agent, projectId, leaseSeconds: 600 });
      if (claim.status !== 200) {
        outcome.failures.push(`claim-next ${claim.status}: ${JSON.stringify(claim.body)}`);
        return outcome;
      }
      if (claim.body.skipped?.length) outcome.skippedAnswers += 1;
      if (!claim.body.claimed) {
        await pause(3);
        continue;
      }
      const id = claim.body.task.id as string;
      await pause(1 + (round % 4)); // "work", so claims overlap in time
      const completed = await call('POST', `/tasks/${id}/complete`, { agent, output: `done by ${agent}` });
      if (completed.status !== 200) outcome.failures.push(`complete ${id} ${completed.status}: ${JSON.stringify(completed.body)}`);
      else {
        outcome.completed.push(id);
        done.count += 1;
      }
    }
    if (done.count < TASKS) outcome.failures.push('gave up before every task was done');
    return outcome;
  };

  before(async () => {
    app = await startTestApp({ rateLimitPerMinute: 0 });
    ok(await call('POST', '/roles', ROLE), 201);
    ok(await call('POST', '/projects', { id: projectId, name: 'File swarm' }), 201);
    const random = lcg(15);
    const children = Array.from({ length: TASKS }, (_, i) => {
      const files = [...new Set([FILES[Math.floor(random() * FILES.length)]!, FILES[Math.floor(random() * FILES.length)]!])];
      return { title: `Swarm task ${i + 1}`, files };
    });
    for (const task of children) {
      const id = ok(await call('POST', '/tasks', { projectId, ...task }), 201).body.id as string;
      filesOf.set(id, task.files);
    }
    const done = { count: 0 };
    outcomes = await Promise.all(Array.from({ length: AGENTS }, (_, i) => runAgent(`file-agent-${String(i + 1).padStart(2, '0')}`, done)));
  });

  after(() => app?.close());

  it('every agent ran without a refusal or transport error', () => {
    expect(outcomes.flatMap((o) => o.failures.map((f) => `${o.agent}: ${f}`))).to.deep.equal([]);
  });

  it('told the agents what it skipped for files others held', () => {
    expect(outcomes.reduce((n, o) => n + o.skippedAnswers, 0)).to.be.above(0);
  });

  it('never let two agents hold claims on overlapping files at the same moment (checked from the events)', async () => {
    const events = await app.store.readStream(projectStreamId(projectId), { maxCount: 100_000 });
    const active = new Map<string, string>(); // taskId → agent
    const violations: string[] = [];
    let claims = 0;
    for (const event of events) {
      const data = event.data as { taskId: string; agent: string };
      if (event.type === 'TaskClaimed') {
        claims += 1;
        for (const [other, agent] of active) {
          if (agent === data.agent) continue;
          const clash = filesOf.get(data.taskId)!.filter((f) => filesOf.get(other)!.some((g) => patternsOverlap(f, g)));
          if (clash.length > 0) violations.push(`${data.agent} claimed ${data.taskId} (${clash.join(', ')}) while ${agent} held ${other}`);
        }
        active.set(data.taskId, data.agent);
      } else if (event.type === 'TaskCompleted' || event.type === 'TaskReleased' || event.type === 'LeaseExpired') active.delete(data.taskId);
    }
    expect(violations).to.deep.equal([]);
    expect(claims).to.equal(TASKS);
  });

  it('completed every task exactly once', async () => {
    const events = await app.store.readStream(projectStreamId(projectId), { maxCount: 100_000 });
    const completed = events.filter((e) => e.type === 'TaskCompleted').map((e) => (e.data as { taskId: string }).taskId);
    expect(completed).to.have.length(TASKS);
    expect(new Set(completed)).to.deep.equal(new Set(filesOf.keys()));
    expect(outcomes.flatMap((o) => o.completed)).to.have.length(TASKS);
  });

  it('kept several agents busy at once: the work spread over the swarm', () => {
    expect(outcomes.filter((o) => o.completed.length > 0).length).to.be.at.least(4);
  });
});
