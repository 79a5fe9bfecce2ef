import http from 'node:http';
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/testApp.js';

type Answer = { status: number; code?: string; retryAfter?: string };

/** One request from a chosen loopback source address, so each case spends its own per-IP budget. */
const send = (baseUrl: string, from: string, method: string, url: string, headers: Record<string, string>, body?: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const target = new URL(url, baseUrl);
    const request = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method, headers, localAddress: from, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { code?: string }).code;
          } catch {
            // not JSON: no code
          }
          resolve({
            status: response.statusCode ?? 0,
            ...(code ? { code } : {}),
            ...(response.headers['retry-after'] ? { retryAfter: String(response.headers['retry-after']) } : {}),
          });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });

const INVALID = { authorization: 'Bearer a.b.c' };
const MCP_CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const MCP_HEADERS = { ...INVALID, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('Failed authentication and the anonymous rate limit', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp({ anonymousRateLimitPerMinute: 3, rateLimitPerMinute: 1000 });
  });
  after(() => app?.close());

  describe('when one address sends invalid tokens to the REST API (3 a minute allowed)', () => {
    it('answers the first 3 with 401 and the 4th with 429 RATE_LIMITED and Retry-After', async () => {
      const answers: Answer[] = [];
      for (let i = 0; i < 4; i++) answers.push(await send(app.baseUrl, '127.0.0.11', 'GET', '/api/v1/tasks', INVALID));
      expect(answers.slice(0, 3).map((a) => [a.status, a.code])).to.deep.equal(Array(3).fill([401, 'TOKEN_INVALID']));
      expect(answers[3]).to.include({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(answers[3]!.retryAfter)).to.be.above(0);
    });

    it('counts malformed Authorization headers too', async () => {
      const headers = { authorization: 'Bearer not-a-jwt' };
      for (let i = 0; i < 3; i++) expect((await send(app.baseUrl, '127.0.0.12', 'GET', '/api/v1/tasks', headers)).status).to.equal(401);
      expect((await send(app.baseUrl, '127.0.0.12', 'GET', '/api/v1/tasks', headers)).status).to.equal(429);
    });

    it('still serves a valid token from that address (it has its own budget)', async () => {
      for (let i = 0; i < 4; i++) await send(app.baseUrl, '127.0.0.13', 'GET', '/api/v1/tasks', INVALID);
      const valid = await send(app.baseUrl, '127.0.0.13', 'GET', '/api/v1/tasks', { authorization: `Bearer ${app.adminToken}` });
      expect(valid.status).to.equal(200);
    });

    it('leaves another address unaffected', async () => {
      for (let i = 0; i < 4; i++) await send(app.baseUrl, '127.0.0.14', 'GET', '/api/v1/tasks', INVALID);
      expect((await send(app.baseUrl, '127.0.0.15', 'GET', '/api/v1/tasks', INVALID)).status).to.equal(401);
    });
  });

  describe('when one address sends invalid tokens to the MCP endpoint', () => {
    it('answers 401 until the budget is spent, then 429', async () => {
      const answers: Answer[] = [];
      for (let i = 0; i < 4; i++) answers.push(await send(app.baseUrl, '127.0.0.16', 'POST', '/mcp', MCP_HEADERS, MCP_CALL));
      expect(answers.map((a) => a.status)).to.deep.equal([401, 401, 401, 429]);
    });
  });
});
