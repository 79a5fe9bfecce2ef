import { expect } from 'chai';
import { projectHealth } from '../../../src/queries/analytics/health.js';
import { ProjectIndex } from '../../../src/queries/analytics/projectIndex.js';
import { sqliteSource } from '../../../src/queries/analytics/source.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';

const HOUR = 3_600_000;

describe('Project health and recommendations', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown) => api(app.baseUrl, method, `/api/v1${url}`, body);
  const create = async (title: string, estimate: number | null, extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/tasks', { title, estimate, projectId: 'care', ...extra });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id as string;
  };
  const depend = async (taskId: string, dependsOn: string) =>
    expect((await call('POST', `/tasks/${taskId}/dependencies`, { dependsOn })).status).to.equal(201);
  const claim = async (id: string, leaseSeconds: number) => {
    const res = await call('POST', `/tasks/${id}/claim`, { agent: 'ada', leaseSeconds, role: 'generalist' });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  };

  // care: design (no estimate, 8 h assumed) ← build (2 h) ← ship (1 h) is the critical path; side (1 h) runs beside it;
  // held is claimed for 2 h, lapsed for 10 s. Then side grows to 6 h: it uses 5 h of its slack.
  const t: Record<string, string> = {};
  let firstState: string;
  /** Health as seen an hour after the first state, comparing with that state. */
  const healthAnHourOn = () =>
    projectHealth({ db: app.readDb, log: app.store, defaultEstimate: 8 }, new ProjectIndex(sqliteSource(app.readDb).loadProject('care')), {
      now: new Date(Date.parse(firstState) + HOUR).toISOString(),
      staleAfterMinutes: 30,
      sinceHours: 1,
      limit: 10,
    });

  before(async () => {
    app = await startTestApp({ leaseScanIntervalMs: 3_600_000 });
    expect((await call('POST', '/projects', { id: 'care', name: 'Care' })).status).to.equal(201);
    t.design = await create('Design', null);
    t.build = await create('Build', 2);
    t.ship = await create('Ship', 1);
    t.side = await create('Side', 1);
    t.held = await create('Held', 0.5);
    t.lapsed = await create('Lapsed', 0.5);
    await depend(t.build, t.design);
    await depend(t.ship, t.build);
    await claim(t.held, 7200);
    await claim(t.lapsed, 10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    firstState = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await call('PATCH', `/tasks/${t.side}`, { estimate: 6 })).status).to.equal(200);
  });
  after(async () => app?.close());

  describe('health (each finding as docs/graph.md defines it)', () => {
    it('finds a live claim nothing was heard of for longer than staleAfterMinutes', async () => {
      const health = await healthAnHourOn();
      expect(health.staleClaims.count).to.equal(1);
      expect(health.staleClaims.items[0]).to.include({ taskId: t.held, title: 'Held', agent: 'ada', role: 'generalist' });
      expect(health.staleClaims.items[0]!.idleMinutes).to.be.within(60, 61);
    });

    it('finds a lease that ran out and was not swept yet', async () => {
      const health = await healthAnHourOn();
      expect(health.expiredLeases.items.map((i) => i.taskId)).to.deep.equal([t.lapsed]);
      expect(health.expiredLeases.items[0]!.overdueMinutes).to.be.within(59, 60);
    });

    it('lists blocked tasks, blocked longest first, with the open tasks at the top of their chains', async () => {
      const { blockedChains } = await healthAnHourOn();
      expect(blockedChains.count).to.equal(2);
      expect(blockedChains.items.map((i) => [i.taskId, i.waitingOn, i.chainLength, i.rootBlockers])).to.deep.equal([
        [t.build, [t.design], 1, [t.design]],
        [t.ship, [t.build], 2, [t.design]],
      ]);
      expect(blockedChains.items[0]!.blockedHours).to.be.within(1, 1.01);
    });

    it('names the critical tasks that have no estimate', async () => {
      const health = await healthAnHourOn();
      expect(health.criticalWithoutEstimate.items).to.deep.equal([{ taskId: t.design, title: 'Design', assumedHours: 8 }]);
    });

    it('finds the slack used up since sinceHours ago, folded from the log', async () => {
      const { slackUsed } = await healthAnHourOn();
      expect(slackUsed.since).to.equal(firstState);
      expect(slackUsed.sincePosition).to.be.above(0);
      expect(slackUsed.items).to.deep.equal([{ taskId: t.side, title: 'Side', slackBefore: 10, slackNow: 5, used: 5 }]);
    });

    it('answers over REST with every section', async () => {
      const res = await call('GET', '/projects/care/health?staleAfterMinutes=30');
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.have.keys('projectId', 'at', 'staleClaims', 'expiredLeases', 'blockedChains', 'criticalWithoutEstimate', 'slackUsed');
      expect(res.body.blockedChains.count).to.equal(2);
      expect(res.body.staleClaims.count).to.equal(0);
    });

    it('answers 404 for a project that does not exist', async () => {
      const res = await call('GET', '/projects/nowhere/health');
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('PROJECT_NOT_FOUND');
    });
  });

  describe('recommendations', () => {
    it('puts the ready critical task first, with the reason in a sentence', async () => {
      const res = await call('GET', '/projects/care/recommendations');
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const [first, second] = res.body.items;
      expect(first).to.include({ action: 'start', taskId: t.design, role: null });
      expect(first.reason)
        .to.match(/critical path/)
        .and.match(/2 open tasks wait on it/);
      expect(second).to.include({ action: 'start', taskId: t.side });
      expect(second.reason).to.match(/^Ready, with 5 h of slack/);
      for (const item of res.body.items) expect(item.reason).to.match(/^[A-Z0-9].*\.$/);
      // In-progress and blocked tasks with nothing waiting on them are not recommended.
      expect(res.body.items.map((i: { taskId: string }) => i.taskId)).to.not.include.members([t.held, t.build, t.ship]);
    });

    it("keeps to one role's tasks and those without a role", async () => {
      const tester = await create('Role task', 1);
      const assigned = await call('POST', '/roles/frontend_developer/assign', { taskId: tester });
      expect(assigned.status, JSON.stringify(assigned.body)).to.equal(200);
      const mine = await call('GET', '/projects/care/recommendations?role=generalist');
      expect(mine.body.role).to.equal('generalist');
      expect(mine.body.items.map((i: { taskId: string }) => i.taskId))
        .to.include(t.design)
        .and.not.include(tester);
      const theirs = await call('GET', '/projects/care/recommendations?role=frontend_developer');
      expect(theirs.body.items.map((i: { taskId: string }) => i.taskId)).to.include(tester);
    });

    it('recommends finishing an in-progress task that many wait on', async () => {
      const a = await create('Chain a', 1);
      const b = await create('Chain b', 1);
      await depend(a, t.held!);
      await depend(b, a);
      const res = await call('GET', '/projects/care/recommendations?limit=20');
      const held = res.body.items.find((i: { taskId: string }) => i.taskId === t.held);
      expect(held).to.include({ action: 'unblock' });
      expect(held.reason).to.equal('2 open tasks wait on it (a chain of 2 steps behind it): it is in progress, help finish it.');
    });
  });
});
