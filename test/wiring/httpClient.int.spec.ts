import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { httpClient, Refusal, Unreachable } from '../../src/wiring/httpClient.js';

type Seen = { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string };

/** The CLI's HTTP client against a stand-in server on 127.0.0.1:0 that answers what each test tells it to. */
describe('The CLI’s HTTP client', () => {
  let server: http.Server;
  let base: string;
  let dataDir: string;
  let answer: { status: number; type: string; body: string };
  let seen: Seen;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-http-'));
    fs.writeFileSync(path.join(dataDir, 'admin.token'), 'admin-token\n');
  });
  beforeEach(() => {
    answer = { status: 200, type: 'application/json', body: '{"ok":true}' };
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends the admin token of the data directory, the role, a JSON body and the query (arrays as comma lists) below /api/v1', async () => {
    const client = httpClient({ dataDir, env: { VESPERA_URL: `${base}/`, VESPERA_ROLE: 'coder' } });
    expect(
      await client.request('POST', '/tasks', { query: { status: ['pending', 'blocked'], limit: 5, skip: undefined }, body: { title: 'x' } }),
    ).to.deep.equal({
      ok: true,
    });
    expect(seen.method).to.equal('POST');
    expect(seen.url).to.equal('/api/v1/tasks?status=pending%2Cblocked&limit=5');
    expect(seen.headers).to.include({ authorization: 'Bearer admin-token', 'x-vespera-role': 'coder', 'content-type': 'application/json' });
    expect(JSON.parse(seen.body)).to.deep.equal({ title: 'x' });
  });

  it('takes VESPERA_TOKEN before VESPERA_TOKEN_FILE before the admin token', async () => {
    const file = path.join(dataDir, 'agent.token');
    fs.writeFileSync(file, ' from-file \n');
    await httpClient({ dataDir, env: { VESPERA_URL: base, VESPERA_TOKEN_FILE: file } }).request('GET', '/tasks');
    expect(seen.headers.authorization).to.equal('Bearer from-file');
    await httpClient({ dataDir, env: { VESPERA_URL: base, VESPERA_TOKEN_FILE: file, VESPERA_TOKEN: 'from-env' } }).request('GET', '/tasks');
    expect(seen.headers.authorization).to.equal('Bearer from-env');
  });

  it('turns a problem+json answer into a Refusal with its status, code, detail and document', async () => {
    answer = {
      status: 409,
      type: 'application/problem+json',
      body: JSON.stringify({ status: 409, code: 'DEPENDENCY_CYCLE', detail: 'Would close a cycle.', hint: 'Remove one.', cycle: ['a', 'b'] }),
    };
    const refusal = await httpClient({ dataDir, env: { VESPERA_URL: base } })
      .request('POST', '/tasks/a/dependencies')
      .catch((error: unknown) => error);
    expect(refusal).to.be.instanceOf(Refusal);
    expect(refusal).to.include({ status: 409, code: 'DEPENDENCY_CYCLE', detail: 'Would close a cycle.' });
    expect((refusal as Refusal).problem.cycle).to.deep.equal(['a', 'b']);
  });

  it('names an answer that is not a problem document (a proxy’s 502 page) by its status', async () => {
    answer = { status: 502, type: 'text/html', body: '<h1>Bad gateway</h1>' };
    const refusal = await httpClient({ dataDir, env: { VESPERA_URL: base } })
      .request('GET', '/tasks')
      .catch((error: unknown) => error);
    expect(refusal).to.be.instanceOf(Refusal);
    expect(refusal).to.include({ status: 502, code: 'HTTP_502', detail: '<h1>Bad gateway</h1>' });
  });

  it('is Unreachable when neither VESPERA_URL nor a live server.json names a server, before reading any token', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-http-empty-'));
    try {
      expect(() => httpClient({ dataDir: empty, env: {} })).to.throw(Unreachable, /No server is running on/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('finds the server in server.json when VESPERA_URL is unset', async () => {
    fs.writeFileSync(path.join(dataDir, 'server.json'), JSON.stringify({ pid: process.pid, url: base, startedAt: new Date().toISOString() }));
    try {
      await httpClient({ dataDir, env: {} }).request('GET', '/tasks/ready');
      expect(seen.url).to.equal('/api/v1/tasks/ready');
    } finally {
      fs.rmSync(path.join(dataDir, 'server.json'));
    }
  });

  it('refuses a token file that holds no token with a ConfigError naming it', () => {
    const file = path.join(dataDir, 'blank.token');
    fs.writeFileSync(file, '\n');
    expect(() => httpClient({ dataDir, env: { VESPERA_URL: base, VESPERA_TOKEN_FILE: file } })).to.throw(
      ConfigError,
      /blank\.token, which holds no token/,
    );
  });

  it('refuses a VESPERA_URL that is not an http(s) URL with a ConfigError (a usage error, not a missing server)', () => {
    expect(() => httpClient({ dataDir, env: { VESPERA_URL: 'localhost 3000' } })).to.throw(
      ConfigError,
      /VESPERA_URL names "localhost 3000", which is not a URL/,
    );
    expect(() => httpClient({ dataDir, env: { VESPERA_URL: 'ftp://127.0.0.1' } })).to.throw(ConfigError, /Vespera speaks http: or https:/);
  });

  it('is Unreachable when the server gives no answer in time', async () => {
    const silent = http.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const error = await httpClient({ dataDir, env: { VESPERA_URL: url }, timeoutMs: 200 })
        .request('GET', '/tasks')
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(Unreachable);
      expect((error as Error).message).to.include('no answer in time');
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
