import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { getProjectSnapshot } from '../../src/queries/projectSnapshot.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';
import { call as callTool, connect, ok as okTool, refused, type Connected } from './mcp/support.js';

/**
 * Import from and export to Taskmaster (`.taskmaster/tasks/tasks.json`) and Beads (`.beads/issues.jsonl`), issue 16
 * items 4 and 5: the mapping both ways, one append per project, a second import that changes nothing, dry runs,
 * refusals of bad files with stable codes, and round trips that keep tasks, hierarchy, dependencies and statuses.
 */

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'interchange');
const TASKS_JSON = fs.readFileSync(path.join(FIXTURES, 'tasks.json'), 'utf8');
const ISSUES_JSONL = fs.readFileSync(path.join(FIXTURES, 'issues.jsonl'), 'utf8');

type Shape = Record<string, { parent: string | null; status: string; priority: string; dependsOn: string[]; links: string[] }>;

describe('Import and export (POST /import/taskmaster, POST /import/beads, GET /projects/:id/export)', () => {
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
  const exported = async (projectId: string, format: string): Promise<{ status: number; type: string | null; text: string }> => {
    const response = await fetch(`${app.baseUrl}/api/v1/projects/${projectId}/export?format=${format}`, {
      headers: { authorization: `Bearer ${app.adminToken}` },
    });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };
  const head = async (): Promise<number> => (await app.store.stats()).headPosition;
  /** A project by task titles: parent, status, priority, what it depends on and links to. */
  const shape = (projectId: string): Shape => {
    const snapshot = getProjectSnapshot(app.readDb, projectId);
    const title = new Map(snapshot.tasks.map((t) => [t.id, t.title]));
    return Object.fromEntries(
      snapshot.tasks.map((t) => [
        t.title,
        {
          parent: t.parentId === null ? null : title.get(t.parentId)!,
          status: t.status,
          priority: t.priority,
          dependsOn: snapshot.dependencies
            .filter((d) => d.taskId === t.id)
            .map((d) => `${title.get(d.dependsOn)} (${d.kind})`)
            .sort(),
          links: snapshot.links
            .filter((l) => l.taskId === t.id)
            .map((l) => `${l.kind} ${title.get(l.target)}`)
            .sort(),
        },
      ]),
    );
  };
  const metadataOf = (projectId: string, title: string) => getProjectSnapshot(app.readDb, projectId).tasks.find((t) => t.title === title)!.metadata;

  before(async function () {
    this.timeout(30_000);
    app = await startTestApp();
  });
  after(() => app?.close());

  describe('Taskmaster', () => {
    let report: JsonResponse;
    before(async () => {
      report = ok(await call('POST', '/import/taskmaster', { content: TASKS_JSON }));
    });

    it('makes one project per tag and reports what it created', () => {
      const projects = report.body.projects as Array<{
        projectId: string;
        tag: string;
        projectCreated: boolean;
        tasks: Record<string, number>;
        dependencies: Record<string, number>;
        position: number;
      }>;
      expect(projects.map((p) => [p.projectId, p.tag, p.projectCreated])).to.deep.equal([
        ['master', 'master', true],
        ['newsletter', 'newsletter', true],
      ]);
      expect(projects[0]!.tasks).to.deep.equal({ inFile: 9, created: 9, updated: 0, unchanged: 0 });
      expect(projects[0]!.dependencies).to.deep.equal({ inFile: 8, added: 8 });
      expect(projects[1]!.tasks.created).to.equal(4);
      expect(report.body.position).to.equal(projects[1]!.position);
    });

    it('maps tasks and subtasks to parents and children, dependencies (relative subtask ids too), statuses and priorities', () => {
      const master = shape('master');
      expect(master['Set up the build']).to.deep.include({ parent: null, status: 'completed', priority: 'high' });
      expect(master['Model the orders']).to.deep.include({ status: 'in_progress', priority: 'normal', dependsOn: ['Set up the build (hard)'] });
      expect(master['Totals']).to.deep.include({ parent: 'Model the orders', status: 'review', dependsOn: ['Order and line types (hard)'] });
      // `["1", 2]` in subtask 2.3: the string names task 1, the number the sibling 2.2.
      expect(master['Customer records']!.dependsOn).to.deep.equal(['Set up the build (hard)', 'Totals (hard)']);
      expect(master['Checkout page']).to.deep.include({ priority: 'critical', dependsOn: ['Model the orders (hard)', 'Totals (hard)'] });
      expect(master['Loyalty points']!.status).to.equal('blocked');
      expect(master['Gift cards']!.status).to.equal('cancelled');
      expect(master['Delivery slots']!.status).to.equal('blocked');
      expect(shape('newsletter')['Sign-up form']!.dependsOn).to.deep.equal(['Price per thousand mails (hard)']);
    });

    it('keeps details, testStrategy and the source id in metadata, and the statuses it folded', () => {
      expect(metadataOf('master', 'Totals')).to.deep.equal({
        source: { system: 'taskmaster', id: '2.2', tag: 'master' },
        taskmaster: { details: 'Round once, at the end.', testStrategy: 'Totals of 0, 1 and 3 lines.' },
      });
      expect((metadataOf('master', 'Loyalty points').taskmaster as Record<string, unknown>).status).to.equal('deferred');
      const statuses = report.body.projects[0].statuses as Array<{ from: string; to: string; count: number }>;
      expect(statuses).to.deep.include({ from: 'done', to: 'completed', count: 2 });
      expect(statuses).to.deep.include({ from: 'deferred', to: 'blocked', count: 1 });
    });

    it('changes nothing when the same file is imported again', async () => {
      const before = await head();
      const again = ok(await call('POST', '/import/taskmaster', { content: JSON.parse(TASKS_JSON) }));
      expect(again.body.projects[0].tasks).to.deep.equal({ inFile: 9, created: 0, updated: 0, unchanged: 9 });
      expect(again.body.projects.map((p: { position: null }) => p.position)).to.deep.equal([null, null]);
      expect(await head()).to.equal(before);
    });

    it('updates what changed in the file, matched on metadata.source', async () => {
      const file = JSON.parse(TASKS_JSON);
      file.newsletter.tasks[1].status = 'done';
      file.newsletter.tasks[1].title = 'Sign-up form on the home page';
      file.newsletter.tasks[0].subtasks[1].status = 'done';
      const changed = ok(await call('POST', '/import/taskmaster', { content: file, tag: 'newsletter' }));
      expect(changed.body.projects[0].tasks).to.deep.equal({ inFile: 4, created: 0, updated: 2, unchanged: 2 });
      expect(shape('newsletter')['Sign-up form on the home page']!.status).to.equal('completed');
    });

    it('imports one tag into a chosen project', async () => {
      ok(await call('POST', '/import/taskmaster', { content: TASKS_JSON, tag: 'master', projectId: 'bakery' }));
      expect(Object.keys(shape('bakery'))).to.have.length(9);
    });

    it('refuses a project for a file with several tags unless one is named, and a tag the file lacks', async () => {
      problem(await call('POST', '/import/taskmaster', { content: TASKS_JSON, projectId: 'bakery-2' }), 400, 'IMPORT_TAG_REQUIRED');
      const missing = problem(await call('POST', '/import/taskmaster', { content: TASKS_JSON, tag: 'nope' }), 404, 'IMPORT_TAG_NOT_FOUND');
      expect(missing.body.tags).to.deep.equal(['master', 'newsletter']);
    });

    it('reads older files without tags as the tag master', async () => {
      const legacy = { tasks: [{ id: 1, title: 'Lone task', status: 'pending', dependencies: [] }], metadata: {} };
      const answer = ok(await call('POST', '/import/taskmaster', { content: legacy, projectId: 'legacy' }));
      expect(answer.body.projects[0]).to.deep.include({ projectId: 'legacy', tag: 'master' });
    });
  });

  describe('Beads', () => {
    let report: JsonResponse;
    before(async () => {
      report = ok(await call('POST', '/import/beads', { content: ISSUES_JSONL }));
    });

    it('imports the issues into the project of their id prefix, skipping lines that are not issues', () => {
      const project = report.body.projects[0];
      expect(project).to.deep.include({ projectId: 'bk', projectCreated: true });
      expect(project.tasks).to.deep.equal({ inFile: 5, created: 5, updated: 0, unchanged: 0 });
      expect(project.skipped).to.deep.equal([{ kind: 'line', id: 'line 6', reason: 'a memory line, not an issue' }]);
    });

    it('maps blocks to hard dependencies, parent-child to the tree, related and discovered-from to links, closed to completed', () => {
      const bk = shape('bk');
      expect(bk['Recipe cards']).to.deep.include({ parent: 'Winter menu', status: 'completed', priority: 'normal' });
      expect(bk['Print the menus']).to.deep.include({
        parent: 'Winter menu',
        status: 'in_progress',
        priority: 'critical',
        dependsOn: ['Recipe cards (hard)'],
      });
      expect(bk['Oven thermostat drifts']).to.deep.include({
        parent: null,
        status: 'blocked',
        priority: 'low',
        links: ['discovered_from Recipe cards'],
      });
      expect(bk['Seasonal price list']).to.deep.include({ status: 'blocked', priority: 'low', links: ['related Winter menu'] });
      expect(bk['Winter menu']!.priority).to.equal('high');
    });

    it('turns labels into tags and keeps timestamps, issue type and the source id in metadata', () => {
      const snapshot = getProjectSnapshot(app.readDb, 'bk');
      const epic = snapshot.tasks.find((t) => t.title === 'Winter menu')!;
      expect(epic.tags).to.deep.equal(['menu', 'winter']);
      expect(epic.metadata.source).to.deep.equal({ system: 'beads', id: 'bk-7f3a' });
      expect(epic.metadata.beads).to.deep.include({ issue_type: 'epic', created_at: '2026-01-10T08:00:00Z', updated_at: '2026-01-12T09:30:00Z' });
      const cards = snapshot.tasks.find((t) => t.title === 'Recipe cards')!;
      expect(cards.estimate).to.equal(1.5);
      expect(cards.metadata.beads).to.deep.include({ closed_at: '2026-01-11T16:00:00Z' });
      expect(snapshot.tasks.find((t) => t.title === 'Seasonal price list')!.metadata.beads).to.deep.include({ priority: 4, status: 'deferred' });
    });

    it('changes nothing when the same file is imported again', async () => {
      const before = await head();
      const again = ok(await call('POST', '/import/beads', { content: ISSUES_JSONL }));
      expect(again.body.projects[0].tasks).to.deep.equal({ inFile: 5, created: 0, updated: 0, unchanged: 5 });
      expect(await head()).to.equal(before);
    });
  });

  describe('a dry run', () => {
    it('reports what the import would do and writes nothing', async () => {
      const before = await head();
      const dry = ok(await call('POST', '/import/beads', { content: ISSUES_JSONL, projectId: 'dry', dryRun: true }));
      expect(dry.body.dryRun).to.equal(true);
      expect(dry.body.projects[0]).to.deep.include({ projectId: 'dry', projectCreated: true, position: null });
      expect(dry.body.projects[0].tasks.created).to.equal(5);
      expect(dry.body.projects[0].statuses).to.deep.include({ from: 'closed', to: 'completed', count: 1 });
      expect(await head()).to.equal(before);
      problem(await call('GET', '/projects/dry'), 404, 'PROJECT_NOT_FOUND');
    });
  });

  describe('bad files', () => {
    it('answers 400 naming the line and column of malformed JSON', async () => {
      const broken = problem(
        await call('POST', '/import/taskmaster', { content: '{\n  "master": {\n    "tasks": [,]\n  }\n}' }),
        400,
        'IMPORT_MALFORMED',
      );
      expect(broken.body).to.deep.include({ line: 3, column: 15 });
    });

    it('answers 400 naming the line of malformed JSONL', async () => {
      const lines = ISSUES_JSONL.split('\n');
      lines[2] = '{"id": "bk-x", "title": ';
      const broken = problem(await call('POST', '/import/beads', { content: lines.join('\n') }), 400, 'IMPORT_MALFORMED');
      expect(broken.body.line).to.equal(3);
      expect(broken.body.detail).to.match(/line 3/);
    });

    it('answers 400 naming the field that does not fit', async () => {
      const file = {
        master: {
          tasks: [
            { id: 1, title: 'ok' },
            { id: 2, title: 7 },
          ],
        },
      };
      const bad = problem(await call('POST', '/import/taskmaster', { content: file }), 400, 'IMPORT_MALFORMED');
      expect(bad.body.field).to.equal('master.tasks[1].title');
      const noId = problem(await call('POST', '/import/beads', { content: '{"title":"no id"}\n' }), 400, 'IMPORT_MALFORMED');
      expect(noId.body.field).to.equal('line 1: id');
    });

    it('refuses dependencies on missing ids with 422 listing them, and imports without them under skipMissing', async () => {
      const file = { tasks: [{ id: 1, title: 'Needs ghosts', dependencies: [7, '8.1'] }] };
      const refusedFile = problem(await call('POST', '/import/taskmaster', { content: file, projectId: 'ghosts' }), 422, 'IMPORT_MISSING_REFERENCES');
      expect(refusedFile.body.missing).to.deep.equal([
        { tag: 'master', taskId: '1', dependsOn: '7', kind: 'dependency' },
        { tag: 'master', taskId: '1', dependsOn: '8.1', kind: 'dependency' },
      ]);
      problem(await call('GET', '/projects/ghosts'), 404, 'PROJECT_NOT_FOUND');
      const skipped = ok(await call('POST', '/import/taskmaster', { content: file, projectId: 'ghosts', skipMissing: true }));
      expect(skipped.body.projects[0].skipped).to.deep.equal([
        { kind: 'dependency', id: '1', reason: 'dependency on missing 7' },
        { kind: 'dependency', id: '1', reason: 'dependency on missing 8.1' },
      ]);
      expect(skipped.body.projects[0].tasks.created).to.equal(1);
    });

    it('refuses a dependency cycle with 409 naming it, and writes nothing', async () => {
      const file = {
        tasks: [
          { id: 1, title: 'A', dependencies: [3] },
          { id: 2, title: 'B', dependencies: [1] },
          { id: 3, title: 'C', dependencies: [2] },
        ],
      };
      const cycle = problem(await call('POST', '/import/taskmaster', { content: file, projectId: 'loop' }), 409, 'DEPENDENCY_CYCLE');
      expect(cycle.body.cycle).to.have.length(4);
      expect(new Set(cycle.body.cycle)).to.deep.equal(new Set(['1', '2', '3']));
      expect(cycle.body.detail).to.match(/→/);
      problem(await call('GET', '/projects/loop'), 404, 'PROJECT_NOT_FOUND');
    });

    it('checks every tag before it writes any: a cycle in the second tag leaves the first unwritten', async () => {
      const file = {
        fine: { tasks: [{ id: 1, title: 'Fine' }] },
        looping: {
          tasks: [
            { id: 1, title: 'X', dependencies: [2] },
            { id: 2, title: 'Y', dependencies: [1] },
          ],
        },
      };
      const cycle = problem(await call('POST', '/import/taskmaster', { content: file }), 409, 'DEPENDENCY_CYCLE');
      expect(cycle.body).to.deep.include({ tag: 'looping' });
      problem(await call('GET', '/projects/fine'), 404, 'PROJECT_NOT_FOUND');
    });

    it('refuses a loop of parent-child links with 409 HIERARCHY_CYCLE', async () => {
      const lines = [
        { id: 'x-1', title: 'one', dependencies: [{ issue_id: 'x-1', depends_on_id: 'x-2', type: 'parent-child' }] },
        { id: 'x-2', title: 'two', dependencies: [{ issue_id: 'x-2', depends_on_id: 'x-1', type: 'parent-child' }] },
      ];
      const loop = problem(await call('POST', '/import/beads', { content: lines.map((l) => JSON.stringify(l)).join('\n') }), 409, 'HIERARCHY_CYCLE');
      expect(loop.body.cycle).to.include.members(['x-1', 'x-2']);
    });

    it('takes files larger than the server body limit on the import routes only', async () => {
      const tasks = Array.from({ length: 2500 }, (_, i) => ({
        id: i + 1,
        title: `Task ${i + 1}`,
        details: 'x'.repeat(500),
        dependencies: i ? [i] : [],
      }));
      const big = JSON.stringify({ tasks });
      expect(big.length).to.be.above(app.config.bodyLimitBytes);
      const answer = ok(await call('POST', '/import/taskmaster', { content: big, projectId: 'big', dryRun: true }));
      expect(answer.body.projects[0].tasks.created).to.equal(2500);
      problem(
        await call('POST', '/tasks', { title: 'too big', description: 'x', metadata: { pad: 'x'.repeat(app.config.bodyLimitBytes) } }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
    });
  });

  describe('export', () => {
    it('writes a tasks.json with one tag, subtasks and Taskmaster statuses', async () => {
      const file = await exported('master', 'taskmaster');
      expect(file.status).to.equal(200);
      expect(file.type).to.match(/^application\/json/);
      const tag = JSON.parse(file.text).master;
      expect(tag.tasks.map((t: { id: number }) => t.id)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      const orders = tag.tasks[1];
      expect(orders).to.deep.include({ status: 'in-progress', priority: 'medium', dependencies: [1] });
      expect(orders.subtasks.map((s: { id: number; status: string; dependencies: unknown[] }) => [s.id, s.status, s.dependencies])).to.deep.equal([
        [1, 'done', []],
        [2, 'review', [1]],
        [3, 'pending', ['1', 2]],
      ]);
      expect(tag.tasks[2].dependencies).to.deep.equal([2, '2.2']);
      expect(tag.tasks[3].status).to.equal('deferred');
    });

    it('writes issues.jsonl with one issue per line and Beads dependency types', async () => {
      const file = await exported('bk', 'beads');
      expect(file.status).to.equal(200);
      expect(file.type).to.match(/^application\/x-ndjson/);
      const issues = file.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const print = issues.find((i) => i.id === 'bk-7f3a.2');
      expect(print).to.deep.include({ status: 'in_progress', priority: 0, assignee: 'tomas' });
      expect(print.dependencies).to.deep.equal([
        { issue_id: 'bk-7f3a.2', depends_on_id: 'bk-7f3a', type: 'parent-child' },
        { issue_id: 'bk-7f3a.2', depends_on_id: 'bk-7f3a.1', type: 'blocks' },
      ]);
      expect(issues.find((i) => i.id === 'bk-9e02')).to.deep.include({ status: 'deferred', priority: 4 });
    });

    it('answers 404 for a project that does not exist', async () => {
      problem(await call('GET', '/projects/nowhere/export?format=beads'), 404, 'PROJECT_NOT_FOUND');
    });
  });

  describe('round trips (import → export → import)', () => {
    for (const format of ['taskmaster', 'beads'] as const) {
      it(`keeps tasks, hierarchy, dependencies and statuses through ${format}`, async () => {
        const origin = format === 'taskmaster' ? 'master' : 'bk';
        const file = await exported(origin, format);
        const copy = `${format}-copy`;
        ok(await call('POST', `/import/${format}`, { content: file.text, projectId: copy }));
        expect(shape(copy)).to.deep.equal(shape(origin));
        // The export names the tasks by their source ids, so importing it where they came from changes nothing.
        const before = await head();
        ok(await call('POST', `/import/${format}`, { content: file.text, projectId: origin }));
        expect(await head()).to.equal(before);
      });
    }

    it('carries Vespera statuses Beads has no word for (review, cancelled) through its metadata', async () => {
      const totals = await exported('master', 'beads');
      ok(await call('POST', '/import/beads', { content: totals.text, projectId: 'via-beads' }));
      expect(shape('via-beads')).to.deep.equal(shape('master'));
    });
  });

  describe('over MCP', () => {
    let mcp: Connected;
    before(async () => {
      mcp = await connect(app);
    });
    after(() => mcp?.close());

    it('imports with import_beads and exports with export_project', async () => {
      const imported = okTool(await callTool(mcp.client, 'import_beads', { content: ISSUES_JSONL, projectId: 'mcp-beads' }));
      expect(imported.projects[0].tasks.created).to.equal(5);
      const file = okTool(await callTool(mcp.client, 'export_project', { projectId: 'mcp-beads', format: 'beads' }));
      expect(file).to.deep.include({ format: 'beads', filename: 'issues.jsonl', contentType: 'application/x-ndjson', tasks: 5 });
      expect(file.content.trim().split('\n')).to.have.length(5);
    });

    it('refuses a cycle with the same code', async () => {
      const error = refused(
        await callTool(mcp.client, 'import_taskmaster', { content: { tasks: [{ id: 1, title: 'self', dependencies: [1] }] }, projectId: 'mcp-self' }),
        'DEPENDENCY_CYCLE',
      );
      expect(error.details.cycle).to.deep.equal(['1', '1']);
    });
  });
});
