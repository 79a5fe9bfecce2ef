import { Queue } from 'bullmq';
import { expect } from 'chai';
import { redisConnection } from '../../src/jobs/leaseExpiry.js';
import { REDIS_URL, requireRedis } from '../support/redis.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/**
 * Orchestration over real HTTP: claim-next, claim, heartbeat, release, complete and execute, the
 * refusals an agent can cause, and leases that run out (inline timers and BullMQ delayed jobs).
 */

type Task = {
  id: string;
  projectId: string;
  parentId: string | null;
  title: string;
  status: string;
  role: string | null;
  ready: boolean;
  claimedBy: string | null;
  leaseExpiresAt: string | null;
  result: { output: string; artifacts: string[]; changedFiles: string[]; warnings: string[] } | null;
};

/** The lease queue name app.ts uses (it passes no queueName to createLeaseExpiry). */
const LEASE_QUEUE = 'vespera-lease-expiry';
const SHORTEST_LEASE = 10;

const WORKER_ROLE = {
  name: 'orchestration_worker',
  description: 'A role for the orchestration specs: code and tests, many tasks at once.',
  capabilities: ['code_writing', 'testing'],
  filePatterns: ['src/**', 'test/**'],
  tools: ['read_file'],
  maxConcurrentTasks: 100,
  restrictions: { maxFileChanges: 5, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

/** Helpers bound to one running app. */
const client = (app: () => TestApp) => {
  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse> =>
    api(app().baseUrl, method, `/api/v1${url}`, body, headers);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  /** A problem+json answer with this status and stable code. */
  const problem = (response: JsonResponse, status: number, code: string): Record<string, unknown> => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body).to.include({ status, code });
    expect(response.body.detail).to.be.a('string').with.length.above(0);
    return response.body as Record<string, unknown>;
  };
  let projects = 0;
  const newProject = async (): Promise<string> => {
    projects += 1;
    const id = `orch-${projects}-${Date.now().toString(36)}`;
    return ok(await call('POST', '/projects', { id, name: `Orchestration ${projects}` }), 201).body.id;
  };
  const createTask = async (body: Record<string, unknown>): Promise<Task> => ok(await call('POST', '/tasks', body), 201).body;
  const getTask = async (id: string): Promise<Task> => ok(await call('GET', `/tasks/${id}`)).body;
  const depend = async (id: string, dependsOn: string, kind: 'hard' | 'soft' = 'hard') =>
    ok(await call('POST', `/tasks/${id}/dependencies`, { dependsOn, kind }), 201);
  const headPosition = async (): Promise<number> => (await api(app().baseUrl, 'GET', '/health')).body.eventStore.headPosition;
  return { call, ok, problem, newProject, createTask, getTask, depend, headPosition };
};

/** Polls `check` every `everyMs` until it answers a value, at most `withinMs`. */
const eventually = async <T>(check: () => Promise<T | undefined>, withinMs: number, everyMs = 200): Promise<T | undefined> => {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() >= deadline) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

