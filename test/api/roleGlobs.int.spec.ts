import { expect } from 'chai';
import { call as callTool, connect, refused as toolRefused } from './mcp/support.js';
import { api, type JsonResponse, startTestApp, type TestApp } from '../support/testApp.js';

/** Issue 10: a `role_management` plugin must not be able to store a pattern that freezes the event loop. */
describe('Role file patterns over HTTP', () => {
  let app: TestApp;
  let auth: Record<string, string>;
  let serial = 0;

  const call = (method: string, url: string, body?: unknown) => api(app.baseUrl, method, `/api/v1${url}`, body, auth);
  const expectProblem = (response: JsonResponse, status: number, code: string): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body.code).to.equal(code);
    return response;
  };
  const role = (filePatterns: string[], name = `globs_${++serial}`) => ({
    name,
    description: 'A role with crafted patterns',
    capabilities: ['documentation'],
    filePatterns,
    tools: [],
    maxConcurrentTasks: 2,
    restrictions: { maxFileChanges: 5, maxTaskDepth: 2, requireApproval: false, timeLimitMinutes: 60 },
  });
  /** Wall time of one request, and its answer. */
  const timed = async (request: () => Promise<JsonResponse>): Promise<[JsonResponse, number]> => {
    const started = performance.now();
    const response = await request();
    return [response, performance.now() - started];
  };

  before(async () => {
    app = await startTestApp();
    const plugin = await api(app.baseUrl, 'POST', '/api/v1/plugins', {
      id: 'roles-admin',
      name: 'roles-admin',
      type: 'agent',
      capabilities: ['role_management', 'task_reading'],
    });
    expect(plugin.status, JSON.stringify(plugin.body)).to.equal(201);
    const issued = await api(app.baseUrl, 'POST', '/api/v1/plugins/roles-admin/tokens', { capabilities: ['role_management', 'task_reading'] });
    expect(issued.status, JSON.stringify(issued.body)).to.equal(201);
    auth = { authorization: `Bearer ${issued.body.token as string}` };
  });
  after(async () => app?.close());

  describe('when a role_management plugin defines a role', () => {
    const refusedForms: Array<[what: string, pattern: string, problem: RegExp]> = [
      ['nested quantifiers', '(a+)+b', /regular-expression syntax/],
      ['an extglob', 'src/+(a|aa)/**', /extglob `\+\(`/],
      ['an alternation', 'src/(a|b)/**', /regular-expression syntax/],
      ['nested braces', 'src/{a,{b,c}}/**', /nested `\{`/],
      ['a brace range', 'logs/{1..99999}.txt', /brace ranges/],
      ['a backslash escape', 'src/\\*.ts', /`\\` is not supported/],
      ['a leading negation', '!secrets/**', /negation/],
    ];
    for (const [what, pattern, problem] of refusedForms) {
      it(`refuses ${what} with 400 INVALID_GLOB naming the field`, async () => {
        const body = expectProblem(await call('POST', '/roles', role(['docs/**', pattern])), 400, 'INVALID_GLOB').body;
        expect(body.patterns).to.deep.equal([pattern]);
        expect(body.errors).to.have.length(1);
        expect(body.errors[0].field).to.equal('filePatterns.1');
        expect(body.errors[0].message).to.match(problem);
        expect(body.detail ?? body.message ?? '').to.match(problem);
        expect(body.hint).to.be.a('string').and.not.equal('');
      });
    }

    it('refuses patterns that together expand past 8192 characters', async () => {
      const patterns = Array.from({ length: 40 }, (_, i) => `d${String(i).padStart(2, '0')}/{${'a'.repeat(120)},${'b'.repeat(120)}}/**`);
      const body = expectProblem(await call('POST', '/roles', role(patterns)), 400, 'INVALID_GLOB').body;
      expect(body.errors).to.deep.equal([
        {
          field: 'filePatterns',
          message: '`filePatterns` total 10160 characters once braces are expanded, over the limit of 8192; use fewer or broader patterns',
        },
      ]);
    });

    it('refuses `(a+)+b` on update too, leaving the role as it was', async () => {
      const original = role(['docs/**']);
      expect((await call('POST', '/roles', original)).status).to.equal(201);
      expectProblem(await call('PUT', `/roles/${original.name}`, { ...original, filePatterns: ['(a+)+b'] }), 400, 'INVALID_GLOB');
      expect((await call('GET', `/roles/${original.name}`)).body.filePatterns).to.deep.equal(['docs/**']);
    });

    it('refuses `(a+)+b` through MCP define_role with INVALID_GLOB', async () => {
      const mcp = await connect(app);
      try {
        const error = toolRefused(await callTool(mcp.client, 'define_role', role(['(a+)+b'])), 'INVALID_GLOB');
        expect(error.message).to.match(/regular-expression syntax/);
      } finally {
        await mcp.close();
      }
    });
  });

  describe('when a role holds the slowest patterns the rules allow', () => {
    const slow = role([
      `${'*a'.repeat(255)}b`,
      `*${'a?'.repeat(254)}b*`,
      `*${'a'.repeat(250)}?${'a'.repeat(250)}c*`,
      `**/${'?/'.repeat(29)}b/**`,
      `**/${'*a/'.repeat(29)}b/**`,
    ]);
    const longPath = `${'a'.repeat(1023)}x`;
    const deepPath = `${'a/'.repeat(511)}x`;
    before(async () => expect((await call('POST', '/roles', slow)).status).to.equal(201));

    it('answers /roles/suitable for a 1,024-character path at once', async () => {
      const [response, ms] = await timed(() => call('GET', `/roles/suitable?files=${longPath},${deepPath}&limit=100`));
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      const fit = (response.body.items as Array<{ role: string; filesOutside: string[] }>).find((item) => item.role === slow.name);
      expect(fit?.filesOutside).to.deep.equal([longPath, deepPath]);
      expect(ms).to.be.below(1000);
    });

    it('still answers /health after it', async () => {
      await call('GET', `/roles/suitable?files=${longPath}`);
      const [health, ms] = await timed(() => api(app.baseUrl, 'GET', '/health'));
      expect(health.status).to.equal(200);
      expect(ms).to.be.below(1000);
    });

    it('refuses a path longer than 1,024 characters with 400 VALIDATION_ERROR', async () => {
      expectProblem(await call('GET', `/roles/suitable?files=${'a'.repeat(1025)}`), 400, 'VALIDATION_ERROR');
    });
  });
});
