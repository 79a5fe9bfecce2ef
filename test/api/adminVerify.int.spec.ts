import { expect } from 'chai';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/** GET /admin/verify: a verify job of the server, followed through GET /admin/jobs/:id. */
describe('GET /api/v1/admin/verify', function () {
  this.timeout(60_000);
  let app: TestApp;

  const follow = async (started: JsonResponse, headers: Record<string, string> = {}) => {
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    let job = started.body;
    for (let i = 0; job.state === 'running' && i < 400; i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (await api(app.baseUrl, 'GET', `/api/v1/admin/jobs/${job.id}`, undefined, headers)).body;
    }
    return job;
  };
  const tokenWith = async (pluginId: string, capabilities: string[]) => {
    expect((await api(app.baseUrl, 'POST', '/api/v1/plugins', { id: pluginId, name: pluginId, type: 'agent', capabilities })).status).to.equal(201);
    const issued = await api(app.baseUrl, 'POST', `/api/v1/plugins/${pluginId}/tokens`, { capabilities });
    return { authorization: `Bearer ${issued.body.token as string}` };
  };

  before(async () => {
    app = await startTestApp();
    const root = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Root', tags: ['a'] });
    for (const title of ['One', 'Two', 'Three']) await api(app.baseUrl, 'POST', '/api/v1/tasks', { title, parentId: root.body.id });
  });
  after(() => app?.close());

  describe('when the models are as the log says', () => {
    it('answers 202 with a running verify job that finishes with an equal report', async () => {
      const started = await api(app.baseUrl, 'GET', '/api/v1/admin/verify');
      expect(started.body).to.include({ kind: 'verify', startedBy: 'admin' });
      expect(started.body.request).to.deep.equal({ model: 'all' });
      const job = await follow(started);
      expect(job.state, job.error).to.equal('succeeded');
      expect(job.result.equal).to.equal(true);
      expect(job.result.models.map((m: { model: string }) => m.model)).to.deep.equal(['sqlite', 'graph']);
      expect(job.progress.phase).to.equal('graph: comparing');
    });

    it('verifies one model when asked', async () => {
      const job = await follow(await api(app.baseUrl, 'GET', '/api/v1/admin/verify?model=sqlite'));
      expect(job.result.models.map((m: { model: string }) => m.model)).to.deep.equal(['sqlite']);
      expect(job.result.equal).to.equal(true);
    });

    it('stays equal while writes keep arriving: both sides are cut at the live checkpoint', async () => {
      const started = await api(app.baseUrl, 'GET', '/api/v1/admin/verify');
      const writes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => api(app.baseUrl, 'POST', '/api/v1/tasks', { title: `during verify ${i}`, tags: ['busy'] })),
      );
      expect(writes.map((w) => w.status)).to.deep.equal(Array(20).fill(201));
      const job = await follow(started);
      expect(job.state, job.error).to.equal('succeeded');
      expect(job.result.equal, JSON.stringify(job.result)).to.equal(true);
    });
  });

  describe('when a read-model row was changed behind the projector’s back', () => {
    it('finishes with a report naming the table, the key and the column', async () => {
      const task = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Honest title' });
      app.readDb.prepare("UPDATE tasks SET title = 'Forged title' WHERE id = ?").run(task.body.id);
      const job = await follow(await api(app.baseUrl, 'GET', '/api/v1/admin/verify?model=sqlite'));
      expect(job.state).to.equal('succeeded');
      expect(job.result.equal).to.equal(false);
      const tasks = job.result.models[0].tables.find((t: { table: string }) => t.table === 'tasks');
      expect(tasks.differing).to.equal(1);
      expect(tasks.examples[0]).to.deep.equal({
        kind: 'differing',
        key: { id: task.body.id },
        columns: [{ column: 'title', live: 'Forged title', rebuilt: 'Honest title' }],
      });
      app.readDb.prepare("UPDATE tasks SET title = 'Honest title' WHERE id = ?").run(task.body.id);
    });
  });

  describe('when the caller lacks audit_admin', () => {
    it('refuses a token holding audit_reading with 403 MISSING_CAPABILITY', async () => {
      const headers = await tokenWith('verify-reader', ['audit_reading']);
      const refused = await api(app.baseUrl, 'GET', '/api/v1/admin/verify', undefined, headers);
      expect(refused.status).to.equal(403);
      expect(refused.body).to.include({ code: 'MISSING_CAPABILITY', required: 'audit_admin' });
    });

    it('lets a token holding only audit_admin start and follow the job', async () => {
      const headers = await tokenWith('verify-admin', ['audit_admin']);
      const job = await follow(await api(app.baseUrl, 'GET', '/api/v1/admin/verify?model=graph', undefined, headers), headers);
      expect(job).to.include({ state: 'succeeded', startedBy: 'verify-admin' });
    });
  });

  describe('when the model is unknown', () => {
    it('answers 400 naming the field', async () => {
      const refused = await api(app.baseUrl, 'GET', '/api/v1/admin/verify?model=vectorz');
      expect(refused.status).to.equal(400);
      expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(JSON.stringify(refused.body)).to.include('model');
    });
  });
});
