import { expect } from 'chai';
import { projectStreamId } from '../../src/events/project.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/** File-aware claims over real HTTP: FILE_CONFLICT as problem+json, force recorded in the event, skipped tasks, marks. */
describe('File-aware claims API', () => {
  let app: TestApp;
  const P = 'file-claims';
  const ids: Record<string, string> = {};
  before(async () => {
    app = await startTestApp();
    ok(await call('POST', '/projects', { id: P, name: 'File claims' }), 201);
    for (const [name, files, priority] of [
      ['api', ['src/api/**'], 'critical'],
      ['routes', ['src/api/routes.ts'], 'high'],
      ['readme', ['README.md'], 'normal'],
    ] as const)
      ids[name] = ok(await call('POST', '/tasks', { projectId: P, title: name, files, priority }), 201).body.id;
    ok(await call('POST', `/tasks/${ids.api}/claim`, { agent: 'agent-1' }));
  });
  after(() => app?.close());

  const call = (method: string, url: string, body?: unknown): Promise<JsonResponse> => api(app.baseUrl, method, `/api/v1${url}`, body);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };

  describe('when an agent claims a task whose files another agent holds', () => {
    it('answers 409 FILE_CONFLICT as problem+json, naming holder, task and lease end', async () => {
      const refused = await call('POST', `/tasks/${ids.routes}/claim`, { agent: 'agent-2' });
      expect(refused.status).to.equal(409);
      expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(refused.body).to.include({ code: 'FILE_CONFLICT', holder: 'agent-1', holderTaskId: ids.api });
      expect(refused.body.leaseExpiresAt).to.be.a('string');
      expect(refused.body.hint).to.include('force');
    });

    it('lists the claim among the files held in the project', async () => {
      const items = ok(await call('GET', `/projects/${P}/file-marks`)).body.items;
      expect(items).to.deep.include({ holder: 'agent-1', taskId: ids.api, files: ['src/api/**'], until: items[0].until });
    });
  });

  describe('when claim-next meets the held files', () => {
    it('skips the overlapping task, claims a free one and says what it skipped', async () => {
      const answer = ok(await call('POST', '/tasks/claim-next', { role: 'generalist', agent: 'agent-3', projectId: P })).body;
      expect(answer.claimed).to.equal(true);
      expect(answer.task.id).to.equal(ids.readme);
      expect(answer.skipped).to.deep.include({
        taskId: ids.routes,
        files: ['src/api/routes.ts'],
        holder: 'agent-1',
        holderTaskId: ids.api,
        leaseExpiresAt: answer.skipped[0].leaseExpiresAt,
      });
    });
  });

  describe('when the claim is forced', () => {
    it('claims and records what it overrode in the TaskClaimed event', async () => {
      ok(await call('POST', `/tasks/${ids.routes}/claim`, { agent: 'agent-2', force: true }));
      const events = await app.store.readStream(projectStreamId(P), { maxCount: 1000 });
      const claimed = events.filter((e) => e.type === 'TaskClaimed').map((e) => e.data as { taskId: string; forcedOver?: unknown[] });
      expect(claimed.find((c) => c.taskId === ids.routes)?.forcedOver).to.have.length(1);
      expect(claimed.find((c) => c.taskId === ids.api)).to.not.have.property('forcedOver');
    });
  });

  describe('advisory marks', () => {
    it('marks with a TTL, lists the mark and answers what it overlaps; unmarking removes it', async () => {
      const marked = ok(await call('POST', `/projects/${P}/file-marks`, { agent: 'agent-4', files: ['src/api/index.ts'], ttlSeconds: 120 })).body;
      expect(marked.overlaps.map((o: { holder: string }) => o.holder)).to.include('agent-1');
      const listed = ok(await call('GET', `/projects/${P}/file-marks`)).body.items;
      expect(listed.find((h: { holder: string }) => h.holder === 'agent-4')).to.include({ taskId: null });
      expect(ok(await call('POST', `/projects/${P}/file-marks/remove`, { agent: 'agent-4' })).body.removed).to.equal(true);
      const after = ok(await call('GET', `/projects/${P}/file-marks`)).body.items;
      expect(after.map((h: { holder: string }) => h.holder)).to.not.include('agent-4');
    });

    it('refuses a mark without a TTL from an agent holding no lease: 422 MARK_NEEDS_TTL', async () => {
      const refused = await call('POST', `/projects/${P}/file-marks`, { agent: 'agent-5', files: ['docs/**'] });
      expect(refused.status).to.equal(422);
      expect(refused.body.code).to.equal('MARK_NEEDS_TTL');
    });

    it('answers 400 VALIDATION_ERROR for an empty file list', async () => {
      const refused = await call('POST', `/projects/${P}/file-marks`, { files: [], ttlSeconds: 60 });
      expect(refused.status).to.equal(400);
      expect(refused.body.code).to.equal('VALIDATION_ERROR');
    });
  });
});
