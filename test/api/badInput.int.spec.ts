import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { STATUS_TRANSITIONS } from '../../src/events/project.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

type Task = { id: string; version: number };

describe('Tasks API given bad input', () => {
  let app: TestApp;
  let task: Task;
  let other: Task;
  let foreign: Task;

  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse> =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const raw = async (method: string, url: string, body: string | Buffer, headers: Record<string, string>): Promise<JsonResponse> => {
    const response = await fetch(`${app.baseUrl}/api/v1${url}`, { method, headers: { ...authorization(), ...headers }, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text for the assertion message
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  /** The admin token the test app hands out when authentication is on. */
  const authorization = (): Record<string, string> => {
    const token = (app as TestApp & { adminToken?: string }).adminToken;
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  const headPosition = async (): Promise<number> => (await api(app.baseUrl, 'GET', '/health')).body.eventStore.headPosition;
  const created = async (body: Record<string, unknown>): Promise<Task> => {
    const response = await call('POST', '/tasks', body);
    expect(response.status, JSON.stringify(response.body)).to.equal(201);
    return response.body;
  };

  /** The answer is a problem document with this status and code, a detail, and nothing of our internals. */
  const expectProblem = (response: JsonResponse, status: number, code: string): Record<string, unknown> => {
    const text = JSON.stringify(response.body);
    expect(response.status, text).to.equal(status);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body).to.include({ status, code });
    expect(response.body.detail).to.be.a('string').with.length.above(0);
    expect(response.body.type).to.be.a('string');
    expect(response.body.title).to.be.a('string');
    expect(text).not.to.match(/\bat .*\.ts:\d+/);
    expect(text).not.to.include('node_modules');
    return response.body;
  };

  /** A refused write leaves the event log exactly where it was. */
  const refusedWrite = async (send: () => Promise<JsonResponse>, status: number, code: string) => {
    const before = await headPosition();
    const problem = expectProblem(await send(), status, code);
    expect(await headPosition(), 'event log head moved').to.equal(before);
    return problem;
  };

  before(async () => {
    app = await startTestApp();
    task = await created({ title: 'Existing' });
    other = await created({ title: 'Other' });
    expect((await call('POST', '/projects', { id: 'elsewhere', name: 'Elsewhere' })).status).to.equal(201);
    foreign = await created({ title: 'Foreign', projectId: 'elsewhere' });
  });

  after(() => app?.close());

  describe('when the body is not a JSON object', () => {
    it('refuses malformed JSON with 400 MALFORMED_JSON', async () => {
      await refusedWrite(() => call('POST', '/tasks', '{"title": "x",'), 400, 'MALFORMED_JSON');
    });

    it('refuses a JSON array with 400', async () => {
      await refusedWrite(() => call('POST', '/tasks', '[{"title": "x"}]'), 400, 'INVALID_BODY');
    });

    it('refuses a body over 1 MB with 413 PAYLOAD_TOO_LARGE', async () => {
      await refusedWrite(() => call('POST', '/tasks', { title: 'big', description: 'x'.repeat(1024 * 1024) }), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('refuses a non-JSON content type with 415', async () => {
      await refusedWrite(() => raw('POST', '/tasks', 'title=x', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      await refusedWrite(
        () => raw('POST', '/tasks', 'title=x', { 'content-type': 'application/x-www-form-urlencoded' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    });

    it('refuses a charset other than UTF-8 with 415', async () => {
      await refusedWrite(
        () => raw('POST', '/tasks', '{"title":"x"}', { 'content-type': 'application/json; charset=latin1' }),
        415,
        'UNSUPPORTED_ENCODING',
      );
    });

    it('refuses a gzip body that is not gzip with 400, not a 500', async () => {
      const before = await headPosition();
      const response = await raw('POST', '/tasks', 'not gzip at all', { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expectProblem(response, 400, String(response.body.code));
      expect(await headPosition()).to.equal(before);
    });

    it('refuses a gzip bomb with 413', async () => {
      const bomb = gzipSync(Buffer.alloc(5 * 1024 * 1024, 32));
      await refusedWrite(
        () => raw('POST', '/tasks', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
    });
  });

  describe('when a field is unknown, mistyped or out of range', () => {
    it('refuses an unknown field with 400 VALIDATION_ERROR naming it', async () => {
      const problem = await refusedWrite(() => call('POST', '/tasks', { title: 'x', colour: 'red' }), 400, 'VALIDATION_ERROR');
      expect(problem.detail).to.include('colour');
      expect(problem.errors).to.deep.include({ field: 'colour', message: 'unknown field `colour`' });
    });

    it('refuses a mistyped priority with 400 naming it', async () => {
      const problem = await refusedWrite(() => call('POST', '/tasks', { title: 'x', priority: 5 }), 400, 'VALIDATION_ERROR');
      expect(problem.detail).to.include('priority');
      expect((problem.errors as { field: string }[]).map((e) => e.field)).to.include('priority');
    });

    it('refuses mistyped tags with 400 naming them', async () => {
      const problem = await refusedWrite(() => call('POST', '/tasks', { title: 'x', tags: 'x' }), 400, 'VALIDATION_ERROR');
      expect(problem.detail).to.include('tags');
    });

    for (const [label, title] of [
      ['an empty title', ''],
      ['a whitespace title', '   \t '],
      ['a 201-character title', 'x'.repeat(201)],
    ] as const) {
      it(`refuses ${label} with 400`, async () => {
        const problem = await refusedWrite(() => call('POST', '/tasks', { title }), 400, 'VALIDATION_ERROR');
        expect(problem.detail).to.include('title');
      });
    }

    it('refuses a missing title with 400 naming it', async () => {
      const problem = await refusedWrite(() => call('POST', '/tasks', { priority: 'high' }), 400, 'VALIDATION_ERROR');
      expect(problem.detail).to.include('title');
    });

    it('refuses an update that changes nothing with 400', async () => {
      await refusedWrite(() => call('PATCH', `/tasks/${task.id}`, {}), 400, 'VALIDATION_ERROR');
    });

    it('refuses metadata nested deeper than it can store with a 4xx, not a 500', async () => {
      const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
      const before = await headPosition();
      const response = await call('POST', '/tasks', `{"title":"deep","metadata":{"a":${deep}}}`);
      expect(response.status, JSON.stringify(response.body)).to.be.within(400, 499);
      expectProblem(response, response.status, String(response.body.code));
      expect(await headPosition()).to.equal(before);
    });
  });

  describe('when a task, parent or project does not exist', () => {
    it('answers 404 TASK_NOT_FOUND for an unknown task', async () => {
      expectProblem(await call('GET', '/tasks/no-such-task'), 404, 'TASK_NOT_FOUND');
      await refusedWrite(() => call('PATCH', '/tasks/no-such-task', { title: 'x' }), 404, 'TASK_NOT_FOUND');
      await refusedWrite(() => call('POST', '/tasks/no-such-task/status', { status: 'completed' }), 404, 'TASK_NOT_FOUND');
      await refusedWrite(() => call('DELETE', '/tasks/no-such-task'), 404, 'TASK_NOT_FOUND');
      expectProblem(await call('GET', '/tasks/no-such-task/tree'), 404, 'TASK_NOT_FOUND');
      expectProblem(await call('GET', '/tasks/no-such-task/history'), 404, 'TASK_NOT_FOUND');
      expectProblem(await call('GET', '/tasks/no-such-task/dependencies'), 404, 'TASK_NOT_FOUND');
    });

    it('answers 404 TASK_NOT_FOUND for an unknown parent', async () => {
      await refusedWrite(() => call('POST', '/tasks', { title: 'orphan', parentId: 'no-such-parent' }), 404, 'TASK_NOT_FOUND');
      await refusedWrite(() => call('POST', `/tasks/${task.id}/move`, { parentId: 'no-such-parent' }), 404, 'TASK_NOT_FOUND');
    });

    it('answers 404 PROJECT_NOT_FOUND for an unknown project', async () => {
      await refusedWrite(() => call('POST', '/tasks', { title: 'lost', projectId: 'nope' }), 404, 'PROJECT_NOT_FOUND');
      expectProblem(await call('GET', '/projects/nope'), 404, 'PROJECT_NOT_FOUND');
      expectProblem(await call('GET', '/tasks/dashboard?projectId=nope'), 404, 'PROJECT_NOT_FOUND');
    });

    it('answers 404 DEPENDENCY_NOT_FOUND when removing a dependency that is not there', async () => {
      await refusedWrite(() => call('DELETE', `/tasks/${task.id}/dependencies/${other.id}`), 404, 'DEPENDENCY_NOT_FOUND');
    });
  });

  describe('when a dependency would break the graph', () => {
    it('refuses a self dependency with 422 SELF_DEPENDENCY', async () => {
      await refusedWrite(() => call('POST', `/tasks/${task.id}/dependencies`, { dependsOn: task.id }), 422, 'SELF_DEPENDENCY');
    });

    it('refuses a cross-project dependency with 422 CROSS_PROJECT_DEPENDENCY', async () => {
      await refusedWrite(() => call('POST', `/tasks/${task.id}/dependencies`, { dependsOn: foreign.id }), 422, 'CROSS_PROJECT_DEPENDENCY');
    });

    it('refuses a cycle with 409 DEPENDENCY_CYCLE and the cycle path', async () => {
      const [a, b, c] = [await created({ title: 'A' }), await created({ title: 'B' }), await created({ title: 'C' })];
      expect((await call('POST', `/tasks/${a.id}/dependencies`, { dependsOn: b.id })).status).to.equal(201);
      expect((await call('POST', `/tasks/${b.id}/dependencies`, { dependsOn: c.id })).status).to.equal(201);
      const problem = await refusedWrite(() => call('POST', `/tasks/${c.id}/dependencies`, { dependsOn: a.id }), 409, 'DEPENDENCY_CYCLE');
      const cycle = problem.cycle as string[];
      expect(cycle[0]).to.equal(cycle.at(-1));
      expect(cycle).to.include.members([a.id, b.id, c.id]);
      expect(cycle).to.have.length(4);
    });

    it('refuses the same dependency twice with 409 DEPENDENCY_EXISTS', async () => {
      const [a, b] = [await created({ title: 'D1' }), await created({ title: 'D2' })];
      expect((await call('POST', `/tasks/${a.id}/dependencies`, { dependsOn: b.id })).status).to.equal(201);
      await refusedWrite(() => call('POST', `/tasks/${a.id}/dependencies`, { dependsOn: b.id }), 409, 'DEPENDENCY_EXISTS');
    });
  });

  describe('when a status change or a version is refused', () => {
    it('refuses an invalid status transition with 409 and the allowed moves', async () => {
      const problem = await refusedWrite(() => call('POST', `/tasks/${task.id}/status`, { status: 'review' }), 409, 'INVALID_STATUS_TRANSITION');
      expect(problem.allowed).to.deep.equal(STATUS_TRANSITIONS.pending);
      expect(problem).to.include({ from: 'pending', to: 'review' });
    });

    it('refuses an unknown status with 400', async () => {
      await refusedWrite(() => call('POST', `/tasks/${task.id}/status`, { status: 'done' }), 400, 'VALIDATION_ERROR');
    });

    it('refuses a stale If-Match with 412 CONCURRENCY_CONFLICT', async () => {
      const current = await call('GET', `/tasks/${other.id}`);
      const stale = `W/"${current.body.version - 1}"`;
      await refusedWrite(() => call('PATCH', `/tasks/${other.id}`, { title: 'late' }, { 'If-Match': stale }), 412, 'CONCURRENCY_CONFLICT');
    });

    it('refuses a malformed If-Match with 400', async () => {
      await refusedWrite(() => call('PATCH', `/tasks/${other.id}`, { title: 'x' }, { 'If-Match': 'yesterday' }), 400, 'INVALID_IF_MATCH');
      await refusedWrite(() => call('PATCH', `/tasks/${other.id}`, { title: 'x' }, { 'If-Match': 'W/"1", W/"2"' }), 400, 'INVALID_IF_MATCH');
    });

    it('refuses a malformed Idempotency-Key with 400', async () => {
      await refusedWrite(() => call('POST', '/tasks', { title: 'x' }, { 'Idempotency-Key': 'short' }), 400, 'INVALID_IDEMPOTENCY_KEY');
    });

    it('refuses an Idempotency-Key reused for another operation with a 4xx, not a 500', async () => {
      const headers = { 'Idempotency-Key': 'reused-key-0001' };
      expect((await call('PATCH', `/tasks/${other.id}`, { description: 'first use' }, headers)).status).to.equal(200);
      const before = await headPosition();
      const response = await call('POST', '/tasks', { title: 'second use' }, headers);
      expect(response.status, JSON.stringify(response.body)).to.be.within(400, 499);
      expectProblem(response, response.status, String(response.body.code));
      expect(await headPosition()).to.equal(before);
    });
  });

  describe('when paging or query parameters are wrong', () => {
    it('refuses a cursor it did not hand out with 400 INVALID_CURSOR', async () => {
      expectProblem(await call('GET', '/tasks?cursor=not-a-cursor'), 400, 'INVALID_CURSOR');
      expectProblem(await call('GET', '/projects?cursor=%E2%9C%93'), 400, 'INVALID_CURSOR');
      expectProblem(await call('GET', `/tasks/${task.id}/history?cursor=abc`), 400, 'INVALID_CURSOR');
    });

    it('refuses a well-formed cursor holding values of the wrong type with 400 INVALID_CURSOR', async () => {
      const forged = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
      expectProblem(await call('GET', `/tasks?sort=title&cursor=${forged([true, 1])}`), 400, 'INVALID_CURSOR');
      expectProblem(await call('GET', `/tasks?cursor=${forged([{}, {}])}`), 400, 'INVALID_CURSOR');
    });

    it('refuses limit 0 and limit 1000 with 400', async () => {
      for (const limit of [0, 1000]) {
        const problem = expectProblem(await call('GET', `/tasks?limit=${limit}`), 400, 'VALIDATION_ERROR');
        expect(problem.detail).to.include('limit');
      }
    });

    it('refuses an unknown query parameter and an unknown sort with 400', async () => {
      expectProblem(await call('GET', '/tasks?colour=red'), 400, 'VALIDATION_ERROR');
      expectProblem(await call('GET', '/tasks?sort=colour'), 400, 'VALIDATION_ERROR');
      expectProblem(await call('GET', '/tasks?status=finished'), 400, 'VALIDATION_ERROR');
    });

    it('refuses a search with no word in it with 400', async () => {
      expectProblem(await call('GET', `/tasks?q=${encodeURIComponent('*** ()')}`), 400, 'INVALID_QUERY');
    });

    it('refuses a bad X-Vespera-Min-Position with 400', async () => {
      expectProblem(await call('GET', '/tasks', undefined, { 'X-Vespera-Min-Position': '-1' }), 400, 'INVALID_HEADER');
    });
  });

  describe('when the route does not exist', () => {
    it('answers 404 ROUTE_NOT_FOUND', async () => {
      expectProblem(await call('GET', '/nothing-here'), 404, 'ROUTE_NOT_FOUND');
      expectProblem(await call('PUT', `/tasks/${task.id}`, { title: 'x' }), 404, 'ROUTE_NOT_FOUND');
      expectProblem(await api(app.baseUrl, 'GET', '/api/v2/tasks'), 404, 'ROUTE_NOT_FOUND');
    });

    it('answers a task id that is not valid percent-encoding with 400, not a 500', async () => {
      const response = await call('GET', '/tasks/%E0%A4%A');
      expect(response.status, JSON.stringify(response.body)).to.be.within(400, 499);
      expectProblem(response, response.status, String(response.body.code));
    });

    it('answers a task id outside the id alphabet with 400', async () => {
      expectProblem(await call('GET', `/tasks/${encodeURIComponent('a b;c')}`), 400, 'VALIDATION_ERROR');
    });

    it('does not take /tasks/dashboard or /tasks/ready for a task id', async () => {
      const dashboard = await call('GET', '/tasks/dashboard');
      expect(dashboard.status).to.equal(200);
      expect(dashboard.body).to.have.property('byStatus');
      const ready = await call('GET', '/tasks/ready');
      expect(ready.status).to.equal(200);
      expect(ready.body).to.have.property('items').that.is.an('array');
      expect((await call('POST', '/tasks/tree', { root: { title: 'not an id' } })).status).to.equal(201);
    });
  });
});