describe('Orchestration API', () => {
  let app: TestApp;
  const { call, ok, problem, newProject, createTask, getTask, depend, headPosition } = client(() => app);
  const role = WORKER_ROLE.name;

  before(async () => {
    app = await startTestApp();
    ok(await call('POST', '/roles', WORKER_ROLE), 201);
  });

  after(() => app?.close());

  describe('POST /tasks/claim-next', () => {
    let projectId: string;
    let high: Task;
    let normal: Task;

    before(async () => {
      projectId = await newProject();
      normal = await createTask({ projectId, title: 'Normal work' });
      high = await createTask({ projectId, title: 'Urgent work', priority: 'high' });
    });

    describe('when ready tasks fit the role', () => {
      let first: JsonResponse;
      let second: JsonResponse;
      let sentAt: number;

      before(async () => {
        sentAt = Date.now();
        first = await call('POST', '/tasks/claim-next', { role, projectId, agent: 'agent-1', leaseSeconds: 60 });
        second = await call('POST', '/tasks/claim-next', { role, projectId, agent: 'agent-2', leaseSeconds: 60 });
      });

      it('claims the highest priority first, for the agent, with a lease of leaseSeconds', () => {
        ok(first);
        expect(first.body.claimed).to.equal(true);
        expect(first.body.task).to.include({ id: high.id, status: 'in_progress', claimedBy: 'agent-1', role, ready: false });
        const lease = Date.parse(first.body.task.leaseExpiresAt);
        expect(lease).to.be.within(sentAt + 59_000, Date.now() + 61_000);
        expect(first.body.position).to.be.a('number');
      });

      it('gives the next agent the next task', () => {
        ok(second);
        expect(second.body.task).to.include({ id: normal.id, claimedBy: 'agent-2' });
      });

      it('answers claimed: false once nothing is left', async () => {
        const none = ok(await call('POST', '/tasks/claim-next', { role, projectId, agent: 'agent-3' }));
        expect(none.body).to.deep.equal({ claimed: false, task: null });
      });
    });

    describe('when no agent is given', () => {
      it("claims for the token's plugin id", async () => {
        const pid = await newProject();
        await createTask({ projectId: pid, title: 'For whoever asks' });
        const claimed = ok(await call('POST', '/tasks/claim-next', { role, projectId: pid }));
        expect(claimed.body.task.claimedBy).to.be.a('string').with.length.above(0);
        // The same caller can heartbeat it without naming an agent either.
        ok(await call('POST', `/tasks/${claimed.body.task.id}/heartbeat`, {}));
      });
    });

    describe('when no project is given', () => {
      it('finds ready work in any project', async () => {
        const pid = await newProject();
        const task = await createTask({ projectId: pid, title: 'Anywhere', priority: 'critical' });
        const claimed = ok(await call('POST', '/tasks/claim-next', { role, agent: 'roamer' }));
        expect(claimed.body.task.id).to.equal(task.id);
      });
    });
  });

  describe('POST /tasks/:id/claim, /heartbeat and /release', () => {
    let task: Task;

    before(async () => {
      task = await createTask({ projectId: await newProject(), title: 'Claim me' });
    });

    it('claims a ready task', async () => {
      const claimed = ok(await call('POST', `/tasks/${task.id}/claim`, { agent: 'agent-1', leaseSeconds: 30 }));
      expect(claimed.body.claimed).to.equal(true);
      expect(claimed.body.task).to.include({ id: task.id, status: 'in_progress', claimedBy: 'agent-1' });
    });

    it('answers 200 again to the holder (a retried claim changes nothing)', async () => {
      const before = await headPosition();
      ok(await call('POST', `/tasks/${task.id}/claim`, { agent: 'agent-1', leaseSeconds: 30 }));
      expect(await headPosition()).to.equal(before);
    });

    it('refuses another agent with 409 ALREADY_CLAIMED naming the holder', async () => {
      const body = problem(await call('POST', `/tasks/${task.id}/claim`, { agent: 'agent-2' }), 409, 'ALREADY_CLAIMED');
      expect(body).to.include({ holder: 'agent-1', taskId: task.id });
    });

    it('extends the lease on heartbeat', async () => {
      const before = (await getTask(task.id)).leaseExpiresAt!;
      const beat = ok(await call('POST', `/tasks/${task.id}/heartbeat`, { agent: 'agent-1', leaseSeconds: 3600 }));
      expect(beat.body.taskId).to.equal(task.id);
      expect(Date.parse(beat.body.leaseExpiresAt)).to.be.above(Date.parse(before) + 3000_000);
      expect((await getTask(task.id)).leaseExpiresAt).to.equal(beat.body.leaseExpiresAt);
    });

    it('gives the task back on release, ready for anyone', async () => {
      const released = ok(await call('POST', `/tasks/${task.id}/release`, { agent: 'agent-1', reason: 'handing over' }));
      expect(released.body).to.include({ id: task.id, status: 'pending', claimedBy: null, leaseExpiresAt: null, ready: true });
      const again = ok(await call('POST', `/tasks/${task.id}/claim`, { agent: 'agent-2' }));
      expect(again.body.task.claimedBy).to.equal('agent-2');
    });
  });

  describe('POST /tasks/:id/complete', () => {
    let root: Task;
    let hard1: Task;
    let hard2: Task;
    let soft: Task;
    let stillBlocked: Task;
    let other: Task;
    let completed: JsonResponse;

    before(async () => {
      const projectId = await newProject();
      root = await createTask({ projectId, title: 'Foundation' });
      hard1 = await createTask({ projectId, title: 'Needs the foundation (1)' });
      hard2 = await createTask({ projectId, title: 'Needs the foundation (2)' });
      soft = await createTask({ projectId, title: 'Would like the foundation' });
      other = await createTask({ projectId, title: 'Something else' });
      stillBlocked = await createTask({ projectId, title: 'Needs the foundation and something else' });
      await depend(hard1.id, root.id);
      await depend(hard2.id, root.id);
      await depend(soft.id, root.id, 'soft');
      await depend(stillBlocked.id, root.id);
      await depend(stillBlocked.id, other.id);
      ok(await call('POST', `/tasks/${root.id}/claim`, { agent: 'builder' }));
      completed = await call('POST', `/tasks/${root.id}/complete`, {
        agent: 'builder',
        output: 'Laid the foundation.',
        artifacts: ['dist/foundation.js'],
        changedFiles: ['src/foundation.ts'],
      });
    });

    it('records the result and completes the task', () => {
      ok(completed);
      expect(completed.body.task).to.include({ id: root.id, status: 'completed', claimedBy: null });
      expect(completed.body.task.result).to.deep.include({
        output: 'Laid the foundation.',
        artifacts: ['dist/foundation.js'],
        changedFiles: ['src/foundation.ts'],
      });
      expect(completed.body.warnings).to.deep.equal([]);
    });

    it('answers unblocked: the hard dependents that became ready, and only those', () => {
      expect([...completed.body.unblocked].sort()).to.deep.equal([hard1.id, hard2.id].sort());
    });

    it('makes those dependents ready in the read model', async () => {
      expect((await getTask(hard1.id)).ready).to.equal(true);
      expect((await getTask(stillBlocked.id)).ready).to.equal(false);
    });

    it('refuses the wrong agent with 409 LEASE_NOT_HELD', async () => {
      ok(await call('POST', `/tasks/${hard1.id}/claim`, { agent: 'holder' }));
      problem(await call('POST', `/tasks/${hard1.id}/complete`, { agent: 'intruder', output: 'mine now' }), 409, 'LEASE_NOT_HELD');
      expect((await getTask(hard1.id)).status).to.equal('in_progress');
    });

    it('refuses changed files outside the role patterns with 422 ROLE_VALIDATION_ERROR listing them', async () => {
      ok(await call('POST', `/tasks/${hard2.id}/claim`, { agent: 'coder-1', role }));
      const body = problem(
        await call('POST', `/tasks/${hard2.id}/complete`, { agent: 'coder-1', changedFiles: ['src/ok.ts', 'infra/main.tf'] }),
        422,
        'ROLE_VALIDATION_ERROR',
      );
      expect((body.reasons as Array<{ files?: string[] }>)[0]!.files).to.deep.equal(['infra/main.tf']);
      expect((await getTask(hard2.id)).status).to.equal('in_progress');
    });
  });

  describe('POST /tasks/:id/complete of a last open child', () => {
    it('answers the parent unblocked only once its last open child is completed', async () => {
      const projectId = await newProject();
      const tree = ok(
        await call('POST', '/tasks/tree', { projectId, root: { title: 'Parent', children: [{ title: 'One' }, { title: 'Two' }] } }),
        201,
      );
      const [parent, one, two] = tree.body.taskIds as string[];
      const complete = async (id: string) => {
        ok(await call('POST', `/tasks/${id}/claim`, { agent: 'agent-9', leaseSeconds: 60 }));
        return ok(await call('POST', `/tasks/${id}/complete`, { agent: 'agent-9', output: 'done' })).body;
      };
      expect((await complete(one!)).unblocked).to.deep.equal([]);
      expect((await complete(two!)).unblocked).to.deep.equal([parent]);
      expect((await getTask(parent!)).ready).to.equal(true);
    });
  });

  describe('POST /tasks/:id/execute', () => {
    let parent: Task;
    let dependency: Task;
    let task: Task;

    before(async () => {
      const projectId = await newProject();
      parent = await createTask({ projectId, title: 'The feature', description: 'Why we build it' });
      dependency = await createTask({ projectId, title: 'The groundwork' });
      task = await createTask({ projectId, parentId: parent.id, title: 'The part', files: ['src/part.ts'] });
      await depend(task.id, dependency.id);
      ok(await call('POST', `/roles/${role}/assign`, { taskId: task.id }));
      ok(await call('POST', `/tasks/${dependency.id}/claim`, { agent: 'ground' }));
      ok(await call('POST', `/tasks/${dependency.id}/complete`, { agent: 'ground', output: 'Groundwork done: use lib/x.', artifacts: ['lib/x.ts'] }));
    });

    describe('when dryRun (the default)', () => {
      let brief: JsonResponse;
      let headBefore: number;
      let headAfter: number;

      before(async () => {
        headBefore = await headPosition();
        brief = await call('POST', `/tasks/${task.id}/execute`, { agent: 'reader' });
        headAfter = await headPosition();
      });

      it('returns the task, its role with capabilities and patterns, dependency outputs and the parent', () => {
        ok(brief);
        expect(brief.body.task).to.include({ id: task.id, status: 'pending' });
        expect(brief.body.role).to.deep.include({ name: role, capabilities: WORKER_ROLE.capabilities, filePatterns: WORKER_ROLE.filePatterns });
        expect(brief.body.dependencies).to.deep.equal([
          {
            id: dependency.id,
            title: 'The groundwork',
            kind: 'hard',
            status: 'completed',
            output: 'Groundwork done: use lib/x.',
            artifacts: ['lib/x.ts'],
          },
        ]);
        expect(brief.body.parent).to.deep.equal({ id: parent.id, title: 'The feature', description: 'Why we build it', status: 'pending' });
        expect(brief.body.claimed).to.equal(false);
        expect(brief.body.instructions).to.be.a('string').and.contain(role);
      });

      it('changes nothing: the log head stays where it was and the task stays unclaimed', async () => {
        expect(headAfter).to.equal(headBefore);
        expect((await getTask(task.id)).claimedBy).to.equal(null);
      });
    });

    describe('when dryRun is false', () => {
      it('claims the task for the agent and answers the brief', async () => {
        const headBefore = await headPosition();
        const brief = ok(await call('POST', `/tasks/${task.id}/execute`, { dryRun: false, agent: 'doer', leaseSeconds: 120 }));
        expect(brief.body.claimed).to.equal(true);
        expect(brief.body.task).to.include({ id: task.id, status: 'in_progress', claimedBy: 'doer' });
        expect(await headPosition()).to.be.above(headBefore);
      });

      it('answers claimed: true without a new claim when the agent already holds it', async () => {
        const headBefore = await headPosition();
        const brief = ok(await call('POST', `/tasks/${task.id}/execute`, { dryRun: false, agent: 'doer' }));
        expect(brief.body.claimed).to.equal(true);
        expect(await headPosition()).to.equal(headBefore);
      });
    });
  });

  describe('bad input', () => {
    let projectId: string;
    let task: Task;

    before(async () => {
      projectId = await newProject();
      task = await createTask({ projectId, title: 'Contested' });
      ok(await call('POST', `/tasks/${task.id}/claim`, { agent: 'owner', leaseSeconds: 600 }));
    });

    it('claim-next for an unknown role: 404 ROLE_NOT_FOUND', async () => {
      await createTask({ projectId, title: 'Ready for someone' });
      const body = problem(await call('POST', '/tasks/claim-next', { role: 'no_such_role', agent: 'a1' }), 404, 'ROLE_NOT_FOUND');
      expect(body.role).to.equal('no_such_role');
    });

    it('claim of one task for an unknown role: 404 ROLE_NOT_FOUND, as claim-next answers', async () => {
      const free = await createTask({ projectId, title: 'Free' });
      const body = problem(await call('POST', `/tasks/${free.id}/claim`, { role: 'no_such_role', agent: 'a1' }), 404, 'ROLE_NOT_FOUND');
      expect(body.role).to.equal('no_such_role');
    });

    it('heartbeat by an agent that does not hold the lease: 409 LEASE_NOT_HELD', async () => {
      const body = problem(await call('POST', `/tasks/${task.id}/heartbeat`, { agent: 'stranger' }), 409, 'LEASE_NOT_HELD');
      expect(body.holder).to.equal('owner');
    });

    it('heartbeat on a task nobody claimed: 409 NOT_CLAIMED', async () => {
      const free = await createTask({ projectId, title: 'Unclaimed' });
      problem(await call('POST', `/tasks/${free.id}/heartbeat`, { agent: 'stranger' }), 409, 'NOT_CLAIMED');
    });

    it('release by an agent that does not hold the lease: 409 LEASE_NOT_HELD', async () => {
      problem(await call('POST', `/tasks/${task.id}/release`, { agent: 'stranger' }), 409, 'LEASE_NOT_HELD');
    });

    it('complete by the wrong agent: 409 LEASE_NOT_HELD, and the task stays claimed', async () => {
      problem(await call('POST', `/tasks/${task.id}/complete`, { agent: 'stranger', output: 'x' }), 409, 'LEASE_NOT_HELD');
      expect(await getTask(task.id)).to.include({ status: 'in_progress', claimedBy: 'owner' });
    });

    for (const leaseSeconds of [-5, 0, SHORTEST_LEASE - 1, 86_401, 10 ** 12, 1.5]) {
      it(`leaseSeconds ${leaseSeconds}: 400 VALIDATION_ERROR on claim, claim-next and heartbeat`, async () => {
        problem(await call('POST', `/tasks/${task.id}/claim`, { agent: 'owner', leaseSeconds }), 400, 'VALIDATION_ERROR');
        problem(await call('POST', '/tasks/claim-next', { role, agent: 'owner', leaseSeconds }), 400, 'VALIDATION_ERROR');
        problem(await call('POST', `/tasks/${task.id}/heartbeat`, { agent: 'owner', leaseSeconds }), 400, 'VALIDATION_ERROR');
      });
    }

    it('leaseSeconds as a string: 400 VALIDATION_ERROR', async () => {
      problem(await call('POST', `/tasks/${task.id}/heartbeat`, { agent: 'owner', leaseSeconds: '60' }), 400, 'VALIDATION_ERROR');
    });

    it('an agent id with spaces: 400 VALIDATION_ERROR', async () => {
      problem(await call('POST', `/tasks/${task.id}/heartbeat`, { agent: 'two words' }), 400, 'VALIDATION_ERROR');
    });

    it('claim of a task with an open hard dependency: 409 DEPENDENCIES_NOT_MET', async () => {
      const blocked = await createTask({ projectId, title: 'Waits' });
      await depend(blocked.id, task.id);
      const body = problem(await call('POST', `/tasks/${blocked.id}/claim`, { agent: 'eager' }), 409, 'DEPENDENCIES_NOT_MET');
      expect(body.openDependencies).to.deep.equal([task.id]);
    });

    it('execute with dryRun false of a task that is not ready: 400 TASK_NOT_READY', async () => {
      const blocked = await createTask({ projectId, title: 'Waits too' });
      await depend(blocked.id, task.id);
      problem(await call('POST', `/tasks/${blocked.id}/execute`, { dryRun: false, agent: 'eager' }), 400, 'TASK_NOT_READY');
    });

    it('claim of an unknown task: 404 TASK_NOT_FOUND', async () => {
      problem(await call('POST', '/tasks/01900000-0000-7000-8000-000000000000/claim', { agent: 'a1' }), 404, 'TASK_NOT_FOUND');
    });

    it('analysis of a deleted task: 404 TASK_NOT_FOUND', async () => {
      const doomed = await createTask({ projectId, title: 'Doomed' });
      ok(await call('GET', `/tasks/${doomed.id}/analysis`));
      ok(await call('DELETE', `/tasks/${doomed.id}`), 200);
      problem(await call('GET', `/tasks/${doomed.id}/analysis`), 404, 'TASK_NOT_FOUND');
    });
  });
});

