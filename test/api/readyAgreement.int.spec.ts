import { expect } from 'chai';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/**
 * `GET /tasks/ready?role=` and `POST /tasks/claim-next` apply one rule set (src/algorithms/readiness.ts): assigned to
 * the role, or unassigned and fitting it; no open hard dependency; no open child. On a mixed project the tasks the
 * list shows are exactly those claim-next hands out, one by one, until it has none left.
 */
describe('Ready tasks and claim-next', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  const call = (method: string, url: string, body?: unknown): Promise<JsonResponse> => api(app.baseUrl, method, `/api/v1${url}`, body);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const create = async (projectId: string, body: Record<string, unknown>): Promise<string> =>
    ok(await call('POST', '/tasks', { projectId, ...body }), 201).body.id;

  /** The ready list for a role, walked page by page (`limit` per page). */
  const readyFor = async (projectId: string, role: string, limit = 2): Promise<string[]> => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: JsonResponse = ok(
        await call('GET', `/tasks/ready?projectId=${projectId}&role=${role}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
      );
      ids.push(...page.body.items.map((t: { id: string }) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    return ids;
  };

  describe('given a project mixing assigned, unassigned, unfitting, waiting and parent tasks', () => {
    const P = `mixed-${Date.now().toString(36)}`;
    const fits: string[] = [];
    const never: string[] = [];
    before(async () => {
      ok(await call('POST', '/projects', { id: P, name: 'Mixed' }), 201);
      const assigned = await create(P, { title: 'Assigned to backend', files: ['server/main.ts'] });
      ok(await call('POST', `/roles/backend_developer/assign`, { taskId: assigned }), 200);
      fits.push(assigned);
      fits.push(await create(P, { title: 'Unassigned server code', files: ['src/server.ts'], priority: 'high' }));
      fits.push(await create(P, { title: 'Unassigned migration', files: ['db/001.sql'], requiredCapabilities: ['testing'] }));
      const parent = await create(P, { title: 'Parent of a fitting child', files: ['src/api/index.ts'], priority: 'critical' });
      fits.push(await create(P, { title: 'Child', parentId: parent, files: ['src/api/routes.ts'] }));
      never.push(parent);
      never.push(await create(P, { title: 'Docs only', files: ['docs/guide.md'] }));
      never.push(await create(P, { title: 'Needs deployment', files: ['src/deploy.ts'], requiredCapabilities: ['deployment'] }));
      const frontend = await create(P, { title: 'Assigned to frontend', files: ['src/components/a.tsx'] });
      ok(await call('POST', `/roles/frontend_developer/assign`, { taskId: frontend }), 200);
      never.push(frontend);
      const waiting = await create(P, { title: 'Waits on the server code', files: ['src/later.ts'] });
      ok(await call('POST', `/tasks/${waiting}/dependencies`, { dependsOn: fits[1] }), 201);
      never.push(waiting);
    });

    it('lists, for the role, the assigned task and the unassigned ones it fits, never a parent with an open child', async () => {
      const listed = await readyFor(P, 'backend_developer');
      expect(listed).to.have.members(fits);
      for (const id of never) expect(listed).to.not.include(id);
    });

    it('hands out with claim-next exactly the listed tasks, then nothing', async () => {
      const listed = await readyFor(P, 'backend_developer', 50);
      const claimed: string[] = [];
      for (let i = 0; i < listed.length + 2; i++) {
        const before = await readyFor(P, 'backend_developer', 50);
        const answer = ok(await call('POST', '/tasks/claim-next', { role: 'backend_developer', projectId: P, agent: `agent-${i}` })).body;
        if (!answer.claimed) {
          expect(before, 'claim-next found nothing while the list still showed tasks').to.deep.equal([]);
          break;
        }
        expect(before, 'claim-next handed out a task the list did not show').to.include(answer.task.id);
        claimed.push(answer.task.id);
      }
      expect(claimed).to.have.members(listed);
    });
  });
});
