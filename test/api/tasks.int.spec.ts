import { expect } from 'chai';
import { STATUS_TRANSITIONS } from '../../src/events/project.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

type Task = {
  id: string;
  projectId: string;
  parentId: string | null;
  title: string;
  status: string;
  priority: string;
  version: number;
  ready: boolean;
};
type TreeNode = { id: string; title: string; children: TreeNode[] };

describe('Tasks API', () => {
  let app: TestApp;
  let projects = 0;

  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse> =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const ok = (response: JsonResponse, status: number): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const headPosition = async (): Promise<number> => (await api(app.baseUrl, 'GET', '/health')).body.eventStore.headPosition;
  const newProject = async (): Promise<string> => {
    projects += 1;
    return ok(await call('POST', '/projects', { id: `p${projects}`, name: `Project ${projects}` }), 201).body.id;
  };
  const createTask = async (body: Record<string, unknown>): Promise<Task> => ok(await call('POST', '/tasks', body), 201).body;
  const etagOf = (response: JsonResponse) => response.headers.get('etag');
  const ids = (items: { id: string }[]) => items.map((t) => t.id);
  const walk = (node: TreeNode): TreeNode[] => [node, ...node.children.flatMap(walk)];

  before(async () => {
    app = await startTestApp();
  });

  after(() => app?.close());

  describe('when a task is created with only a title', () => {
    let created: JsonResponse;

    before(async () => {
      created = await call('POST', '/tasks', { title: 'Write the parser' });
    });

    it('answers 201 with the defaults', () => {
      ok(created, 201);
      expect(created.body).to.include({
        title: 'Write the parser',
        projectId: 'default',
        parentId: null,
        description: '',
        status: 'pending',
        priority: 'normal',
        estimate: null,
        depth: 0,
        ready: true,
        openDependencies: 0,
      });
      expect(created.body).to.deep.include({ tags: [], files: [], requiredCapabilities: [], metadata: {} });
      expect(created.body.id).to.be.a('string').with.length.above(0);
    });

    it('returns its version as a weak ETag and the write position', () => {
      expect(etagOf(created)).to.equal(`W/"${created.body.version}"`);
      expect(created.headers.get('x-vespera-position')).to.match(/^\d+$/);
      expect(created.headers.get('content-type')).to.match(/^application\/json/);
    });

    it('is visible to a GET right after the write', async () => {
      const read = ok(await call('GET', `/tasks/${created.body.id}`), 200);
      expect(read.body).to.deep.equal(created.body);
      expect(etagOf(read)).to.equal(etagOf(created));
    });
  });

  describe('when a task is created in a project', () => {
    it('belongs to that project and counts in it', async () => {
      const projectId = await newProject();
      const task = await createTask({ title: 'Scoped', projectId, priority: 'high', tags: ['api', 'api'], estimate: 2.5, metadata: { a: 1 } });
      expect(task).to.include({ projectId, priority: 'high', estimate: 2.5 });
      expect(task).to.deep.include({ tags: ['api'], metadata: { a: 1 } });
      expect(ok(await call('GET', `/projects/${projectId}`), 200).body.taskCount).to.equal(1);
    });
  });

  describe('when a subtask is created with only a parentId', () => {
    it("goes to the parent's project one level deeper", async () => {
      const projectId = await newProject();
      const parent = await createTask({ title: 'Parent', projectId });
      const child = await createTask({ title: 'Child', parentId: parent.id });
      expect(child).to.include({ projectId, parentId: parent.id, depth: 1 });
      const tree = ok(await call('GET', `/tasks/${parent.id}/tree`), 200).body;
      expect(ids(tree.roots[0].children)).to.deep.equal([child.id]);
    });
  });

  describe('when a task tree is created', () => {
    it('creates every node at once and answers with ids and the tree', async () => {
      const projectId = await newProject();
      const response = ok(
        await call('POST', '/tasks/tree', {
          projectId,
          root: {
            title: 'Epic',
            children: [
              { title: 'Story 1', children: [{ title: 'Sub 1.1' }] },
              { title: 'Story 2', priority: 'high' },
            ],
          },
        }),
        201,
      );
      const { rootId, taskIds, tree, position } = response.body;
      expect(taskIds).to.have.length(4);
      expect(rootId).to.equal(taskIds[0]);
      expect(response.headers.get('x-vespera-position')).to.equal(String(position));
      expect(tree.nodes).to.equal(4);
      expect(tree.roots[0].title).to.equal('Epic');
      expect(tree.roots[0].children.map((c: TreeNode) => c.title)).to.deep.equal(['Story 1', 'Story 2']);
      expect(
        walk(tree.roots[0])
          .map((n) => n.id)
          .sort(),
      ).to.deep.equal([...taskIds].sort());
      const leaf = ok(await call('GET', `/tasks/${tree.roots[0].children[0].children[0].id}`), 200).body;
      expect(leaf).to.include({ title: 'Sub 1.1', depth: 2, projectId });
    });

    it('accepts 1,000 nodes', async () => {
      const projectId = await newProject();
      const children = Array.from({ length: 999 }, (_, i) => ({ title: `Node ${i}` }));
      const response = ok(await call('POST', '/tasks/tree', { projectId, root: { title: 'Big', children } }), 201);
      expect(response.body.taskIds).to.have.length(1000);
      expect(ok(await call('GET', `/projects/${projectId}`), 200).body.taskCount).to.equal(1000);
    });

    it('refuses 1,001 nodes with TREE_TOO_LARGE and creates nothing', async () => {
      const projectId = await newProject();
      const before = await headPosition();
      const children = Array.from({ length: 1000 }, (_, i) => ({ title: `Node ${i}` }));
      const response = await call('POST', '/tasks/tree', { projectId, root: { title: 'Too big', children } });
      expect(response.status).to.equal(422);
      expect(response.body.code).to.equal('TREE_TOO_LARGE');
      expect(ok(await call('GET', `/tasks?projectId=${projectId}`), 200).body.items).to.have.length(0);
      expect(ok(await call('GET', `/projects/${projectId}`), 200).body.taskCount).to.equal(0);
      expect(await headPosition()).to.equal(before);
    });
  });

  describe('when tasks are listed', () => {
    let projectId: string;
    const t: Record<string, Task> = {};
    const list = async (query: string) => ok(await call('GET', `/tasks?projectId=${projectId}&${query}`), 200).body;
    const listed = async (query: string) => ids((await list(query)).items).sort();
    const sorted = (...names: string[]) => names.map((n) => t[n]!.id).sort();

    before(async () => {
      projectId = await newProject();
      t.parser = await createTask({ projectId, title: 'Write parser', priority: 'high', tags: ['backend'], description: 'tokenize the input' });
      t.logo = await createTask({ projectId, title: 'Design logo', priority: 'low', tags: ['design'] });
      t.login = await createTask({ projectId, title: 'Fix login bug', priority: 'critical', tags: ['backend', 'bug'] });
      t.tests = await createTask({ parentId: t.parser.id, title: 'Parser tests' });
      t.deploy = await createTask({ projectId, title: 'Deploy' });
      t.dropped = await createTask({ projectId, title: 'Dropped idea' });
      ok(await call('POST', `/tasks/${t.login.id}/status`, { status: 'in_progress' }), 200);
      ok(await call('POST', `/tasks/${t.dropped.id}/status`, { status: 'cancelled' }), 200);
      ok(await call('POST', `/tasks/${t.deploy.id}/dependencies`, { dependsOn: t.parser.id }), 201);
    });

    it('filters by project', async () => {
      expect(await listed('')).to.deep.equal(sorted('parser', 'logo', 'login', 'tests', 'deploy', 'dropped'));
    });

    it('filters by any of several statuses', async () => {
      expect(await listed('status=in_progress,cancelled')).to.deep.equal(sorted('login', 'dropped'));
    });

    it('filters by priority', async () => {
      expect(await listed('priority=high,critical')).to.deep.equal(sorted('parser', 'login'));
    });

    it('filters by parent and by top level', async () => {
      expect(await listed(`parentId=${t.parser!.id}`)).to.deep.equal(sorted('tests'));
      expect(await listed('topLevel=true')).to.deep.equal(sorted('parser', 'logo', 'login', 'deploy', 'dropped'));
    });

    it('filters by tag', async () => {
      expect(await listed('tag=backend')).to.deep.equal(sorted('parser', 'login'));
    });

    it('searches titles, descriptions and tags', async () => {
      expect(await listed('q=parser')).to.deep.equal(sorted('parser', 'tests'));
      expect(await listed('q=input')).to.deep.equal(sorted('parser'));
      expect(await listed('q=bug')).to.deep.equal(sorted('login'));
    });

    it('matches the last word as a prefix of a word, as it is typed', async () => {
      expect(await listed('q=tokeni')).to.deep.equal(sorted('parser'));
      expect(await listed('q=tokeniz')).to.deep.equal(sorted('parser'));
    });

    it('filters ready and not-ready tasks', async () => {
      // The parser is the parent of its open tests: it is ready only once they are done.
      expect(await listed('ready=true')).to.deep.equal(sorted('logo', 'tests'));
      expect(await listed('ready=false')).to.deep.equal(sorted('parser', 'login', 'deploy', 'dropped'));
    });

    it('sorts by title, priority and creation', async () => {
      const titles = (await list('sort=title')).items.map((x: Task) => x.title);
      expect(titles).to.deep.equal([...titles].sort());
      expect((await list('sort=priority')).items[0].id).to.equal(t.login!.id);
      expect((await list('sort=-priority')).items[0].id).to.equal(t.logo!.id);
      const oldestFirst = ids((await list('sort=createdAt')).items);
      expect(ids((await list('sort=-createdAt')).items)).to.deep.equal([...oldestFirst].reverse());
    });

    it('walks every page once, without duplicates or gaps', async () => {
      for (const sort of ['createdAt', '-title', 'priority', '-updatedAt']) {
        const all = ids((await list(`sort=${sort}&limit=200`)).items);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: { items: Task[]; nextCursor: string | null } = await list(`sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
          expect(page.items.length).to.be.at.most(2);
          seen.push(...ids(page.items));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen, sort).to.deep.equal(all);
        expect(new Set(seen).size).to.equal(6);
      }
    });

    it('returns only the requested fields', async () => {
      const { items } = await list('fields=id,title');
      expect(items).to.have.length(6);
      for (const item of items) expect(item).to.have.all.keys('id', 'title');
    });
  });

  describe('when a task is updated', () => {
    let projectId: string;

    before(async () => {
      projectId = await newProject();
    });

    it('applies a change based on the current ETag', async () => {
      const created = ok(await call('POST', '/tasks', { projectId, title: 'Old' }), 201);
      const updated = ok(await call('PATCH', `/tasks/${created.body.id}`, { title: 'New', priority: 'high' }, { 'If-Match': etagOf(created)! }), 200);
      expect(updated.body).to.include({ title: 'New', priority: 'high' });
      expect(updated.body.version).to.be.greaterThan(created.body.version);
      expect(etagOf(updated)).to.equal(`W/"${updated.body.version}"`);
      expect(updated.headers.get('x-vespera-position')).to.match(/^\d+$/);
      expect(ok(await call('GET', `/tasks/${created.body.id}`), 200).body).to.include({ title: 'New', priority: 'high' });
    });

    it('refuses a stale ETag with 412 CONCURRENCY_CONFLICT and keeps the task', async () => {
      const created = ok(await call('POST', '/tasks', { projectId, title: 'Shared' }), 201);
      ok(await call('PATCH', `/tasks/${created.body.id}`, { title: 'First writer' }, { 'If-Match': etagOf(created)! }), 200);
      const stale = await call('PATCH', `/tasks/${created.body.id}`, { title: 'Second writer' }, { 'If-Match': etagOf(created)! });
      expect(stale.status).to.equal(412);
      expect(stale.body.code).to.equal('CONCURRENCY_CONFLICT');
      expect(ok(await call('GET', `/tasks/${created.body.id}`), 200).body.title).to.equal('First writer');
    });

    it("does not stale another task's ETag in the same project", async () => {
      const a = ok(await call('POST', '/tasks', { projectId, title: 'A' }), 201);
      const b = ok(await call('POST', '/tasks', { projectId, title: 'B' }), 201);
      ok(await call('PATCH', `/tasks/${a.body.id}`, { title: 'A2' }, { 'If-Match': etagOf(a)! }), 200);
      expect(ok(await call('PATCH', `/tasks/${b.body.id}`, { title: 'B2' }, { 'If-Match': etagOf(b)! }), 200).body.title).to.equal('B2');
    });
  });

  describe('when a task is moved', () => {
    let projectId: string;

    before(async () => {
      projectId = await newProject();
    });

    it('moves it with its subtasks under the new parent, and back to the top', async () => {
      const target = await createTask({ projectId, title: 'Target' });
      const mover = await createTask({ projectId, title: 'Mover' });
      const child = await createTask({ parentId: mover.id, title: 'Mover child' });
      const moved = ok(await call('POST', `/tasks/${mover.id}/move`, { parentId: target.id }), 200);
      expect(moved.body).to.include({ parentId: target.id, depth: 1 });
      expect(etagOf(moved)).to.equal(`W/"${moved.body.version}"`);
      expect(moved.headers.get('x-vespera-position')).to.match(/^\d+$/);
      expect(ok(await call('GET', `/tasks/${child.id}`), 200).body.depth).to.equal(2);
      const back = ok(await call('POST', `/tasks/${mover.id}/move`, { parentId: null }), 200);
      expect(back.body).to.include({ parentId: null, depth: 0 });
    });

    it('refuses to move a task under its own descendant with 409 HIERARCHY_CYCLE', async () => {
      const top = await createTask({ projectId, title: 'Top' });
      const below = await createTask({ parentId: top.id, title: 'Below' });
      const response = await call('POST', `/tasks/${top.id}/move`, { parentId: below.id });
      expect(response.status).to.equal(409);
      expect(response.body.code).to.equal('HIERARCHY_CYCLE');
      expect(ok(await call('GET', `/tasks/${top.id}`), 200).body.parentId).to.equal(null);
    });
  });

  describe('when a task changes status', () => {
    let projectId: string;

    before(async () => {
      projectId = await newProject();
    });

    it('follows the transition table', async () => {
      const task = await createTask({ projectId, title: 'Work' });
      const started = ok(await call('POST', `/tasks/${task.id}/status`, { status: 'in_progress', reason: 'picked up' }), 200);
      expect(started.body).to.include({ status: 'in_progress', ready: false });
      expect(etagOf(started)).to.equal(`W/"${started.body.version}"`);
      expect(started.headers.get('x-vespera-position')).to.match(/^\d+$/);
      expect(ok(await call('GET', `/tasks/${task.id}`), 200).body.status).to.equal('in_progress');
    });

    it('refuses a move outside the table with 409 and the allowed moves', async () => {
      const task = await createTask({ projectId, title: 'Not yet' });
      const response = await call('POST', `/tasks/${task.id}/status`, { status: 'review' });
      expect(response.status).to.equal(409);
      expect(response.body.code).to.equal('INVALID_STATUS_TRANSITION');
      expect(response.body.allowed).to.deep.equal(STATUS_TRANSITIONS.pending);
    });

    it('reports the dependents that completing a task unblocks, and makes them ready', async () => {
      const first = await createTask({ projectId, title: 'First' });
      const second = await createTask({ projectId, title: 'Second' });
      ok(await call('POST', `/tasks/${second.id}/dependencies`, { dependsOn: first.id }), 201);
      expect(ok(await call('GET', `/tasks/${second.id}`), 200).body.ready).to.equal(false);
      const completed = ok(await call('POST', `/tasks/${first.id}/status`, { status: 'completed' }), 200);
      expect(completed.body.unblocked).to.deep.equal([second.id]);
      expect(ok(await call('GET', `/tasks/${second.id}`), 200).body).to.include({ ready: true, openDependencies: 0 });
      expect(ids(ok(await call('GET', `/tasks/ready?projectId=${projectId}`), 200).body.items)).to.include(second.id);
    });
  });

  describe('when a task is deleted', () => {
    let projectId: string;

    before(async () => {
      projectId = await newProject();
    });

    it('deletes its subtasks and the dependencies on them by default', async () => {
      const parent = await createTask({ projectId, title: 'Parent' });
      const child = await createTask({ parentId: parent.id, title: 'Child' });
      const grandchild = await createTask({ parentId: child.id, title: 'Grandchild' });
      const outsider = await createTask({ projectId, title: 'Outsider' });
      ok(await call('POST', `/tasks/${outsider.id}/dependencies`, { dependsOn: grandchild.id }), 201);

      const deleted = ok(await call('DELETE', `/tasks/${parent.id}`), 200);
      expect([...deleted.body.deleted].sort()).to.deep.equal([parent.id, child.id, grandchild.id].sort());
      expect(deleted.body.removedDependencies).to.equal(1);
      expect(deleted.headers.get('x-vespera-position')).to.equal(String(deleted.body.position));
      for (const id of [parent.id, child.id, grandchild.id]) expect((await call('GET', `/tasks/${id}`)).status).to.equal(404);
      expect(ok(await call('GET', `/tasks/${outsider.id}/dependencies`), 200).body.items).to.deep.equal([]);
      expect(ok(await call('GET', `/tasks/${outsider.id}`), 200).body.ready).to.equal(true);
    });

    it('refuses a non-recursive delete of a task with subtasks with 409 TASK_HAS_CHILDREN', async () => {
      const parent = await createTask({ projectId, title: 'Keeps kids' });
      const child = await createTask({ parentId: parent.id, title: 'Kid' });
      const response = await call('DELETE', `/tasks/${parent.id}?recursive=false`);
      expect(response.status).to.equal(409);
      expect(response.body.code).to.equal('TASK_HAS_CHILDREN');
      expect(response.body.children).to.deep.equal([child.id]);
      ok(await call('GET', `/tasks/${parent.id}`), 200);
    });

    it('deletes a leaf non-recursively', async () => {
      const leaf = await createTask({ projectId, title: 'Leaf' });
      expect(ok(await call('DELETE', `/tasks/${leaf.id}?recursive=false`), 200).body.deleted).to.deep.equal([leaf.id]);
    });
  });

  describe('when dependencies are managed', () => {
    let a: Task;
    let b: Task;
    let c: Task;

    before(async () => {
      const projectId = await newProject();
      a = await createTask({ projectId, title: 'A' });
      b = await createTask({ projectId, title: 'B' });
      c = await createTask({ projectId, title: 'C' });
      ok(await call('POST', `/tasks/${b.id}/dependencies`, { dependsOn: a.id }), 201);
    });

    it('adds a hard dependency that blocks the task', async () => {
      const added = ok(await call('POST', `/tasks/${c.id}/dependencies`, { dependsOn: b.id }), 201);
      expect(added.body).to.include({ taskId: c.id, dependsOn: b.id, kind: 'hard', ready: false });
      expect(added.headers.get('x-vespera-position')).to.equal(String(added.body.position));
      expect(etagOf(added)).to.match(/^W\/"\d+"$/);
      expect(ok(await call('GET', `/tasks/${c.id}`), 200).body).to.include({ ready: false, openDependencies: 1 });
    });

    it('lists direct dependencies', async () => {
      const listing = ok(await call('GET', `/tasks/${c.id}/dependencies`), 200).body;
      expect(listing).to.include({ taskId: c.id, direction: 'dependencies', truncated: false });
      expect(listing.items.map((d: { id: string; distance: number }) => [d.id, d.distance])).to.deep.equal([[b.id, 1]]);
    });

    it('lists transitive dependencies with their distance', async () => {
      const { items } = ok(await call('GET', `/tasks/${c.id}/dependencies?depth=2`), 200).body;
      expect(items.map((d: { id: string; distance: number; kind: string }) => [d.id, d.distance, d.kind])).to.deep.equal([
        [b.id, 1, 'hard'],
        [a.id, 2, 'hard'],
      ]);
    });

    it('lists dependents in the other direction', async () => {
      const { items, direction } = ok(await call('GET', `/tasks/${a.id}/dependencies?direction=dependents&depth=5`), 200).body;
      expect(direction).to.equal('dependents');
      expect(items.map((d: { id: string; distance: number }) => [d.id, d.distance])).to.deep.equal([
        [b.id, 1],
        [c.id, 2],
      ]);
    });

    it('removes a dependency and the task becomes ready again', async () => {
      const removed = ok(await call('DELETE', `/tasks/${c.id}/dependencies/${b.id}`), 200);
      expect(removed.body).to.include({ taskId: c.id, dependsOn: b.id, ready: true });
      expect(removed.headers.get('x-vespera-position')).to.equal(String(removed.body.position));
      expect(ok(await call('GET', `/tasks/${c.id}/dependencies`), 200).body.items).to.deep.equal([]);
    });

    it('keeps a soft dependency from blocking', async () => {
      const added = ok(await call('POST', `/tasks/${c.id}/dependencies`, { dependsOn: a.id, kind: 'soft' }), 201);
      expect(added.body).to.include({ kind: 'soft', ready: true });
    });
  });

  describe('when the ready list and dashboard are read', () => {
    let projectId: string;
    const t: Record<string, Task> = {};

    before(async () => {
      projectId = await newProject();
      t.low = await createTask({ projectId, title: 'Low', priority: 'low' });
      t.critical = await createTask({ projectId, title: 'Critical', priority: 'critical' });
      t.waiting = await createTask({ projectId, title: 'Waiting', priority: 'high' });
      t.done = await createTask({ projectId, title: 'Done' });
      t.doing = await createTask({ projectId, title: 'Doing' });
      ok(await call('POST', `/tasks/${t.waiting.id}/dependencies`, { dependsOn: t.low.id }), 201);
      ok(await call('POST', `/tasks/${t.done.id}/status`, { status: 'completed' }), 200);
      ok(await call('POST', `/tasks/${t.doing.id}/status`, { status: 'in_progress' }), 200);
    });

    it('lists ready tasks, highest priority first', async () => {
      const page = ok(await call('GET', `/tasks/ready?projectId=${projectId}`), 200).body;
      expect(ids(page.items)).to.deep.equal([t.critical!.id, t.low!.id]);
      expect(page.nextCursor).to.equal(null);
    });

    it('counts by status and priority, ready and dependency-blocked tasks', async () => {
      const dashboard = ok(await call('GET', `/tasks/dashboard?projectId=${projectId}`), 200).body;
      expect(dashboard).to.include({ projectId, total: 5, ready: 2, dependencyBlocked: 1, dependencies: 1, completion: 20 });
      expect(dashboard.byStatus).to.deep.equal({ pending: 3, in_progress: 1, blocked: 0, review: 0, completed: 1, cancelled: 0 });
      expect(dashboard.byPriority).to.deep.equal({ low: 1, normal: 2, high: 1, critical: 1 });
      expect(ids(dashboard.topReady)).to.deep.equal([t.critical!.id, t.low!.id]);
    });

    it('answers the dashboard over every project without a projectId', async () => {
      const dashboard = ok(await call('GET', '/tasks/dashboard'), 200).body;
      expect(dashboard.projectId).to.equal(null);
      expect(dashboard.total).to.be.at.least(5);
    });
  });

  describe('when the history of a task is read', () => {
    it('tells what happened, by whom and through which tool', async () => {
      const task = await createTask({ title: 'Tracked' });
      ok(await call('PATCH', `/tasks/${task.id}`, { title: 'Tracked 2' }), 200);
      ok(await call('POST', `/tasks/${task.id}/status`, { status: 'in_progress' }), 200);
      const history = ok(await call('GET', `/tasks/${task.id}/history`), 200).body;
      expect(history.taskId).to.equal(task.id);
      expect(history.items.map((h: { type: string }) => h.type)).to.deep.equal(['TaskCreated', 'TaskUpdated', 'TaskStatusChanged']);
      const actors = new Set(history.items.map((h: { actor: string }) => h.actor));
      expect(actors.size).to.equal(1);
      expect([...actors][0])
        .to.be.a('string')
        .with.length.above(0);
      for (const item of history.items) expect(item).to.include({ tool: 'rest' });
      expect(history.items[1].changes).to.deep.equal({ title: 'Tracked 2' });
      expect(history.items[2].changes).to.deep.equal({ status: { from: 'pending', to: 'in_progress' } });
      const positions = history.items.map((h: { position: number }) => h.position);
      expect(positions).to.deep.equal([...positions].sort((x: number, y: number) => x - y));
    });

    it('pages through a long history', async () => {
      const task = await createTask({ title: 'Busy' });
      for (let i = 0; i < 4; i++) ok(await call('PATCH', `/tasks/${task.id}`, { title: `Busy ${i}` }), 200);
      const first = ok(await call('GET', `/tasks/${task.id}/history?limit=3`), 200).body;
      expect(first.items).to.have.length(3);
      const second = ok(await call('GET', `/tasks/${task.id}/history?limit=3&cursor=${first.nextCursor}`), 200).body;
      expect(second.items).to.have.length(2);
      expect(second.nextCursor).to.equal(null);
    });
  });

  describe('when the tree of a task is read', () => {
    it('honours the depth and counts what it left out', async () => {
      const created = ok(
        await call('POST', '/tasks/tree', { root: { title: 'R', children: [{ title: 'C', children: [{ title: 'G' }] }] } }),
        201,
      ).body;
      const tree = ok(await call('GET', `/tasks/${created.rootId}/tree?depth=1`), 200).body;
      expect(tree).to.include({ nodes: 2, maxDepth: 1 });
      expect(tree.roots[0].children[0]).to.include({ title: 'C', hiddenChildren: 1 });
      expect(tree.roots[0].children[0].children).to.deep.equal([]);
    });
  });

  describe('when projects are managed', () => {
    it('creates a project with an explicit id and reads it back', async () => {
      const created = ok(await call('POST', '/projects', { id: 'alpha', name: 'Alpha', description: 'First' }), 201);
      expect(created.body).to.include({ id: 'alpha', name: 'Alpha', description: 'First', taskCount: 0 });
      expect(created.headers.get('x-vespera-position')).to.match(/^\d+$/);
      expect(ok(await call('GET', '/projects/alpha'), 200).body).to.deep.equal(created.body);
    });

    it('derives the id from the name', async () => {
      expect(ok(await call('POST', '/projects', { name: 'Web Site v2' }), 201).body.id).to.equal('web-site-v2');
    });

    it('refuses a second project with the same id with 409 PROJECT_EXISTS', async () => {
      const response = await call('POST', '/projects', { id: 'alpha', name: 'Again' });
      expect(response.status).to.equal(409);
      expect(response.body.code).to.equal('PROJECT_EXISTS');
    });

    it('lists projects in id order, page by page', async () => {
      const all = ok(await call('GET', '/projects?limit=200'), 200).body.items.map((p: { id: string }) => p.id);
      expect(all).to.include.members(['alpha', 'web-site-v2']);
      expect(all).to.deep.equal([...all].sort());
      const first = ok(await call('GET', '/projects?limit=1'), 200).body;
      const second = ok(await call('GET', `/projects?limit=1&cursor=${first.nextCursor}`), 200).body;
      expect([first.items[0].id, second.items[0].id]).to.deep.equal(all.slice(0, 2));
    });

    it("answers a project's task tree from its top-level tasks", async () => {
      const root = await createTask({ projectId: 'alpha', title: 'Root' });
      await createTask({ parentId: root.id, title: 'Leaf' });
      const tree = ok(await call('GET', '/projects/alpha/tree'), 200).body;
      expect(tree.roots.map((r: TreeNode) => r.title)).to.deep.equal(['Root']);
      expect(tree.roots[0].children.map((r: TreeNode) => r.title)).to.deep.equal(['Leaf']);
      expect(ok(await call('GET', '/projects/alpha'), 200).body.taskCount).to.equal(2);
    });
  });

  describe('when a create is retried with the same Idempotency-Key', () => {
    it('answers with the same task and appends one event', async () => {
      const projectId = await newProject();
      const headers = { 'Idempotency-Key': `create-${projectId}-0001` };
      const first = ok(await call('POST', '/tasks', { projectId, title: 'Once' }, headers), 201);
      const head = await headPosition();
      const second = ok(await call('POST', '/tasks', { projectId, title: 'Once' }, headers), 201);
      expect(second.body.id).to.equal(first.body.id);
      expect(second.headers.get('x-vespera-position')).to.equal(first.headers.get('x-vespera-position'));
      expect(await headPosition()).to.equal(head);
      expect(ok(await call('GET', `/tasks?projectId=${projectId}`), 200).body.items).to.have.length(1);
    });
  });
});
