import http from 'node:http';
import { expect } from 'chai';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';
import { CAPABILITIES } from '../../src/events/vocabulary.js';

const expectRateLimited = (response: JsonResponse): void => {
  expect(response.status, JSON.stringify(response.body)).to.equal(429);
  expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(response.body).to.include({ status: 429, code: 'RATE_LIMITED' });
  expect(response.headers.get('retry-after')).to.match(/^\d+$/);
  expect(Number(response.headers.get('retry-after'))).to.be.above(0);
};

/** A plain GET from a chosen loopback source address (a second "client IP" on one machine). */
const getFrom = (baseUrl: string, localAddress: string, url: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const target = new URL(url, baseUrl);
    const request = http.get({ host: target.hostname, port: target.port, path: target.pathname, localAddress, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
  });

/** Issues a token in-process, so the limits under test are not spent on setting up. */
const tokenFor = async (app: TestApp, pluginId: string): Promise<string> => {
  const meta = { actor: 'test', tool: 'test', commandId: `rate-${pluginId}-${Date.now()}` };
  await app.plugins.register({ pluginId, name: pluginId, type: 'agent', capabilities: [...CAPABILITIES] }, meta);
  const jti = `jti-${pluginId}`;
  const recorded = await app.plugins.recordToken(
    { pluginId, jti, capabilities: ['task_reading'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    { ...meta, commandId: `${meta.commandId}-token` },
  );
  await app.projector.waitFor(recorded.position, 5000);
  return (await app.tokens.issue(pluginId, ['task_reading'], 3600, jti)).token;
};

describe('Rate limits', () => {
  let app: TestApp;
  const get = (url: string, token?: string) => api(app.baseUrl, 'GET', url, undefined, { authorization: token ? `Bearer ${token}` : '' });

  before(async () => {
    app = await startTestApp({ rateLimitPerMinute: 5, anonymousRateLimitPerMinute: 3 });
  });
  after(() => app?.close());

  describe('per token (5 a minute)', () => {
    let first: string;
    let second: string;
    before(async () => {
      first = await tokenFor(app, 'limited-one');
      second = await tokenFor(app, 'limited-two');
    });

    it('serves the first 5 requests and answers the 6th with 429 RATE_LIMITED and Retry-After', async () => {
      for (let i = 1; i <= 5; i++) expect((await get('/api/v1/tasks', first)).status, `request ${i}`).to.equal(200);
      const sixth = await get('/api/v1/tasks', first);
      expectRateLimited(sixth);
      expect(Number(sixth.headers.get('retry-after'))).to.be.at.most(60);
    });

    it('leaves another token unaffected', async () => {
      expect((await get('/api/v1/tasks', second)).status).to.equal(200);
    });

    it('still answers /health to the limited client', async () => {
      expect((await get('/health', first)).status).to.equal(200);
    });
  });

  describe('per IP for requests without a token (3 a minute)', () => {
    it('answers the 4th anonymous request from one IP with 429, before authentication is even asked for', async () => {
      for (let i = 1; i <= 3; i++) expect((await get('/api/v1/tasks')).status, `request ${i}`).to.equal(401);
      expectRateLimited(await get('/api/v1/tasks'));
    });

    it('keeps public endpoints (health, OpenAPI) out of the anonymous limit', async () => {
      expect((await get('/health')).status).to.equal(200);
      expect((await get('/api/v1/openapi.json')).status).to.equal(200);
    });

    it('does not count token requests against the IP limit', async () => {
      const token = await tokenFor(app, 'limited-three');
      expect((await get('/api/v1/tasks', token)).status).to.equal(200);
    });

    it('limits each IP on its own (another loopback address is still served)', async () => {
      expect(await getFrom(app.baseUrl, '127.0.0.1', '/api/v1/tasks')).to.equal(429);
      expect(await getFrom(app.baseUrl, '127.0.0.2', '/api/v1/tasks')).to.equal(401);
    });
  });

  describe('configuration of the limiter', () => {
    it('sets up the IP limiter without express-rate-limit configuration warnings (IPv6 keys grouped by subnet)', async () => {
      const warnings: string[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => {
        warnings.push(args.map((a) => (a instanceof Error ? `${(a as Error & { code?: string }).code ?? ''} ${a.message}` : String(a))).join(' '));
      };
      let probe: TestApp | undefined;
      try {
        probe = await startTestApp({ rateLimitPerMinute: 5, anonymousRateLimitPerMinute: 3 });
        await api(probe.baseUrl, 'GET', '/api/v1/tasks', undefined, { authorization: '' });
      } finally {
        console.error = original;
        await probe?.close();
      }
      expect(warnings.filter((w) => w.includes('ERR_ERL'))).to.deep.equal([]);
    });
  });

  describe('recovery after the window', () => {
    it('serves a limited token again once the window has passed', async () => {
      const quick = await startTestApp({ rateLimitPerMinute: 2, anonymousRateLimitPerMinute: 2, rateLimitWindowMs: 1000 });
      try {
        const token = await tokenFor(quick, 'recovering');
        const send = () => api(quick.baseUrl, 'GET', '/api/v1/tasks', undefined, { authorization: `Bearer ${token}` });
        expect((await send()).status).to.equal(200);
        expect((await send()).status).to.equal(200);
        const limited = await send();
        expectRateLimited(limited);
        expect(Number(limited.headers.get('retry-after'))).to.equal(1);
        const deadline = Date.now() + 5000;
        let status = limited.status;
        while (status === 429 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          status = (await send()).status;
        }
        expect(status).to.equal(200);
      } finally {
        await quick.close();
      }
    });
  });
});
