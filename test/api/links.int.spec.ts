import path from 'node:path';
import { expect } from 'chai';
import { buildReadModelAt } from '../../src/projections/sqlite/rebuild.js';
import { dumpReadModel, openReadModel } from '../../src/projections/sqlite/readModel.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';
import { call as callTool, connect, ok as okTool, refused, type Connected } from './mcp/support.js';

/**
 * Typed links over real HTTP and MCP (issue 15 item 3): `discovered_from` on create, `duplicates` and `related`
 * through link_tasks / unlink_tasks; shown on both tasks and in their history, refused with stable codes, and never
 * changing what is ready or what claim-next hands out.
 */

const ROLE = {
  name: 'links_worker',
  description: 'A role for the link specs.',
  capabilities: ['code_writing'],
  filePatterns: ['src/**'],
  tools: ['read_file'],
  maxConcurrentTasks: 100,
  restrictions: { maxFileChanges: 5, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

type Link = { kind: string; taskId: string; direction: string; createdAt: string };

describe('Typed links (POST /tasks/:id/links, DELETE /tasks/:id/links/:kind/:target, link_tasks, unlink_tasks)', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown): Promise<JsonResponse> => api(app.baseUrl, method, `/api/v1${url}`, body);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const problem = (response: JsonResponse, status: number, code: string): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body.code).to.equal(code);
    return response;
  };
  const projectId = `links-${Date.now().toString(36)}`;
  const newTask = async (title: string, extra: Record<string, unknown> = {}) =>
    ok(await call('POST', '/tasks', { projectId, title, ...extra }), 201).body as { id: string; links: Link[] };
  const linksOf = async (id: string): Promise<Link[]> => ok(await call('GET', `/tasks/${id}`)).body.links;
  const brief = (links: Link[]) => links.map(({ kind, taskId, direction }) => ({ kind, taskId, direction }));

  before(async function () {
    this.timeout(30_000);
    app = await startTestApp();
    ok(await call('POST', '/roles', ROLE), 201);
    ok(await call('POST', '/projects', { id: projectId, name: 'Links' }), 201);
  });

  after(() => app?.close());

  describe('when an agent files work it discovered while doing another task', () => {
    it('then create_task {discoveredFrom} links the new task out, and the origin shows it coming in', async () => {
      const origin = await newTask('Write the parser');
      const found = await newTask('The lexer drops unicode escapes', { discoveredFrom: origin.id });
      expect(brief(found.links)).to.deep.equal([{ kind: 'discovered_from', taskId: origin.id, direction: 'out' }]);
      expect(brief(await linksOf(origin.id))).to.deep.equal([{ kind: 'discovered_from', taskId: found.id, direction: 'in' }]);
      const history = ok(await call('GET', `/tasks/${origin.id}/history`)).body.items as Array<{ type: string; changes: unknown }>;
      expect(history.at(-1)).to.deep.include({
        type: 'TaskLinked',
        changes: { link: { kind: 'discovered_from', taskId: found.id, direction: 'in' } },
      });
    });

    it('then a discoveredFrom naming no task creates nothing and answers 404 TASK_NOT_FOUND', async () => {
      const before = ok(await call('GET', `/tasks?projectId=${projectId}&limit=200`)).body.items.length;
      problem(await call('POST', '/tasks', { projectId, title: 'Orphan discovery', discoveredFrom: 'no-such-task' }), 404, 'TASK_NOT_FOUND');
      expect(ok(await call('GET', `/tasks?projectId=${projectId}&limit=200`)).body.items).to.have.length(before);
    });

    it('then create_task_tree takes discoveredFrom on any node, and refuses the whole tree for one that names no task', async () => {
      const origin = await newTask('Review the storage layer');
      const root = {
        title: 'Fix the index',
        discoveredFrom: origin.id,
        children: [{ title: 'Add a test' }, { title: 'Measure it', discoveredFrom: origin.id }],
      };
      const tree = ok(await call('POST', '/tasks/tree', { projectId, root }), 201).body;
      const [rootId, testId, measureId] = tree.taskIds as string[];
      expect(brief(await linksOf(rootId!))).to.deep.equal([{ kind: 'discovered_from', taskId: origin.id, direction: 'out' }]);
      expect(await linksOf(testId!)).to.deep.equal([]);
      expect(brief(await linksOf(measureId!))).to.deep.equal([{ kind: 'discovered_from', taskId: origin.id, direction: 'out' }]);
      expect(brief(await linksOf(origin.id)).map((l) => l.taskId)).to.have.members([rootId, measureId]);
      const bad = { title: 'Doomed tree', children: [{ title: 'Doomed child', discoveredFrom: 'no-such-task' }] };
      problem(await call('POST', '/tasks/tree', { projectId, root: bad }), 404, 'TASK_NOT_FOUND');
    });
  });

  describe('when a link is added and removed over REST', () => {
    it('then the answer and both tasks show it, a second link changes nothing, and DELETE removes it', async () => {
      const a = await newTask('Cache the lookups');
      const b = await newTask('Memoise the lookups');
      const linked = ok(await call('POST', `/tasks/${a.id}/links`, { kind: 'duplicates', target: b.id })).body;
      expect(linked).to.include({ taskId: a.id, kind: 'duplicates', target: b.id });
      expect(brief(linked.links)).to.deep.equal([{ kind: 'duplicates', taskId: b.id, direction: 'out' }]);
      const position = linked.position;
      // Idempotent: linking again appends nothing.
      const again = ok(await call('POST', `/tasks/${a.id}/links`, { kind: 'duplicates', target: b.id })).body;
      expect(again.links).to.deep.equal(linked.links);
      expect(await app.store.headPosition()).to.equal(position);
      expect(brief(await linksOf(b.id))).to.deep.equal([{ kind: 'duplicates', taskId: a.id, direction: 'in' }]);

      const removed = ok(await call('DELETE', `/tasks/${a.id}/links/duplicates/${b.id}`)).body;
      expect(removed.links).to.deep.equal([]);
      expect(await linksOf(b.id)).to.deep.equal([]);
      const types = (ok(await call('GET', `/tasks/${b.id}/history`)).body.items as Array<{ type: string }>).map((i) => i.type);
      expect(types).to.deep.equal(['TaskCreated', 'TaskLinked', 'TaskUnlinked']);
    });

    it('then deleting a linked task removes its links from the other task', async () => {
      const a = await newTask('Short-lived');
      const b = await newTask('Stays');
      ok(await call('POST', `/tasks/${b.id}/links`, { kind: 'related', target: a.id }));
      ok(await call('DELETE', `/tasks/${a.id}`));
      expect(await linksOf(b.id)).to.deep.equal([]);
    });
  });

  describe('when a request that changed links is undone (POST /audit/undo)', () => {
    const as = (correlationId: string) => ({ 'x-correlation-id': correlationId });
    const send = (method: string, url: string, body: unknown, correlationId: string) =>
      api(app.baseUrl, method, `/api/v1${url}`, body, as(correlationId));

    it('then a link it added goes, and a deleted task comes back with the links its deletion removed', async () => {
      const a = await newTask('Undo source');
      const b = await newTask('Undo target');
      const tag = Date.now().toString(36);
      ok(await send('POST', `/tasks/${a.id}/links`, { kind: 'related', target: b.id }, `link-${tag}`));
      ok(await send('POST', '/audit/undo', { correlationId: `link-${tag}` }, `undo-link-${tag}`));
      expect(await linksOf(a.id)).to.deep.equal([]);

      ok(await send('POST', `/tasks/${a.id}/links`, { kind: 'duplicates', target: b.id }, `relink-${tag}`));
      ok(await send('DELETE', `/tasks/${b.id}`, undefined, `delete-${tag}`));
      expect(await linksOf(a.id)).to.deep.equal([]);
      ok(await send('POST', '/audit/undo', { correlationId: `delete-${tag}` }, `undo-delete-${tag}`));
      expect(brief(await linksOf(a.id))).to.deep.equal([{ kind: 'duplicates', taskId: b.id, direction: 'out' }]);
      // The audit's fold of the log shows what the read model shows.
      for (const id of [a.id, b.id]) {
        const folded = ok(await call('GET', `/audit/tasks/${id}`)).body.task;
        const shown = ok(await call('GET', `/tasks/${id}`)).body;
        expect(folded.links).to.deep.equal(shown.links);
        expect(folded.version).to.equal(shown.version);
      }
    });
  });

  describe('when a link is refused', () => {
    let a: string;
    let b: string;
    before(async () => {
      a = (await newTask('Refusal source')).id;
      b = (await newTask('Refusal target')).id;
    });

    it('then an unknown kind is 400 problem+json listing the allowed kinds', async () => {
      for (const answer of [
        await call('POST', `/tasks/${a}/links`, { kind: 'blocks', target: b }),
        await call('DELETE', `/tasks/${a}/links/blocks/${b}`),
      ]) {
        problem(answer, 400, 'VALIDATION_ERROR');
        expect(answer.body.errors[0]).to.deep.include({ field: 'kind', allowed: ['discovered_from', 'duplicates', 'related'] });
      }
    });

    it('then a missing target is 404 TASK_NOT_FOUND', async () => {
      problem(await call('POST', `/tasks/${a}/links`, { kind: 'related', target: 'no-such-task' }), 404, 'TASK_NOT_FOUND');
    });

    it('then a link to itself is 400 SELF_LINK', async () => {
      problem(await call('POST', `/tasks/${a}/links`, { kind: 'related', target: a }), 400, 'SELF_LINK');
    });

    it('then a target in another project is 422 CROSS_PROJECT_LINK', async () => {
      const other = ok(await call('POST', '/tasks', { title: 'In the default project' }), 201).body.id as string;
      problem(await call('POST', `/tasks/${a}/links`, { kind: 'related', target: other }), 422, 'CROSS_PROJECT_LINK');
    });

    it('then removing a link that does not exist is 404 LINK_NOT_FOUND', async () => {
      problem(await call('DELETE', `/tasks/${a}/links/related/${b}`), 404, 'LINK_NOT_FOUND');
    });
  });

  describe('when tasks are linked to open work', () => {
    it('then readiness and claim-next ignore the links', async () => {
      const project = `${projectId}-ready`;
      ok(await call('POST', '/projects', { id: project, name: 'Ready' }), 201);
      const open = ok(await call('POST', '/tasks', { projectId: project, title: 'Open origin', priority: 'low' }), 201).body.id as string;
      const linked = ok(await call('POST', '/tasks', { projectId: project, title: 'Linked work', priority: 'critical', discoveredFrom: open }), 201)
        .body.id as string;
      for (const kind of ['duplicates', 'related']) ok(await call('POST', `/tasks/${linked}/links`, { kind, target: open }));
      const task = ok(await call('GET', `/tasks/${linked}`)).body;
      expect(task).to.include({ ready: true, openDependencies: 0 });
      const ready = ok(await call('GET', `/tasks/ready?projectId=${project}`)).body.items.map((t: { id: string }) => t.id);
      expect(ready).to.have.members([open, linked]);
      const claimed = ok(await call('POST', '/tasks/claim-next', { role: ROLE.name, agent: 'ada', projectId: project })).body;
      expect(claimed.task.id).to.equal(linked);
      expect(ok(await call('GET', `/tasks/${linked}/dependencies`)).body.items).to.deep.equal([]);
    });
  });

  describe('over MCP', () => {
    let mcp: Connected;
    before(async () => {
      mcp = await connect(app, { toolSet: 'standard' });
    });
    after(() => mcp?.close());

    it('then link_tasks and unlink_tasks add and remove a link, and get_task shows it', async () => {
      const a = await newTask('MCP source');
      const b = await newTask('MCP target');
      const linked = okTool(await callTool(mcp.client, 'link_tasks', { id: a.id, kind: 'related', target: b.id }));
      expect(brief(linked.links)).to.deep.equal([{ kind: 'related', taskId: b.id, direction: 'out' }]);
      const seen = okTool(await callTool(mcp.client, 'get_task', { id: b.id }));
      expect(brief(seen.links)).to.deep.equal([{ kind: 'related', taskId: a.id, direction: 'in' }]);
      const removed = okTool(await callTool(mcp.client, 'unlink_tasks', { id: a.id, kind: 'related', target: b.id }));
      expect(removed.links).to.deep.equal([]);
    });

    it('then create_task takes discoveredFrom', async () => {
      const origin = await newTask('MCP origin');
      const created = okTool(await callTool(mcp.client, 'create_task', { projectId, title: 'Found over MCP', discoveredFrom: origin.id }));
      expect(brief(created.links)).to.deep.equal([{ kind: 'discovered_from', taskId: origin.id, direction: 'out' }]);
    });

    it('then refusals carry the same codes', async () => {
      const a = await newTask('MCP refusals');
      refused(await callTool(mcp.client, 'link_tasks', { id: a.id, kind: 'related', target: a.id }), 'SELF_LINK');
      refused(await callTool(mcp.client, 'link_tasks', { id: a.id, kind: 'related', target: 'no-such-task' }), 'TASK_NOT_FOUND');
      refused(await callTool(mcp.client, 'unlink_tasks', { id: a.id, kind: 'duplicates', target: 'no-such-task' }), 'LINK_NOT_FOUND');
      const invalid = await callTool(mcp.client, 'link_tasks', { id: a.id, kind: 'blocks', target: 'x' });
      expect(invalid.isError).to.equal(true);
    });

    it('then the core set does not serve the link tools', async () => {
      const core = await connect(app, { toolSet: 'core' });
      try {
        const names = (await core.client.listTools()).tools.map((t) => t.name);
        expect(names).to.not.include('link_tasks');
        expect(names).to.not.include('unlink_tasks');
      } finally {
        await core.close();
      }
    });
  });

  describe('when the read model is rebuilt from the log', () => {
    it('then its links equal the live ones, row for row', async function () {
      this.timeout(30_000);
      await app.projector.waitFor(await app.store.headPosition(), 10_000);
      const aside = path.join(app.dataDir, 'links-rebuild.db');
      await buildReadModelAt(app.store, aside);
      const fresh = openReadModel(aside);
      try {
        const live = dumpReadModel(app.readDb);
        const rebuilt = dumpReadModel(fresh);
        expect(live.task_links!.length).to.be.greaterThan(3);
        for (const table of ['task_links', 'tasks', 'task_history']) expect(rebuilt[table], table).to.deep.equal(live[table]);
      } finally {
        fresh.close();
      }
    });
  });
});
