import { expect } from 'chai';
import { runCli } from '../support/cli.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

/** `vespera audit show` and `vespera audit diff` as their own processes, on the data directory of a running server. */
describe('vespera audit show / diff beside a running server', function () {
  this.timeout(60_000);
  let app: TestApp;
  let taskId: string;
  let beforeUpdate: number;

  before(async () => {
    app = await startTestApp();
    const call = (method: string, url: string, body?: unknown) => api(app.baseUrl, method, `/api/v1${url}`, body);
    expect((await call('POST', '/projects', { id: 'cli-audit', name: 'CLI audit' })).status).to.equal(201);
    const created = await call('POST', '/tasks', { projectId: 'cli-audit', title: 'Old title' });
    taskId = created.body.id;
    beforeUpdate = await app.store.headPosition();
    expect((await call('PATCH', `/tasks/${taskId}`, { title: 'New title' })).status).to.equal(200);
  });
  after(() => app?.close());

  it('shows a task as of a position, in JSON and for people', async () => {
    const json = await runCli(['audit', 'show', taskId, '--at', String(beforeUpdate), '--json'], app.dataDir);
    expect(json.code, json.stderr).to.equal(0);
    const answer = JSON.parse(json.stdout);
    expect(answer.asOf.position).to.equal(beforeUpdate);
    expect(answer.task.title).to.equal('Old title');
    const human = await runCli(['audit', 'show', taskId], app.dataDir);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout)
      .to.match(new RegExp(`^Task ${taskId} as of position \\d+`))
      .and.include('title:        New title');
  });

  it('diffs a project between two points', async () => {
    const run = await runCli(['audit', 'diff', '--project', 'cli-audit', '--from', String(beforeUpdate), '--json'], app.dataDir);
    expect(run.code, run.stderr).to.equal(0);
    const diff = JSON.parse(run.stdout);
    expect(diff.counts).to.deep.equal({ created: 0, deleted: 0, changed: 1 });
    expect(diff.items[0].changes).to.deep.equal([{ field: 'title', before: 'Old title', after: 'New title' }]);
  });

  it('exits 1 on a refusal and 2 on a usage error, saying why on stderr', async () => {
    const missing = await runCli(['audit', 'show', 'no-such-task'], app.dataDir);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^TASK_NOT_FOUND: /);
    const unreadable = await runCli(['audit', 'diff', '--project', 'cli-audit', '--from', 'last week'], app.dataDir);
    expect(unreadable.code).to.equal(2);
    expect(unreadable.stderr).to.match(/^INVALID_POINT: /);
  });
});
