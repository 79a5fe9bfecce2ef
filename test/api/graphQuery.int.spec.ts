import fs from 'node:fs';
import { expect } from 'chai';
import { call as callTool, connect, ok, refused, type Connected } from './mcp/support.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

describe('POST /graph/query (read-only Cypher over the graph model)', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const query = (cypher: string, params?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    call('POST', '/graph/query', { cypher, ...(params ? { params } : {}), ...extra });
  const create = async (title: string, extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/tasks', { title, projectId: 'gq', estimate: 1, ...extra });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id as string;
  };
  let position = 0;
  const depend = async (taskId: string, dependsOn: string, kind = 'hard') => {
    const res = await call('POST', `/tasks/${taskId}/dependencies`, { dependsOn, kind });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    position = Number(res.headers.get('x-vespera-position'));
  };

  // gq: auth ← api ← ui (hard), docs ~ ui (soft); epic is the parent of api and ui. auth names src/auth/ files,
  // ui was discovered from api, docs is related to auth and claimed by ada.
  const t: Record<string, string> = {};
  before(async () => {
    app = await startTestApp();
    expect((await call('POST', '/projects', { id: 'gq', name: 'Graph questions' })).status).to.equal(201);
    t.epic = await create('Epic');
    t.auth = await create('Auth', { priority: 'critical', files: ['src/auth/session.ts', 'src/auth/**/*.test.ts'] });
    t.api = await create('API', { parentId: t.epic });
    t.ui = await create('UI', { parentId: t.epic });
    t.docs = await create('Docs');
    await depend(t.api, t.auth);
    await depend(t.ui, t.api);
    await depend(t.docs, t.ui, 'soft');
    for (const [from, kind, to] of [
      [t.ui, 'discovered_from', t.api],
      [t.docs, 'related', t.auth],
    ] as const)
      expect((await call('POST', `/tasks/${from}/links`, { kind, target: to })).status).to.be.oneOf([200, 201]);
    const claim = await call('POST', `/tasks/${t.docs}/claim`, { agent: 'ada', leaseSeconds: 600 });
    expect(claim.status, JSON.stringify(claim.body)).to.equal(200);
    position = Number(claim.headers.get('x-vespera-position'));
  });
  after(async () => app?.close());

  describe('answers', () => {
    it('rows keyed by column, with the parameters bound and the position it reflects', async () => {
      const res = await query(
        "MATCH (t:Task)-[:DEPENDS_ON*1..10 (r, _n | WHERE r.kind = 'hard')]->(d:Task {id: $root}) WHERE t.project = $project RETURN DISTINCT t.id AS id, t.createdSeq AS seq ORDER BY seq",
        { root: t.auth, project: 'gq' },
        { minPosition: position },
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.columns).to.deep.equal(['id', 'seq']);
      expect(res.body.rows.map((row: { id: string }) => row.id)).to.deep.equal([t.api, t.ui]);
      expect(res.body).to.include({ count: 2, truncated: false });
      expect(res.body.position).to.be.at.least(position);
    });

    it('nodes and relationships as JSON objects', async () => {
      const res = await query(
        'MATCH (a:Task {id: $id})-[r:DEPENDS_ON]->(b:Task) RETURN a, r, b.priority AS p',
        { id: t.api },
        { minPosition: position },
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.rows[0].a).to.include({ id: t.api, project: 'gq', title: 'API', status: 'pending', claimedBy: null, _label: 'Task' });
      expect(res.body.rows[0].r).to.include({ kind: 'hard', _label: 'DEPENDS_ON' });
      expect(res.body.rows[0].p).to.equal('critical');
    });

    it('the tree through CHILD_OF', async () => {
      const res = await query(
        'MATCH (c:Task)-[:CHILD_OF]->(p:Task {id: $epic}) RETURN count(c) AS children',
        { epic: t.epic },
        { minPosition: position },
      );
      expect(res.body.rows).to.deep.equal([{ children: 2 }]);
    });

    it('at most `limit` rows, saying it truncated', async () => {
      const res = await query('UNWIND range(1, 5000) AS x RETURN x', undefined, { limit: 3 });
      expect(res.status).to.equal(200);
      expect(res.body.rows).to.deep.equal([{ x: 1 }, { x: 2 }, { x: 3 }]);
      expect(res.body).to.include({ count: 3, truncated: true });
    });

    it('at most 1,000 rows by default', async () => {
      const res = await query('UNWIND range(1, 5000) AS x RETURN x');
      expect(res.body).to.include({ count: 1000, truncated: true });
    });

    it('the schema through CALL show_tables()', async () => {
      const res = await query('CALL show_tables() RETURN name ORDER BY name');
      expect(res.body.rows.map((r: { name: string }) => r.name)).to.include.members(['Task', 'DEPENDS_ON', 'CHILD_OF', 'LINKED']);
    });
  });

  describe('the example questions of docs/graph.md', () => {
    const examples = [...fs.readFileSync(new URL('../../docs/graph.md', import.meta.url), 'utf8').matchAll(/```cypher\n([\s\S]*?)```/g)].map(
      (m) => m[1]!,
    );

    it('are there', () => expect(examples.length).to.be.at.least(4));

    it('all run, with the parameters they name', async () => {
      const values: Record<string, unknown> = { id: t.auth, project: 'gq', from: t.ui, to: t.auth, prefix: 'src/auth/' };
      for (const cypher of examples) {
        const params = Object.fromEntries([...cypher.matchAll(/\$(\w+)/g)].map((m) => [m[1]!, values[m[1]!]]));
        const res = await query(cypher, params, { minPosition: position });
        expect(res.status, `${cypher}\n${JSON.stringify(res.body)}`).to.equal(200);
      }
    });

    const example = (marker: string) => examples.find((cypher) => cypher.includes(marker))!;

    it('answer the auth question in one query: every open task waiting, transitively, on one touching src/auth/', async () => {
      const res = await query(example('STARTS WITH'), { prefix: 'src/auth/' }, { minPosition: position });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.rows.map((r: { id: string }) => r.id)).to.deep.equal([t.api, t.ui, t.docs].sort());
      expect(res.body.rows.find((r: { id: string }) => r.id === t.api).title).to.equal('API');
      expect((await query(example('STARTS WITH'), { prefix: 'src/billing/' })).body.rows).to.deep.equal([]);
    });

    it('answer the links question apart from dependencies', async () => {
      const res = await query(example(':LINKED'), { id: t.api }, { minPosition: position });
      expect(res.body.rows).to.deep.equal([{ task: t.ui, title: 'UI', kind: 'discovered_from' }]);
      expect((await query(example(':LINKED'), { id: t.auth })).body.rows).to.deep.equal([{ task: t.docs, title: 'Docs', kind: 'related' }]);
    });

    it('answer who holds claims on what', async () => {
      const res = await query(example('claimedBy'), { project: 'gq' }, { minPosition: position });
      expect(res.body.rows).to.deep.equal([{ agent: 'ada', claimed: 1, tasks: [t.docs] }]);
    });

    it('name a parameter inside any(…) only through WITH: bound there directly, Kuzu refuses with 400, and answers after', async () => {
      const res = await query('MATCH (t:Task) WHERE any(f IN t.files WHERE f STARTS WITH $p) RETURN t.id AS id', { p: 'src/auth/' });
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('GRAPH_QUERY_INVALID');
      const bound = await query('WITH $p AS p MATCH (t:Task) WHERE any(f IN t.files WHERE f STARTS WITH p) RETURN t.id AS id', { p: 'src/auth/' });
      expect(bound.body.rows).to.deep.equal([{ id: t.auth }]);
    });
  });

  describe('refuses', () => {
    it('a write with 400 GRAPH_QUERY_REFUSED, before it reaches Kuzu', async () => {
      const res = await query("MATCH (t:Task {id: $id}) SET t.status = 'completed' RETURN t", { id: t.auth });
      expect(res.status).to.equal(400);
      expect(res.body).to.include({ code: 'GRAPH_QUERY_REFUSED', clause: 'SET' });
      const after = await query('MATCH (t:Task {id: $id}) RETURN t.status AS s', { id: t.auth });
      expect(after.body.rows).to.deep.equal([{ s: 'pending' }]);
    });

    it('reading files with LOAD FROM', async () => {
      const res = await query("LOAD FROM '/etc/passwd' (file_format='csv') RETURN *");
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('GRAPH_QUERY_REFUSED');
    });

    it("bad Cypher with 400 GRAPH_QUERY_INVALID and Kuzu's message, never a 500", async () => {
      for (const cypher of ['MATCH (t:Task RETURN t', 'MATCH (t:Nope) RETURN t', 'MATCH (t:Task) RETURN t.nope']) {
        const res = await query(cypher);
        expect(res.status, cypher).to.equal(400);
        expect(res.body.code, cypher).to.equal('GRAPH_QUERY_INVALID');
        expect(res.body.detail ?? res.body.message ?? '', cypher).to.match(/Kuzu could not run the query: \S/);
      }
    });

    it('a parameter that is not a string, number, boolean, null or a list of them with 400 VALIDATION_ERROR', async () => {
      const res = await query('RETURN $p AS p', { p: { nested: true } });
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('VALIDATION_ERROR');
      expect(res.body.errors[0].field).to.equal('params.p');
      // Kuzu would turn the number into an empty string: a list holds values of one type.
      expect((await query('RETURN $p AS p', { p: ['a', 1] })).body.code).to.equal('VALIDATION_ERROR');
      expect((await query('RETURN $p AS p', { p: ['a', null, 'b'] })).body.rows).to.deep.equal([{ p: ['a', null, 'b'] }]);
      expect((await query('RETURN $p AS p', { p: [1, 2.5] })).body.code).to.equal('VALIDATION_ERROR');
      expect((await query('RETURN $p AS p', { p: [1, 2] })).body.rows).to.deep.equal([{ p: [1, 2] }]);
      expect((await query('RETURN $p AS p', { p: [0.5, 2.5] })).body.rows).to.deep.equal([{ p: [0.5, 2.5] }]);
    });

    it('a parameter the query does not name', async () => {
      const res = await query('RETURN 1 AS x', { stray: 1 });
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('GRAPH_QUERY_INVALID');
    });

    it('a query that runs past its timeout with 422 GRAPH_QUERY_TIMEOUT, and the graph answers again after', async () => {
      const res = await query('UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y WITH x * y AS z WHERE z % 7 = 3 RETURN sum(z) AS s');
      expect(res.status, JSON.stringify(res.body)).to.equal(422);
      expect(res.body.code).to.equal('GRAPH_QUERY_TIMEOUT');
      expect((await query('RETURN 1 AS one')).body.rows).to.deep.equal([{ one: 1 }]);
    });

    it('a token without graph_query with 403, even one that reads every task', async () => {
      expect(
        (await call('POST', '/plugins', { id: 'gq-reader', name: 'Reader', type: 'agent', capabilities: ['task_reading', 'search'] })).status,
      ).to.equal(201);
      const issued = await call('POST', '/plugins/gq-reader/tokens', {});
      const res = await call('POST', '/graph/query', { cypher: 'RETURN 1' }, { authorization: `Bearer ${issued.body.token}` });
      expect(res.status).to.equal(403);
      expect(res.body).to.include({ code: 'MISSING_CAPABILITY', required: 'graph_query' });
    });
  });

  describe('MCP graph_query (tool set all)', () => {
    let mcp: Connected;
    before(async () => (mcp = await connect(app, { toolSet: 'all' })));
    after(async () => mcp?.close());

    it('is served in all, not in standard', async () => {
      const standard = await connect(app, { toolSet: 'standard' });
      try {
        expect((await standard.client.listTools()).tools.map((tool) => tool.name)).to.not.include('graph_query');
      } finally {
        await standard.close();
      }
      const tool = (await mcp.client.listTools()).tools.find((candidate) => candidate.name === 'graph_query');
      expect(tool?.annotations?.readOnlyHint).to.equal(true);
    });

    it('answers rows', async () => {
      const body = ok(
        await callTool(mcp.client, 'graph_query', { cypher: 'MATCH (t:Task {project: $p}) RETURN count(t) AS n', params: { p: 'gq' } }),
      );
      expect(body.rows).to.deep.equal([{ n: 5 }]);
    });

    it('refuses a write as an isError result with its code', async () => {
      refused(await callTool(mcp.client, 'graph_query', { cypher: 'MATCH (t:Task) DETACH DELETE t' }), 'GRAPH_QUERY_REFUSED');
      refused(await callTool(mcp.client, 'graph_query', { cypher: 'MATCH (' }), 'GRAPH_QUERY_INVALID');
    });
  });
});
