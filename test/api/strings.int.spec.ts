import { expect } from 'chai';
import { call as callTool, connect, ok as toolOk, refused as toolRefused, type Connected } from './mcp/support.js';
import { api, type JsonResponse, startTestApp, type TestApp } from '../support/testApp.js';

/** Issue 10, item 9: text comes back as it was sent, or is refused; NUL is refused everywhere. */
describe('Input strings', () => {
  let app: TestApp;
  let mcp: Connected;
  const call = (method: string, url: string, body?: unknown) => api(app.baseUrl, method, `/api/v1${url}`, body);
  const invalidString = (response: JsonResponse, field: string, problem: RegExp): void => {
    expect(response.status, JSON.stringify(response.body)).to.equal(400);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body).to.include({ code: 'INVALID_STRING', field });
    expect(response.body.detail).to.include(`\`${field}\``).and.match(problem);
    expect(response.body.hint).to.be.a('string').and.not.equal('');
  };

  before(async () => {
    app = await startTestApp();
    mcp = await connect(app);
  });
  after(async () => {
    await mcp?.close();
    await app?.close();
  });

  describe('over REST', () => {
    it('refuses a lone surrogate in a title with 400 INVALID_STRING', async () => {
      invalidString(await call('POST', '/tasks', '{"title":"broken \\ud800 title"}'), 'title', /lone surrogate/);
      invalidString(await call('POST', '/tasks', '{"title":"\\udc00"}'), 'title', /lone surrogate/);
    });

    it('refuses a NUL in a title and in a file path, naming the element', async () => {
      invalidString(await call('POST', '/tasks', { title: 'nul\u0000title' }), 'title', /NUL/);
      invalidString(await call('POST', '/tasks', { title: 'ok', files: ['src/a.ts', 'src/\u0000.ts'] }), 'files.1', /NUL/);
    });

    it('refuses a bad string anywhere in the body, keys included', async () => {
      invalidString(await call('POST', '/tasks', { title: 'ok', metadata: { note: { deep: 'x\ud800' } } }), 'metadata.note.deep', /lone surrogate/);
      invalidString(await call('POST', '/tasks', { title: 'ok', metadata: { 'k\u0000': 1 } }), 'metadata', /NUL/);
    });

    it('refuses a NUL in a query string and in a path parameter', async () => {
      invalidString(await call('GET', '/roles/suitable?files=src/a%00.ts'), 'files.0', /NUL/);
      invalidString(await call('GET', '/tasks/abc%00def'), 'id', /NUL/);
    });

    it('keeps well-formed text, astral characters included, exactly as sent', async () => {
      const title = 'Ship 🚀 naïve 中文 — done';
      const created = await call('POST', '/tasks', { title, files: ['docs/🚀.md'] });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const read = await call('GET', `/tasks/${created.body.id as string}`);
      expect(read.body.title).to.equal(title);
      expect(read.body.files).to.deep.equal(['docs/🚀.md']);
    });
  });

  describe('over MCP', () => {
    it('refuses a lone surrogate and a NUL in tool arguments with INVALID_STRING', async () => {
      expect(toolRefused(await callTool(mcp.client, 'create_task', { title: 'broken \ud800' }), 'INVALID_STRING').details).to.include({
        field: 'title',
      });
      expect(toolRefused(await callTool(mcp.client, 'create_task', { title: 'ok', files: ['a\u0000b'] }), 'INVALID_STRING').details).to.include({
        field: 'files.0',
      });
    });

    it('keeps well-formed astral text', async () => {
      const created = toolOk(await callTool(mcp.client, 'create_task', { title: 'MCP 🚀 task' }));
      expect(toolOk(await callTool(mcp.client, 'get_task', { id: created.id })).title).to.equal('MCP 🚀 task');
    });
  });
});
