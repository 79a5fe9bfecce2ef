import { expect } from 'chai';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/**
 * State as of a point, diffs and undo over REST, on a real server: what an administrator doing audit replay sees.
 * Requests carry their own X-Correlation-Id, so the spec can name the request it undoes.
 */

type Task = Record<string, unknown> & { id: string; version: number };

/** What undo restores of a task; version and updatedAt move on with the compensating events. */
const RESTORED = [
  'id',
  'projectId',
  'parentId',
  'title',
  'description',
  'status',
  'priority',
  'role',
  'tags',
  'estimate',
  'files',
  'requiredCapabilities',
  'metadata',
  'depth',
  'createdAt',
];
const restorable = (task: Record<string, unknown>) => Object.fromEntries(RESTORED.map((k) => [k, task[k]]));

describe('Audit state over REST: as of, diff, undo', () => {
  let app: TestApp;
  let serial = 0;
  const call = (method: string, url: string, body?: unknown, correlationId = `spec-${++serial}`) =>
    api(app.baseUrl, method, `/api/v1${url}`, body, { 'x-correlation-id': correlationId });
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const problem = (response: JsonResponse, status: number, code: string): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body.code).to.equal(code);
    expect(response.body.detail)
      .to.be.a('string')
      .and.not.match(/\n\s+at /);
    return response;
  };
  const head = async (): Promise<number> => app.store.headPosition();
  const project = async (): Promise<string> => {
    const id = `audit-${++serial}`;
    ok(await call('POST', '/projects', { id, name: id }), 201);
    return id;
  };
  const create = async (body: Record<string, unknown>, correlationId?: string): Promise<Task> =>
    ok(await call('POST', '/tasks', body, correlationId), 201).body;
  const live = async (id: string): Promise<Task> => ok(await call('GET', `/tasks/${id}`)).body;
  const asOf = async (id: string, at?: number | string) =>
    ok(await call('GET', `/audit/tasks/${id}${at === undefined ? '' : `?at=${encodeURIComponent(String(at))}`}`)).body;
  const undo = (correlationId: string, dryRun?: boolean, own?: string) =>
    call('POST', '/audit/undo', dryRun === undefined ? { correlationId } : { correlationId, dryRun }, own);

  before(async () => {
    app = await startTestApp();
  });

  after(() => app?.close());

  describe('GET /audit/tasks/:id', () => {
    it('as of the head equals the live task, with its dependencies, and says which position it reflects', async () => {
      const p = await project();
      const a = await create({ projectId: p, title: 'Parent', tags: ['t'], estimate: 2, metadata: { k: 'v' } });
      const b = await create({ projectId: p, parentId: a.id, title: 'Child', priority: 'high' });
      ok(await call('POST', `/tasks/${b.id}/dependencies`, { dependsOn: a.id, kind: 'soft' }), 201);
      ok(await call('POST', '/roles/generalist/assign', { taskId: b.id }));
      ok(await call('POST', `/tasks/${a.id}/status`, { status: 'blocked' }));
      const position = await head();
      const answer = await asOf(b.id);
      expect(answer.asOf.position).to.equal(position);
      expect(answer.asOf.time).to.be.a('string');
      const { dependencies, ...task } = answer.task;
      expect(task).to.deep.equal(await live(b.id));
      expect(dependencies).to.deep.equal([{ dependsOn: a.id, kind: 'soft' }]);
      expect(restorable((await asOf(a.id)).task)).to.deep.equal(restorable(await live(a.id)));
    });

    it('as of an earlier position shows the task then, never the live read model', async () => {
      const p = await project();
      const t = await create({ projectId: p, title: 'Before' });
      const then = await head();
      ok(await call('PATCH', `/tasks/${t.id}`, { title: 'After' }));
      expect((await asOf(t.id, then)).task).to.include({ title: 'Before', version: t.version });
      expect((await asOf(t.id)).task).to.include({ title: 'After' });
    });

    it('answers 404 TASK_NOT_FOUND for a task that did not exist then, and 400 POSITION_NOT_REACHED past the head', async () => {
      const p = await project();
      const before = await head();
      const t = await create({ projectId: p, title: 'Late' });
      const refused = problem(await call('GET', `/audit/tasks/${t.id}?at=${before}`), 404, 'TASK_NOT_FOUND');
      expect(refused.body.detail).to.match(/created later/);
      problem(await call('GET', `/audit/tasks/${t.id}?at=${(await head()) + 10}`), 400, 'POSITION_NOT_REACHED');
      problem(await call('GET', `/audit/tasks/${t.id}?at=soon`), 400, 'INVALID_POINT');
      problem(await call('GET', `/audit/tasks/${t.id}?at=1&asOf=2`), 400, 'VALIDATION_ERROR');
    });
  });

  describe('GET /audit/projects/:projectId and /audit/diff', () => {
    it('gives a project as of a time with counts, and the diff between two points', async () => {
      const p = await project();
      const a = await create({ projectId: p, title: 'One' });
      await new Promise((r) => setTimeout(r, 5));
      const time = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 5));
      ok(await call('PATCH', `/tasks/${a.id}`, { title: 'Uno' }));
      const b = await create({ projectId: p, title: 'Two' });
      const then = ok(await call('GET', `/audit/projects/${p}?at=${encodeURIComponent(time)}`)).body;
      expect(then.project).to.include({ id: p, taskCount: 1 });
      expect(then.items.map((t: Task) => t.title)).to.deep.equal(['One']);
      const diff = ok(await call('GET', `/audit/diff?projectId=${p}&from=${encodeURIComponent(time)}`)).body;
      expect(diff.counts).to.deep.equal({ created: 1, deleted: 0, changed: 1 });
      expect(diff.items.find((d: { taskId: string }) => d.taskId === a.id).changes).to.deep.equal([{ field: 'title', before: 'One', after: 'Uno' }]);
      expect(diff.items.find((d: { taskId: string }) => d.taskId === b.id).change).to.equal('created');
      problem(await call('GET', '/audit/projects/never-was'), 404, 'PROJECT_NOT_FOUND');
    });
  });

  describe('POST /audit/undo', () => {
    it('reverses an update: the task is as it was before the request, and the events name the undone request as their cause', async () => {
      const p = await project();
      const t = await create({ projectId: p, title: 'Keep me', tags: ['a'], estimate: 1 });
      const before = await head();
      ok(await call('PATCH', `/tasks/${t.id}`, { title: 'Oops', tags: ['b'], estimate: null, priority: 'critical' }, 'req-update'));
      const undone = ok(await call('POST', '/audit/undo', { correlationId: 'req-update' }, 'req-undo-update')).body;
      expect(undone).to.include({ dryRun: false, projectId: p, correlationId: 'req-update' });
      expect(undone.undone.map((e: { type: string }) => e.type)).to.deep.equal(['TaskUpdated']);
      expect(undone.events.map((e: { type: string }) => e.type)).to.deep.equal(['TaskUpdated']);
      expect(restorable(await live(t.id))).to.deep.equal(restorable((await asOf(t.id, before)).task));
      const appended = await app.store.queryEvents({ correlationId: 'req-undo-update' }, { limit: 10 });
      expect(appended.map((e) => e.metadata.causationId)).to.deep.equal(['req-update']);
    });

    it('reverses a recursive delete: the subtree comes back with fields, parents, dependencies, role and status', async () => {
      const p = await project();
      const other = await create({ projectId: p, title: 'Outside' });
      const root = await create({ projectId: p, title: 'Root', description: 'the top' });
      const child = await create({ projectId: p, parentId: root.id, title: 'Child', tags: ['c'] });
      const grandchild = await create({ projectId: p, parentId: child.id, title: 'Grandchild' });
      ok(await call('POST', `/tasks/${grandchild.id}/dependencies`, { dependsOn: child.id, kind: 'hard' }), 201);
      ok(await call('POST', `/tasks/${other.id}/dependencies`, { dependsOn: grandchild.id, kind: 'soft' }), 201);
      ok(await call('POST', '/roles/generalist/assign', { taskId: child.id }));
      ok(await call('POST', `/tasks/${child.id}/status`, { status: 'blocked' }));
      const before = await head();
      const ids = [root.id, child.id, grandchild.id, other.id];
      const was = await Promise.all(ids.map((id) => asOf(id, before)));
      ok(await call('DELETE', `/tasks/${root.id}`, undefined, 'req-delete'));
      problem(await call('GET', `/tasks/${child.id}`), 404, 'TASK_NOT_FOUND');
      ok(await undo('req-delete'));
      for (const [i, id] of ids.entries()) {
        const now = await asOf(id);
        expect(restorable(now.task), id).to.deep.equal(restorable(was[i]!.task));
        expect(now.task.dependencies, id).to.deep.equal(was[i]!.task.dependencies);
        expect(restorable(await live(id)), id).to.deep.equal(restorable(was[i]!.task));
      }
    });

    it('reverses a create: the task is gone again', async () => {
      const p = await project();
      const t = await create({ projectId: p, title: 'Unwanted' }, 'req-create');
      ok(await undo('req-create'));
      problem(await call('GET', `/tasks/${t.id}`), 404, 'TASK_NOT_FOUND');
    });

    it('reverses a move and a dependency: back under the old parent, the edge gone again', async () => {
      const p = await project();
      const parent = await create({ projectId: p, title: 'Parent' });
      const t = await create({ projectId: p, parentId: parent.id, title: 'Moved' });
      const target = await create({ projectId: p, title: 'Target' });
      ok(await call('POST', `/tasks/${t.id}/move`, { parentId: null }, 'req-move'));
      ok(await call('POST', `/tasks/${t.id}/dependencies`, { dependsOn: target.id }, 'req-dep'), 201);
      ok(await undo('req-dep'));
      expect((await asOf(t.id)).task.dependencies).to.deep.equal([]);
      ok(await undo('req-move'));
      expect(await live(t.id)).to.include({ parentId: parent.id, depth: 1 });
    });

    it('refuses with 409 UNDO_CONFLICT when the project no longer allows a compensation (the parent of a deleted task is gone)', async () => {
      const p = await project();
      const parent = await create({ projectId: p, title: 'Parent' });
      const t = await create({ projectId: p, parentId: parent.id, title: 'Child' });
      ok(await call('DELETE', `/tasks/${t.id}`, undefined, 'req-del-child'));
      ok(await call('DELETE', `/tasks/${parent.id}`, undefined, 'req-del-parent'));
      const position = await head();
      const refused = problem(await undo('req-del-child'), 409, 'UNDO_CONFLICT');
      expect(refused.body.reason).to.include({ code: 'TASK_NOT_FOUND', taskId: parent.id });
      expect(await head()).to.equal(position);
    });

    it('in a dry run answers the events it would append and appends nothing', async () => {
      const p = await project();
      const t = await create({ projectId: p, title: 'Dry' });
      ok(await call('PATCH', `/tasks/${t.id}`, { title: 'Wet' }, 'req-dry'));
      const position = await head();
      const planned = ok(await undo('req-dry', true)).body;
      expect(planned.dryRun).to.equal(true);
      expect(planned.events).to.deep.equal([{ type: 'TaskUpdated', taskId: t.id, data: planned.events[0].data }]);
      expect(planned.events[0].data.changes).to.deep.equal({ title: 'Dry' });
      expect(await head()).to.equal(position);
      expect((await live(t.id)).title).to.equal('Wet');
    });

    it('refuses with 409 UNDO_CONFLICT naming the later events when something after the request touched its tasks, and appends nothing', async () => {
      const p = await project();
      const t = await create({ projectId: p, title: 'First' });
      ok(await call('PATCH', `/tasks/${t.id}`, { title: 'Second' }, 'req-early'));
      ok(await call('PATCH', `/tasks/${t.id}`, { title: 'Third' }, 'req-late'));
      const position = await head();
      const refused = problem(await undo('req-early'), 409, 'UNDO_CONFLICT');
      expect(refused.body.laterEvents).to.deep.equal([{ position, type: 'TaskUpdated', taskId: t.id }]);
      expect(refused.body.detail).to.include(`TaskUpdated of ${t.id} at position ${position}`);
      expect(await head()).to.equal(position);
      ok(await undo('req-late', false, 'req-undo-late'));
      problem(await undo('req-late'), 409, 'ALREADY_UNDONE');
      // Newest first works: the later request and its undo cancel out.
      ok(await undo('req-early'));
      expect((await live(t.id)).title).to.equal('First');
    });

    it('redoes a request by undoing its undo', async () => {
      const p = await project();
      const t = await create({ projectId: p, title: 'Draft' });
      ok(await call('PATCH', `/tasks/${t.id}`, { title: 'Final' }, 'req-final'));
      ok(await undo('req-final', false, 'req-undo-final'));
      expect((await live(t.id)).title).to.equal('Draft');
      ok(await undo('req-undo-final'));
      expect((await live(t.id)).title).to.equal('Final');
    });

    it('refuses a claim with 422 UNDO_UNSUPPORTED, a role change with 422 UNDO_UNSUPPORTED_STREAM, an unknown request with 404', async () => {
      const p = await project();
      const t = await create({ projectId: p, title: 'Claimed' });
      ok(await call('POST', `/tasks/${t.id}/claim`, { agent: 'a1', leaseSeconds: 60 }, 'req-claim'));
      expect(problem(await undo('req-claim'), 422, 'UNDO_UNSUPPORTED').body.types).to.deep.equal(['TaskClaimed']);
      const role = {
        name: 'undo_spec_role',
        description: 'A role for the undo spec',
        capabilities: ['testing'],
        filePatterns: ['**'],
        tools: [],
        maxConcurrentTasks: 1,
        restrictions: { maxFileChanges: 1, maxTaskDepth: 1, requireApproval: false, timeLimitMinutes: 10 },
      };
      ok(await call('POST', '/roles', role, 'req-role'), 201);
      problem(await undo('req-role'), 422, 'UNDO_UNSUPPORTED_STREAM');
      problem(await undo('no-such-request'), 404, 'REQUEST_NOT_FOUND');
    });
  });
});
