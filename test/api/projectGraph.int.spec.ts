import { expect } from 'chai';
import { call as callTool, connect, ok, type Connected } from './mcp/support.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';
import { assertWellFormedXml } from '../support/xml.js';

describe('GET /projects/:projectId/graph (pictures of the dependency graph)', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const create = async (projectId: string, title: string, estimate: number | null) => {
    const res = await call('POST', '/tasks', { title, estimate, projectId });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id as string;
  };
  const depend = async (taskId: string, dependsOn: string, kind = 'hard') => {
    const res = await call('POST', `/tasks/${taskId}/dependencies`, { dependsOn, kind });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
  };

  // Project `pic`: Design (2 h) → Build (3 h) is the critical path; Docs (1 h) waits softly on Design.
  const t: Record<string, string> = {};
  const HOSTILE = 'Say "hi" [x] {y} (z) <script>alert(1)</script> & #1; `tick` end';
  before(async () => {
    app = await startTestApp();
    expect((await call('POST', '/projects', { id: 'pic', name: 'Pictures' })).status).to.equal(201);
    t.design = await create('pic', 'Design', 2);
    t.build = await create('pic', 'Build', 3);
    t.docs = await create('pic', 'Docs', 1);
    await depend(t.build, t.design);
    await depend(t.docs, t.design, 'soft');
    expect((await call('POST', '/projects', { id: 'hostile', name: 'Hostile titles' })).status).to.equal(201);
    t.hostile = await create('hostile', HOSTILE, 1);
    t.multiline = await create('hostile', 'first line\nsecond "line" \\ back', 1);
    await depend(t.multiline, t.hostile);
  });
  after(async () => app?.close());

  describe('format=json (the default)', () => {
    it('answers the nodes with CPM slack, the edges and the critical path', async () => {
      const res = await call('GET', '/projects/pic/graph');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(res.body).to.have.keys('projectId', 'nodes', 'edges', 'criticalPath', 'position');
      expect(res.body.projectId).to.equal('pic');
      expect(res.body.position).to.be.a('number').above(0);
      expect(res.body.nodes).to.deep.equal([
        { id: t.design, title: 'Design', status: 'pending', priority: 'normal', estimate: 2, critical: true, slack: 0 },
        { id: t.build, title: 'Build', status: 'pending', priority: 'normal', estimate: 3, critical: true, slack: 0 },
        { id: t.docs, title: 'Docs', status: 'pending', priority: 'normal', estimate: 1, critical: false, slack: 4 },
      ]);
      expect(res.body.edges).to.deep.equal([
        { from: t.build, to: t.design, kind: 'hard' },
        { from: t.docs, to: t.design, kind: 'soft' },
      ]);
      expect(res.body.criticalPath).to.deep.equal([t.design, t.build]);
    });

    it('answers an existing project without tasks with an empty picture', async () => {
      expect((await call('POST', '/projects', { id: 'empty-pic', name: 'Empty' })).status).to.equal(201);
      const res = await call('GET', '/projects/empty-pic/graph?format=json');
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ projectId: 'empty-pic' });
      expect(res.body.nodes).to.deep.equal([]);
      expect(res.body.criticalPath).to.deep.equal([]);
    });
  });

  describe('format=mermaid', () => {
    it('answers a Mermaid flowchart as text/plain, the critical path marked', async () => {
      const res = await call('GET', '/projects/pic/graph?format=mermaid');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
      expect(res.body).to.equal(
        [
          'flowchart LR',
          '  t1["Design"]',
          '  t2["Build"]',
          '  t3["Docs"]',
          '  t1 --> t2',
          '  t1 -.-> t3',
          '  classDef critical stroke:#d62728,stroke-width:3px',
          '  class t1,t2 critical',
          '  linkStyle 0 stroke:#d62728,stroke-width:3px',
          '',
        ].join('\n'),
      );
    });

    it('writes every quote, bracket, markup character and line break of a title as an entity or a space', async () => {
      const res = await call('GET', '/projects/hostile/graph?format=mermaid');
      expect(res.status).to.equal(200);
      const text = res.body as string;
      expect(text).to.include(
        '  t1["Say #34;hi#34; #91;x#93; #123;y#125; #40;z#41; #60;script#62;alert#40;1#41;#60;/script#62; #38; #35;1#59; #96;tick#96; end"]',
      );
      expect(text).to.include('  t2["first line second #34;line#34; #92; back"]');
      // Nothing of a title survives that could close the label or open markup.
      for (const line of text.split('\n').filter((l) => l.includes('["'))) expect(line.slice(line.indexOf('["') + 2, -2)).to.not.match(/["[\]<>`]/);
    });
  });

  describe('format=dot', () => {
    it('answers a Graphviz digraph as text/vnd.graphviz, the critical path in red', async () => {
      const res = await call('GET', '/projects/pic/graph?format=dot');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/vnd.graphviz; charset=utf-8');
      expect(res.body).to.equal(
        [
          'digraph "pic" {',
          '  rankdir=LR;',
          '  node [shape=box, style="rounded"];',
          `  "${t.design}" [label="Design", color="#d62728", penwidth=2];`,
          `  "${t.build}" [label="Build", color="#d62728", penwidth=2];`,
          `  "${t.docs}" [label="Docs"];`,
          `  "${t.design}" -> "${t.build}" [color="#d62728", penwidth=2];`,
          `  "${t.design}" -> "${t.docs}" [style=dashed];`,
          '}',
          '',
        ].join('\n'),
      );
    });

    it('escapes quotes, backslashes and line breaks of titles', async () => {
      const res = await call('GET', '/projects/hostile/graph?format=dot');
      expect(res.body).to.include(`[label="Say \\"hi\\" [x] {y} (z) <script>alert(1)</script> & #1; \`tick\` end", color="#d62728", penwidth=2];`);
      expect(res.body).to.include(`[label="first line\\nsecond \\"line\\" \\\\ back", color="#d62728", penwidth=2];`);
    });
  });

  describe('format=svg', () => {
    it('answers an SVG drawn in-process that parses as XML and holds the titles', async () => {
      const res = await call('GET', '/projects/pic/graph?format=svg');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('image/svg+xml; charset=utf-8');
      const svg = res.body as string;
      expect(assertWellFormedXml(svg).root).to.equal('svg');
      for (const title of ['Design', 'Build', 'Docs']) expect(svg).to.include(`>${title}</text>`);
      expect(svg).to.include('#d62728');
    });

    it('keeps hostile titles as text: escaped, never markup', async () => {
      const res = await call('GET', '/projects/hostile/graph?format=svg');
      expect(res.status).to.equal(200);
      const svg = res.body as string;
      assertWellFormedXml(svg);
      expect(svg).to.not.include('<script');
      expect(svg).to.include('&lt;script&gt;alert(1)&lt;/script&gt;');
    });
  });

  describe('refusals', () => {
    it('answers 404 PROJECT_NOT_FOUND for a project that does not exist', async () => {
      const res = await call('GET', '/projects/nowhere/graph?format=svg');
      expect(res.status).to.equal(404);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(res.body.code).to.equal('PROJECT_NOT_FOUND');
    });

    it('answers 400 for an unknown format, listing the allowed ones', async () => {
      const res = await call('GET', '/projects/pic/graph?format=png');
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('VALIDATION_ERROR');
      expect(JSON.stringify(res.body)).to.include('json').and.include('mermaid').and.include('dot').and.include('svg');
    });

    it('answers 403 MISSING_CAPABILITY to a token without task_reading', async () => {
      expect(
        (await call('POST', '/plugins', { id: 'graph-writer', name: 'Writer', type: 'agent', capabilities: ['task_creation'] })).status,
      ).to.equal(201);
      const issued = await call('POST', '/plugins/graph-writer/tokens', {});
      expect(issued.status, JSON.stringify(issued.body)).to.equal(201);
      const res = await call('GET', '/projects/pic/graph?format=mermaid', undefined, { authorization: `Bearer ${issued.body.token}` });
      expect(res.status).to.equal(403);
      expect(res.body).to.include({ code: 'MISSING_CAPABILITY', required: 'task_reading' });
    });
  });

  describe('MCP get_project_graph', () => {
    let mcp: Connected;
    before(async () => (mcp = await connect(app, { toolSet: 'standard' })));
    after(async () => mcp?.close());

    it('answers the Mermaid text itself, ready to paste', async () => {
      const result = await callTool(mcp.client, 'get_project_graph', { projectId: 'pic' });
      expect(result.isError ?? false).to.equal(false);
      const text = (result.content[0] as { text: string }).text;
      expect(text.startsWith('flowchart LR\n')).to.equal(true);
      expect(text).to.include('class t1,t2 critical');
      expect(result.structuredContent).to.include({ projectId: 'pic', format: 'mermaid', text });
    });

    it('answers the JSON picture when asked for json', async () => {
      const body = ok(await callTool(mcp.client, 'get_project_graph', { projectId: 'pic', format: 'json' }));
      expect(body.criticalPath).to.deep.equal([t.design, t.build]);
      expect(body.nodes).to.have.length(3);
    });
  });
});