/** The same expiry story in both sweeper modes; the periodic scan is slowed to an hour so only the per-lease path can expire it. */
const leaseExpirySpec = (mode: 'inline' | 'bullmq') => {
  describe(`Lease expiry over HTTP (${mode === 'inline' ? 'inline timers' : `BullMQ delayed jobs on ${REDIS_URL}`})`, function () {
    this.timeout(60_000);
    let app: TestApp;
    const { call, ok, createTask, getTask, newProject, headPosition } = client(() => app);
    let task: Task;
    let claimed: Task;
    let returned: Task | undefined;

    before(async () => {
      // Redis is a service the suite needs (.ci/run starts it), as the job-queue spec does: no Redis is a failure, not a skip.
      if (mode === 'bullmq') await requireRedis(REDIS_URL);
      app = await startTestApp({ leaseScanIntervalMs: 3_600_000, ...(mode === 'bullmq' ? { redisUrl: REDIS_URL } : {}) });
      task = await createTask({ projectId: await newProject(), title: 'Abandoned by its agent' });
      claimed = ok(await call('POST', `/tasks/${task.id}/claim`, { agent: 'old-agent', leaseSeconds: SHORTEST_LEASE })).body.task;
    });

    after(() => app?.close());

    it(`runs in ${mode} mode`, () => {
      expect(app.leases.mode).to.equal(mode);
    });

    if (mode === 'bullmq') {
      it('schedules a delayed job for the lease end', async () => {
        const queue = new Queue(LEASE_QUEUE, { connection: redisConnection(REDIS_URL) });
        try {
          const job = await queue.getJob(`${task.id}-${Date.parse(claimed.leaseExpiresAt!)}`);
          expect(job, 'the delayed job').to.not.equal(undefined);
          expect(await job!.getState()).to.equal('delayed');
        } finally {
          await queue.close();
        }
      });
    }

    it('returns the task to the ready queue once the lease ran out (within 20 s)', async () => {
      returned = await eventually(
        async () => {
          const now = await getTask(task.id);
          return now.status === 'pending' ? now : undefined;
        },
        20_000,
        250,
      );
      expect(returned, 'task back to pending within 20 s').to.not.equal(undefined);
      expect(returned).to.include({ claimedBy: null, leaseExpiresAt: null, ready: true });
      expect(Date.now()).to.be.at.least(Date.parse(claimed.leaseExpiresAt!));
    });

    it('records one LeaseExpired event, appended by the sweeper', async () => {
      const history = ok(await call('GET', `/tasks/${task.id}/history`)).body as { items: Array<{ type: string; actor: string; tool: string }> };
      const expired = history.items.filter((e) => e.type === 'LeaseExpired');
      expect(expired, JSON.stringify(history.items)).to.have.length(1);
      expect(expired[0]).to.include({ actor: 'system', tool: 'lease-expiry' });
    });

    it('is idempotent: a sweep afterwards appends nothing', async () => {
      const before = await headPosition();
      expect(await app.leases.sweep()).to.equal(0);
      expect(await headPosition()).to.equal(before);
    });

    it('refuses a late heartbeat from the old agent with a 409', async () => {
      const late = await call('POST', `/tasks/${task.id}/heartbeat`, { agent: 'old-agent' });
      expect(late.status, JSON.stringify(late.body)).to.equal(409);
      expect(late.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(['LEASE_EXPIRED', 'LEASE_NOT_HELD', 'NOT_CLAIMED']).to.include(late.body.code);
    });

    it('lets another agent claim it', async () => {
      const again = ok(await call('POST', `/tasks/${task.id}/claim`, { agent: 'new-agent', leaseSeconds: 600 }));
      expect(again.body.task).to.include({ status: 'in_progress', claimedBy: 'new-agent' });
    });

    it('refuses the old agent even then (409 LEASE_NOT_HELD)', async () => {
      const late = await call('POST', `/tasks/${task.id}/heartbeat`, { agent: 'old-agent' });
      expect(late.status).to.equal(409);
      expect(late.body.code).to.equal('LEASE_NOT_HELD');
    });
  });
};

leaseExpirySpec('inline');
leaseExpirySpec('bullmq');
