import { expect } from 'chai';
import { getDependencies } from '../../../src/queries/taskGraph.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';

describe('Analytics API', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown) => api(app.baseUrl, method, `/api/v1${url}`, body);
  const create = async (title: string, estimate: number | null, extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/tasks', { title, estimate, projectId: 'plan', ...extra });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id as string;
  };
  const depend = async (taskId: string, dependsOn: string, kind = 'hard') => {
    const res = await call('POST', `/tasks/${taskId}/dependencies`, { dependsOn, kind });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return Number(res.headers.get('x-vespera-position'));
  };
  /** The graph model follows the log asynchronously; wait until it has the write. */
  const graphAt = (position: number) => app.graph.projector.waitFor(position);

  // Diamond in project `plan`: A (1 h) → B (5 h) / C (2 h) → D (no estimate: the default 8 h), plus E (soft on D).
  const t: Record<string, string> = {};
  before(async () => {
    app = await startTestApp();
    expect((await call('POST', '/projects', { id: 'plan', name: 'Plan' })).status).to.equal(201);
    t.A = await create('A', 1);
    t.B = await create('B', 5, { priority: 'critical' });
    t.C = await create('C', 2);
    t.D = await create('D', null);
    t.E = await create('E', 1);
    await depend(t.B, t.A);
    await depend(t.C, t.A);
    await depend(t.D, t.B);
    await depend(t.D, t.C);
    await graphAt(await depend(t.E, t.D, 'soft'));
  });
  after(async () => app?.close());

  describe('GET /projects/:projectId/critical-path', () => {
    it('answers the CPM schedule, chains and tasks missing estimates', async () => {
      const res = await call('GET', '/projects/plan/critical-path?limit=3');
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ projectId: 'plan', duration: 14, tasks: 5, openTasks: 5, criticalTasks: 3 });
      expect(res.body.criticalChains).to.deep.equal([[t.A, t.B, t.D]]);
      expect(res.body.missingEstimates).to.deep.equal({ count: 1, defaultEstimate: 8, sample: [t.D] });
      expect(res.body.timings.map((r: { id: string }) => r.id)).to.deep.equal([t.A, t.B, t.D]);
      expect(JSON.stringify(res.body).length).to.be.below(4096);
    });

    it('answers for a subtree under rootTaskId', async () => {
      const root = await create('phase', 2);
      const child = await create('child', 3, { parentId: root });
      const res = await call('GET', `/projects/plan/critical-path?rootTaskId=${root}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ rootTaskId: root, tasks: 2, duration: 3 });
      expect(res.body.criticalChains).to.deep.equal([[child]]);
    });

    it('refuses an unknown project with 404', async () => {
      const res = await call('GET', '/projects/nowhere/critical-path');
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('PROJECT_NOT_FOUND');
    });
  });

  describe('GET /tasks/:id/impact', () => {
    it('says which tasks move and whether the end moves', async () => {
      const res = await call('GET', `/tasks/${t.C}/impact?hours=5`);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({
        taskId: t.C,
        hours: 5,
        absorbed: 3,
        durationBefore: 14,
        durationAfter: 16,
        projectEndMoves: true,
        movedCount: 1,
      });
      expect(res.body.moved).to.deep.equal([{ id: t.D, shift: 2, slackBefore: 0 }]);
    });

    for (const hours of ['-1', '0', '10001', 'abc']) {
      it(`refuses hours=${hours} with 400`, async () => {
        const res = await call('GET', `/tasks/${t.C}/impact?hours=${hours}`);
        expect(res.status).to.equal(400);
        expect(res.body.code).to.equal('VALIDATION_ERROR');
      });
    }

    it('refuses an unknown task with 404', async () => {
      const res = await call('GET', '/tasks/no-such-task/impact?hours=1');
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('TASK_NOT_FOUND');
    });
  });

  describe('GET /tasks/:id/analysis', () => {
    it('lists dependencies and dependents, open hard dependencies and the longest chain above', async () => {
      const res = await call('GET', `/tasks/${t.D}/analysis`);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ taskId: t.D, status: 'pending', ready: false });
      expect(res.body.openHardDependencies).to.have.members([t.B, t.C]);
      expect(res.body.dependencies).to.include({ direct: 2, transitive: 3, truncated: false });
      expect(res.body.dependents.items).to.deep.equal([{ id: t.E, distance: 1, kind: 'soft', status: 'pending' }]);
      expect(res.body.longestChainAbove).to.deep.equal({ tasks: [t.A, t.B, t.D], hours: 14 });
    });

    it('refuses an unknown task with 404', async () => {
      const res = await call('GET', '/tasks/missing/analysis');
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('TASK_NOT_FOUND');
    });
  });

  describe('GET /projects/:projectId/bottlenecks', () => {
    it('ranks open tasks by the priority-weighted open tasks waiting on them', async () => {
      const res = await call('GET', '/projects/plan/bottlenecks?limit=2');
      expect(res.status).to.equal(200);
      // A: B (critical 4) + C (2) + D (2) wait on it; B and C each hold up D only (soft edges do not count).
      expect(res.body.items).to.deep.equal([
        { id: t.A, status: 'pending', priority: 'normal', waiting: 3, score: 8 },
        { id: t.B, status: 'pending', priority: 'critical', waiting: 1, score: 2 },
      ]);
    });
  });

  describe('GET /tasks/:id/path', () => {
    it('finds the shortest path in either direction', async () => {
      const down = await call('GET', `/tasks/${t.E}/path?to=${t.A}`);
      expect(down.body).to.deep.include({ direction: 'dependsOn', hops: 3 });
      expect(down.body.path[0]).to.equal(t.E);
      expect(down.body.path.at(-1)).to.equal(t.A);
      const up = await call('GET', `/tasks/${t.A}/path?to=${t.D}`);
      expect(up.body).to.deep.include({ direction: 'dependedOnBy', hops: 2 });
    });

    it('answers none between unrelated tasks', async () => {
      const res = await call('GET', `/tasks/${t.B}/path?to=${t.C}`);
      expect(res.body).to.deep.equal({ from: t.B, to: t.C, direction: 'none', path: [], hops: 0 });
    });
  });

  describe('when a dependency target is deleted', () => {
    it('leaves no orphan edge in the graph or the SQLite model, and analysis of the deleted task is 404', async () => {
      const x = await create('X', 1);
      const y = await create('Y', 1);
      await depend(x, y);
      const deleted = await call('DELETE', `/tasks/${y}`);
      expect(deleted.status).to.equal(200);
      await graphAt(Number(deleted.headers.get('x-vespera-position')));

      const dump = await app.graph.dump();
      expect(dump.tasks.map((task) => task.id)).to.not.include(y);
      expect(dump.edges.filter((e) => e.taskId === y || e.dependsOn === y)).to.deep.equal([]);
      expect(getDependencies(app.readDb, x, { direction: 'dependencies' }).items).to.deep.equal([]);
      expect((await app.graph.checkCycles()).cycles).to.equal(0);

      const res = await call('GET', `/tasks/${y}/analysis`);
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('TASK_NOT_FOUND');
    });
  });

  describe('GET /health', () => {
    it('lists the graph projector and the cycle check', async () => {
      await app.graph.checkCycles();
      const res = await api(app.baseUrl, 'GET', '/health');
      expect(res.status).to.equal(200);
      expect(res.body.projectors.map((p: { name: string }) => p.name)).to.include('graph');
      expect(res.body.graph.cycles).to.equal(0);
      expect(res.body.graph.checkedAt).to.be.a('string');
    });
  });
});
