import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import helmet from 'helmet';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** The headers helmet's defaults set, as a plain express app with helmet() sends them. */
const helmetHeaders = async (): Promise<Map<string, string>> => {
  const app = express();
  app.use(helmet());
  app.get('/', (_req, res) => void res.json({}));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const plain = new Set(['content-type', 'content-length', 'etag', 'date', 'connection', 'keep-alive']);
    return new Map([...response.headers].filter(([name]) => !plain.has(name)));
  } finally {
    server.close();
  }
};

describe('Security headers', () => {
  let app: TestApp;
  let expected: Map<string, string>;
  before(async () => {
    [app, expected] = await Promise.all([startTestApp(), helmetHeaders()]);
  });
  after(async () => app?.close());

  const headersOf = async (path: string, authorized: boolean) =>
    (await fetch(`${app.baseUrl}${path}`, { headers: authorized ? { authorization: `Bearer ${app.adminToken}` } : {} })).headers;

  for (const [what, path, authorized] of [
    ['a probe', '/health/live', false],
    ['an API answer', '/api/v1/tasks', true],
    ['a refusal', '/api/v1/tasks', false],
    ['an unknown route', '/api/v1/nothing-here', true],
  ] as const) {
    it(`sends every header helmet's defaults set, with the same value, on ${what}`, async () => {
      expect(expected.size, 'headers helmet sets').to.be.greaterThan(10);
      const headers = await headersOf(path, authorized);
      for (const [name, value] of expected) expect(headers.get(name), name).to.equal(value);
      expect(headers.get('x-powered-by')).to.equal(null);
    });
  }
});
