import { expect } from 'chai';
import { DASHBOARD_CSP } from '../../src/api/rest/dashboard.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** The files of the dashboard as HTTP serves them (docs/dashboard.md#what-the-server-sends); the browser spec uses them. */
describe('The dashboard files', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${app.baseUrl}${path}`, { headers });

  describe('GET /', () => {
    it('answers the page without a token, with a CSP that allows scripts, styles and connections from this origin only', async () => {
      const response = await get('/');
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).to.equal(DASHBOARD_CSP);
      expect(csp)
        .to.include("default-src 'none'")
        .and.include("script-src 'self'")
        .and.include("connect-src 'self'")
        .and.include("frame-ancestors 'none'");
      expect(csp).not.to.match(/unsafe-inline|unsafe-eval|https?:|\*/);
      expect(response.headers.get('cache-control')).to.equal('no-cache');
      expect(response.headers.get('referrer-policy')).to.equal('no-referrer');
    });

    it('holds no inline script, no inline style and no address of another site', async () => {
      const html = await (await get('/')).text();
      expect(html).to.include('<script type="module" src="/web/main.js"></script>');
      expect([...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!.trim())).to.deep.equal(['']);
      expect(html).not.to.match(/<style|\sstyle=|\son[a-z]+=|https?:\/\//);
    });
  });

  describe('the modules and the libraries', () => {
    it('serves cytoscape and cytoscape-dagre from node_modules as JavaScript, kept a day, without their source-map comment', async () => {
      for (const path of ['/vendor/cytoscape.esm.min.mjs', '/vendor/cytoscape-dagre.min.mjs']) {
        const response = await get(path);
        expect(response.status, path).to.equal(200);
        expect(response.headers.get('content-type'), path).to.equal('text/javascript; charset=utf-8');
        expect(response.headers.get('cache-control'), path).to.equal('public, max-age=86400');
        expect(response.headers.get('x-content-type-options'), path).to.equal('nosniff');
        const body = await response.text();
        expect(body, path).to.include('export').and.not.include('sourceMappingURL');
        expect(body.length, path).to.be.above(10_000);
      }
    });

    it('serves the dashboard modules and stylesheet for revalidation, and 304 for the version the browser holds', async () => {
      const first = await get('/web/main.js');
      expect(first.status).to.equal(200);
      expect(first.headers.get('content-type')).to.equal('text/javascript; charset=utf-8');
      expect(first.headers.get('cache-control')).to.equal('no-cache');
      const etag = first.headers.get('etag')!;
      expect(etag).to.match(/^"[A-Za-z0-9_-]{27}"$/);
      const again = await get('/web/main.js', { 'if-none-match': etag });
      expect(again.status).to.equal(304);
      expect(await again.text()).to.equal('');
      expect((await get('/web/dashboard.css')).headers.get('content-type')).to.equal('text/css; charset=utf-8');
      expect((await get('/web/icon.svg')).headers.get('content-type')).to.equal('image/svg+xml');
    });

    it('answers 404 problem+json for any other path, so a URL never names a file', async () => {
      for (const path of [
        '/web/missing.js',
        '/web/%2e%2e/package.json',
        '/vendor/cytoscape.cjs.js',
        '/web/',
        '/index.html',
        '/node_modules/cytoscape/package.json',
      ]) {
        const response = await get(path);
        expect(response.status, path).to.equal(404);
        expect(response.headers.get('content-type'), path).to.include('application/problem+json');
        expect(((await response.json()) as { code: string }).code, path).to.equal('ROUTE_NOT_FOUND');
      }
    });

    it('needs no token even where the API needs one, and leaves the API as it was', async () => {
      expect((await get('/web/api.js')).status).to.equal(200);
      expect((await get('/api/v1/tasks')).status).to.equal(401);
    });
  });

  describe('with VESPERA_DASHBOARD=off', () => {
    it('serves none of them', async () => {
      const off = await startTestApp({}, { VESPERA_DASHBOARD: 'off' });
      try {
        for (const path of ['/', '/web/main.js', '/vendor/cytoscape.esm.min.mjs']) {
          expect((await fetch(`${off.baseUrl}${path}`)).status, path).to.equal(404);
        }
        expect((await fetch(`${off.baseUrl}/health/live`)).status).to.equal(200);
      } finally {
        await off.close();
      }
    });
  });
});
