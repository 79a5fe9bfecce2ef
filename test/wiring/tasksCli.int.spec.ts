import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliRun } from '../support/cli.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

/**
 * The task commands of `vespera`, each run as its own process against a real server (in this process, announced in
 * its data directory's server.json as `vespera serve` announces itself), as a person at a shell would run them.
 */
describe('vespera task commands against a running server', function () {
  this.timeout(120_000);
  let app: TestApp;
  const vespera = (args: string[], env: Record<string, string> = {}, dataDir = app.dataDir): Promise<CliRun> => runCli(args, dataDir, env);
  const json = (run: CliRun) => {
    expect(run.code, run.stderr).to.equal(0);
    return JSON.parse(run.stdout);
  };
  const createTask = async (body: Record<string, unknown>) => (await api(app.baseUrl, 'POST', '/api/v1/tasks', body)).body as { id: string };
  const scratch: string[] = [];
  const tmpDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-cli-'));
    scratch.push(dir);
    return dir;
  };
  /** A port nothing listens on. */
  const closedPort = async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  };

  before(async () => {
    app = await startTestApp();
    for (const id of ['cli', 'loop', 'deps', 'find', 'tokens']) await api(app.baseUrl, 'POST', '/api/v1/projects', { id, name: id });
  });
  after(async () => {
    await app?.close();
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('create, show, list and ready', () => {
    let parser: string;
    let tester: string;

    it('creates a task with its fields and prints its id for people', async () => {
      const run = await vespera(['create', 'Write the parser', '--project', 'cli', '--priority', 'high', '--estimate', '3', '--tags', 'core,parser']);
      expect(run.code, run.stderr).to.equal(0);
      const [, id] = /^Created (\S+) in cli: Write the parser$/m.exec(run.stdout) ?? [];
      expect(id, run.stdout).to.be.a('string');
      parser = id!;
      const task = (await api(app.baseUrl, 'GET', `/api/v1/tasks/${parser}`)).body;
      expect(task).to.include({ projectId: 'cli', priority: 'high', estimate: 3 });
      expect(task.tags).to.deep.equal(['core', 'parser']);
    });

    it('creates a task that waits for --depends-on, answering with --json the task as it stands after its dependencies', async () => {
      const answer = json(
        await vespera(['create', 'Test the parser', '--project', 'cli', '--depends-on', parser, '--files', 'test/parser.spec.ts', '--json']),
      );
      expect(answer).to.include({ title: 'Test the parser', ready: false, openDependencies: 1 });
      expect(answer.files).to.deep.equal(['test/parser.spec.ts']);
      tester = answer.id;
      expect(answer.dependencies).to.have.length(1);
      expect(answer.dependencies[0]).to.include({ taskId: answer.id, dependsOn: parser, kind: 'hard' });
      const rest = (await api(app.baseUrl, 'GET', `/api/v1/tasks/${answer.id}`)).body;
      const { possibleDuplicates: _p, duplicateCheck: _d, dependencies: _deps, ...task } = answer;
      expect(task).to.deep.equal(rest);
    });

    it('lists the ready tasks as a table, and with --json exactly what GET /tasks/ready answers', async () => {
      const table = await vespera(['ready', '--project', 'cli']);
      expect(table.code, table.stderr).to.equal(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^ID\s+PRIORITY\s+PROJECT\s+ROLE\s+EST\s+TITLE$/);
      expect(lines.slice(1)).to.have.length(1);
      expect(lines[1]).to.match(new RegExp(`^${parser}\\s+high\\s+cli\\s+3h\\s+Write the parser$`));
      expect(table.stderr).to.include('1 ready task.');
      const withJson = await vespera(['ready', '--project', 'cli', '--json']);
      expect(withJson.stderr, 'nothing on stderr under --json').to.equal('');
      const answer = json(withJson);
      expect(answer).to.deep.equal((await api(app.baseUrl, 'GET', '/api/v1/tasks/ready?projectId=cli')).body);
    });

    it('lists tasks with filters, and with --json exactly what GET /tasks answers', async () => {
      const table = await vespera(['list', '--project', 'cli', '--sort', 'title']);
      expect(table.code, table.stderr).to.equal(0);
      expect(
        table.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.replace(/\s+/g, ' ')),
      ).to.deep.equal([
        'ID STATUS PRIORITY PROJECT READY TITLE',
        `${tester} pending normal cli Test the parser`,
        `${parser} pending high cli yes Write the parser`,
      ]);
      const answer = json(await vespera(['list', '--project', 'cli', '--status', 'pending', '--priority', 'high', '--json']));
      expect(answer).to.deep.equal((await api(app.baseUrl, 'GET', '/api/v1/tasks?projectId=cli&status=pending&priority=high')).body);
      expect(answer.items.map((t: { id: string }) => t.id)).to.deep.equal([parser]);
    });

    it('shows one task field by field, and with --json exactly what GET /tasks/:id answers', async () => {
      const run = await vespera(['show', parser]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(new RegExp(`^id:\\s+${parser}$`, 'm'));
      expect(run.stdout).to.match(/^status:\s+pending \(ready\)$/m);
      expect(run.stdout).to.match(/^estimate:\s+3h$/m);
      expect(run.stdout).to.match(/^tags:\s+core, parser$/m);
      expect(json(await vespera(['show', parser, '--json']))).to.deep.equal((await api(app.baseUrl, 'GET', `/api/v1/tasks/${parser}`)).body);
    });
  });

  describe("an agent's loop: claim, heartbeat, done", () => {
    let first: string;
    let second: string;

    before(async () => {
      first = (await createTask({ title: 'Parse the header', projectId: 'loop', priority: 'critical', files: ['src/header.ts'] })).id;
      second = (await createTask({ title: 'Parse the body', projectId: 'loop' })).id;
      await api(app.baseUrl, 'POST', `/api/v1/tasks/${second}/dependencies`, { dependsOn: first });
    });

    it('claims the best ready task for a role when no id is given (claim-next)', async () => {
      const run = await vespera(['claim', '--role', 'coder', '--project', 'loop', '--agent', 'bob']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(new RegExp(`^Claimed ${first}: Parse the header\\n  by bob until \\S+Z\\n$`));
      expect((await api(app.baseUrl, 'GET', `/api/v1/tasks/${first}`)).body).to.include({ status: 'in_progress', claimedBy: 'bob' });
    });

    it('extends the lease with a status note', async () => {
      const answer = json(await vespera(['heartbeat', first, '--agent', 'bob', '--note', 'halfway', '--json']));
      expect(answer).to.have.keys('taskId', 'leaseExpiresAt', 'position');
      expect(answer.taskId).to.equal(first);
      expect((await api(app.baseUrl, 'GET', `/api/v1/tasks/${first}`)).body.statusNote.note).to.equal('halfway');
    });

    it('completes the task with its output and names what became ready', async () => {
      const run = await vespera(['done', first, '--agent', 'bob', '--output', 'header parsed', '--changed-files', 'src/header.ts']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.equal(`Completed ${first}: Parse the header\n  now ready: ${second}\n`);
      const task = (await api(app.baseUrl, 'GET', `/api/v1/tasks/${first}`)).body;
      expect(task.status).to.equal('completed');
      expect(task.result.output).to.equal('header parsed');
    });

    it('claims one task by id, answering with --json what POST /tasks/:id/claim answers', async () => {
      const answer = json(await vespera(['claim', second, '--agent', 'carol', '--lease', '60', '--json']));
      expect(answer).to.include({ claimed: true });
      expect(answer.task).to.include({ id: second, status: 'in_progress', claimedBy: 'carol' });
      expect(answer.position).to.be.a('number');
    });

    it('exits 1 when nothing is ready to claim, saying so, with claimed: false under --json', async () => {
      const run = await vespera(['claim', '--role', 'coder', '--project', 'loop']);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.equal('Nothing to claim for role coder.\n');
      const withJson = await vespera(['claim', '--role', 'coder', '--project', 'loop', '--json']);
      expect(withJson.code).to.equal(1);
      expect(JSON.parse(withJson.stdout)).to.deep.equal({ claimed: false, task: null });
      expect(withJson.stderr).to.equal('');
    });

    it('takes the role from VESPERA_ROLE when --role is not given', async () => {
      const run = await vespera(['claim', '--project', 'loop'], { VESPERA_ROLE: 'coder' });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.include('Nothing to claim for role coder.');
    });
  });

  describe('status and dependencies', () => {
    let a: string;
    let b: string;

    before(async () => {
      a = (await createTask({ title: 'Design the schema', projectId: 'deps' })).id;
      b = (await createTask({ title: 'Write the migration', projectId: 'deps' })).id;
    });

    it('adds a hard dependency, and a soft one with --soft', async () => {
      const run = await vespera(['dep', 'add', b, a]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.equal(`${b} depends on ${a} (hard) (not ready)\n`);
      const removed = json(await vespera(['dep', 'rm', b, a, '--json']));
      expect(removed).to.include({ taskId: b, dependsOn: a, ready: true });
      const soft = json(await vespera(['dep', 'add', b, a, '--soft', '--json']));
      expect(soft).to.include({ taskId: b, dependsOn: a, kind: 'soft', ready: true });
    });

    it('exits 1 on a dependency cycle, with the code and detail on stderr', async () => {
      const run = await vespera(['dep', 'add', a, b]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.match(/^DEPENDENCY_CYCLE /);
    });

    it('acts for the role VESPERA_ROLE names, recorded in the history, and exits 1 when no such role exists', async () => {
      expect((await vespera(['status', b, 'blocked'], { VESPERA_ROLE: 'architect' })).code).to.equal(0);
      const history = (await api(app.baseUrl, 'GET', `/api/v1/tasks/${b}/history`)).body.items;
      expect(history.at(-1)).to.include({ type: 'TaskStatusChanged', role: 'architect', tool: 'rest' });
      const run = await vespera(['show', b], { VESPERA_ROLE: 'no_such_role' });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/^UNKNOWN_ROLE /);
    });

    it('changes a status, and refuses one the transition table does not allow (exit 1)', async () => {
      const blocked = json(await vespera(['status', a, 'blocked', '--reason', 'waiting for review', '--json']));
      expect(blocked).to.include({ id: a, status: 'blocked' });
      const run = await vespera(['status', a, 'completed']);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/^INVALID_STATUS_TRANSITION /);
    });
  });

  describe('search and usage', () => {
    before(() => createTask({ title: 'Tokenizer for quoted strings', projectId: 'find' }));

    it('finds tasks by words, as a table and with --json as GET /search answers', async () => {
      const run = await vespera(['search', 'tokenizer', '--project', 'find', '--mode', 'keyword']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(/^SCORE\s+ID\s+STATUS\s+PROJECT\s+TITLE\n\S+\s+\S+\s+pending\s+find\s+Tokenizer for quoted strings\n$/);
      const answer = json(await vespera(['search', 'tokenizer', '--project', 'find', '--mode', 'keyword', '--json']));
      expect(answer).to.deep.equal((await api(app.baseUrl, 'GET', '/api/v1/search?q=tokenizer&projectId=find&mode=keyword')).body);
    });

    it("prints a project's usage by agent, with a total line", async () => {
      const run = await vespera(['usage', '--project', 'loop', '--by', 'agent']);
      expect(run.code, run.stderr).to.equal(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^AGENT\s+INPUT TOKENS\s+OUTPUT TOKENS\s+COST USD\s+SECONDS\s+REPORTS$/);
      expect(lines.some((l) => /^bob\s/.test(l))).to.equal(true);
      expect(lines.at(-1)).to.match(/^TOTAL\s/);
      const answer = json(await vespera(['usage', '--project', 'loop', '--by', 'agent', '--json']));
      expect(answer).to.deep.equal((await api(app.baseUrl, 'GET', '/api/v1/projects/loop/usage?by=agent')).body);
    });
  });

  describe('exit codes', () => {
    it('exits 1 on a refusal: the code and detail on stderr, the problem document on stdout with --json', async () => {
      const run = await vespera(['show', 'no-such-task']);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.equal('TASK_NOT_FOUND Task no-such-task does not exist.\n');
      const withJson = await vespera(['show', 'no-such-task', '--json']);
      expect(withJson.code).to.equal(1);
      expect(JSON.parse(withJson.stdout)).to.include({ status: 404, code: 'TASK_NOT_FOUND' });
    });

    for (const [args, says] of [
      [['show'], "missing required argument 'id'"],
      [['status', 'x', 'finished'], "'finished' is invalid for argument 'status'"],
      [['ready', '--limit', '0'], 'It takes a whole number from 1 to 200.'],
      [['list', '--no-such-flag'], "unknown option '--no-such-flag'"],
      [['create', 'x', '--priority', 'urgent'], "'urgent' is invalid"],
      [['claim'], 'give --role (or set VESPERA_ROLE)'],
      [['done', 'x', '--output', 'a', '--output-file', 'b'], 'Give --output or --output-file, not both.'],
      [['dep', 'add', 'x'], "missing required argument 'dependsOn'"],
    ] as const) {
      it(`exits 2 on a usage error, before looking for a server: vespera ${args.join(' ')}`, async () => {
        const run = await vespera([...args], {}, tmpDir());
        expect(run.code, run.stderr).to.equal(2);
        expect(run.stderr).to.include(says);
        expect(run.stdout).to.equal('');
      });
    }

    it('exits 2 on an unknown command, naming it and listing the commands, instead of passing it to serve', async () => {
      const run = await vespera(['tasks', 'list']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.include("error: unknown command 'tasks'");
      expect(run.stderr).not.to.include('too many arguments');
      expect(run.stderr).to.match(/Commands:[\s\S]*\bready\b[\s\S]*\bclaim\b/);
    });

    it('exits 3 when no server runs on the data directory (no server.json)', async () => {
      const run = await vespera(['ready'], {}, tmpDir());
      expect(run.code).to.equal(3);
      expect(run.stderr).to.match(/No server is running on .*server\.json.*VESPERA_URL/);
    });

    it('exits 3 when server.json names a process that is gone', async () => {
      const dir = tmpDir();
      fs.writeFileSync(path.join(dir, 'server.json'), JSON.stringify({ pid: 2 ** 22 + 1, url: app.baseUrl, startedAt: new Date().toISOString() }));
      const run = await vespera(['ready'], { VESPERA_TOKEN: app.adminToken }, dir);
      expect(run.code).to.equal(3);
    });

    it('exits 3 when the server does not answer (connection refused)', async () => {
      const run = await vespera(['ready'], { VESPERA_URL: `http://127.0.0.1:${await closedPort()}` });
      expect(run.code).to.equal(3);
      expect(run.stderr).to.match(/does not answer: ECONNREFUSED/);
    });
  });

  describe('graph, import and export', () => {
    const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/interchange');

    it('imports a Taskmaster file with a dry run first (nothing written), then for real, with a table per project', async () => {
      const dry = await vespera(['import', 'taskmaster', path.join(FIXTURES, 'tasks.json'), '--tag', 'master', '--project', 'tm', '--dry-run']);
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stderr).to.include('Dry run: nothing was written.');
      expect((await api(app.baseUrl, 'GET', '/api/v1/projects/tm')).status).to.equal(404);
      const run = await vespera(['import', 'taskmaster', path.join(FIXTURES, 'tasks.json'), '--tag', 'master', '--project', 'tm']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(/^tm \(new\)\s+9\s+9\s+0\s+0\s+8\s/m);
      const again = json(await vespera(['import', 'taskmaster', path.join(FIXTURES, 'tasks.json'), '--tag', 'master', '--project', 'tm', '--json']));
      expect(again.projects[0].tasks).to.deep.equal({ inFile: 9, created: 0, updated: 0, unchanged: 9 });
    });

    it('prints the project’s graph as Mermaid by default, DOT, SVG to a file, and JSON with --json', async () => {
      const mermaid = await vespera(['graph', '--project', 'tm']);
      expect(mermaid.code, mermaid.stderr).to.equal(0);
      expect(mermaid.stdout).to.match(/^flowchart/);
      const dot = await vespera(['graph', '--project', 'tm', '--format', 'dot']);
      expect(dot.stdout).to.match(/^digraph/);
      const file = path.join(tmpDir(), 'tm.svg');
      const svg = await vespera(['graph', '--project', 'tm', '--format', 'svg', '--out', file]);
      expect(svg.code, svg.stderr).to.equal(0);
      expect(svg.stdout).to.equal('');
      expect(fs.readFileSync(file, 'utf8')).to.include('<svg');
      const answer = json(await vespera(['graph', '--project', 'tm', '--json']));
      expect(answer.nodes).to.have.length(9);
      expect(answer.edges).to.have.length(8);
    });

    it('exports the project to Beads JSONL and Taskmaster JSON, and refuses an unknown system or a missing file with exit 2', async () => {
      const beads = await vespera(['export', '--project', 'tm', '--format', 'beads']);
      expect(beads.code, beads.stderr).to.equal(0);
      expect(
        beads.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { title: string }),
      ).to.have.length(9);
      const file = path.join(tmpDir(), 'tasks.json');
      const taskmaster = json(await vespera(['export', '--project', 'tm', '--format', 'taskmaster', '--out', file, '--json']));
      expect(taskmaster).to.include({ projectId: 'tm', format: 'taskmaster', file });
      expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')) as object)).to.have.length(1);
      expect((await vespera(['import', 'jira', file])).code).to.equal(2);
      expect((await vespera(['import', 'beads', path.join(tmpDir(), 'missing.jsonl')])).code).to.equal(2);
      expect((await vespera(['graph', '--project', 'nowhere'])).code).to.equal(1);
    });
  });

  describe('finding the server and the token', () => {
    it('prefers VESPERA_URL to the server.json of the data directory', async () => {
      const dir = tmpDir();
      fs.writeFileSync(
        path.join(dir, 'server.json'),
        JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${await closedPort()}`, startedAt: new Date().toISOString() }),
      );
      const env = { VESPERA_TOKEN: app.adminToken };
      expect((await vespera(['ready'], env, dir)).code).to.equal(3);
      const run = await vespera(['ready', '--json'], { ...env, VESPERA_URL: app.baseUrl }, dir);
      expect(json(run).items).to.be.an('array');
    });

    describe('with a read-only token in VESPERA_TOKEN_FILE', () => {
      let tokenFile: string;

      before(async () => {
        const registered = await api(app.baseUrl, 'POST', '/api/v1/plugins', {
          id: 'desk-reader',
          name: 'Desk reader',
          type: 'cli',
          capabilities: ['task_reading'],
        });
        expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
        const issued = await api(app.baseUrl, 'POST', '/api/v1/plugins/desk-reader/tokens', {});
        tokenFile = path.join(tmpDir(), 'reader.token');
        fs.writeFileSync(tokenFile, `${issued.body.token}\n`);
      });

      it('reads with the token from the file instead of the admin token', async () => {
        expect((await vespera(['ready'], { VESPERA_TOKEN_FILE: tokenFile })).code).to.equal(0);
        const run = await vespera(['create', 'Not allowed'], { VESPERA_TOKEN_FILE: tokenFile });
        expect(run.code).to.equal(1);
        expect(run.stderr).to.match(/^MISSING_CAPABILITY /);
      });

      it('takes VESPERA_TOKEN before VESPERA_TOKEN_FILE', async () => {
        const run = await vespera(['create', 'Allowed', '--project', 'tokens'], { VESPERA_TOKEN_FILE: tokenFile, VESPERA_TOKEN: app.adminToken });
        expect(run.code, run.stderr).to.equal(0);
      });

      it('exits 2 when the token file holds no token', async () => {
        const empty = path.join(tmpDir(), 'empty.token');
        fs.writeFileSync(empty, '');
        const run = await vespera(['ready'], { VESPERA_TOKEN_FILE: empty });
        expect(run.code).to.equal(2);
        expect(run.stderr).to.include(`VESPERA_TOKEN_FILE names ${empty}, which holds no token`);
      });
    });
  });
});
