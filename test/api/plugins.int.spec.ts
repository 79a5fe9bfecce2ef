import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

const DAY = 86_400;

const expectProblem = (response: JsonResponse, status: number, code: string): void => {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
  expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(response.body.code).to.equal(code);
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const claimsOf = (token: string): { exp: number; iat: number; sub: string; jti: string; capabilities: string[] } =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
const secondsUntil = (iso: string) => (Date.parse(iso) - Date.now()) / 1000;

describe('Plugins API', () => {
  let app: TestApp;
  let plugins = 0;

  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const ok = (response: JsonResponse, status: number): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const register = async (capabilities: string[], extra: Record<string, unknown> = {}) => {
    plugins += 1;
    return ok(await call('POST', '/plugins', { id: `plugin-${plugins}`, name: `Plugin ${plugins}`, type: 'agent', capabilities, ...extra }), 201)
      .body;
  };
  const issue = async (pluginId: string, body: Record<string, unknown> = {}) => ok(await call('POST', `/plugins/${pluginId}/tokens`, body), 201).body;

  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  describe('when a plugin registers', () => {
    it('answers 201 with the plugin, active, with its capabilities', async () => {
      const plugin = await register(['task_reading', 'task_creation']);
      expect(plugin).to.include({ name: `Plugin ${plugins}`, type: 'agent', status: 'active', activeTokens: 0 });
      expect(plugin.capabilities).to.have.members(['task_reading', 'task_creation']);
    });

    it('refuses an unknown capability with 400', async () => {
      expectProblem(await call('POST', '/plugins', { name: 'x', type: 'agent', capabilities: ['world_domination'] }), 400, 'VALIDATION_ERROR');
    });

    it('refuses a second registration under the same id with 409', async () => {
      const plugin = await register(['search']);
      expectProblem(await call('POST', '/plugins', { id: plugin.id, name: 'again', type: 'agent', capabilities: ['search'] }), 409, 'PLUGIN_EXISTS');
    });
  });

  describe('when plugins are listed and fetched', () => {
    it('lists the admin plugin and registered ones', async () => {
      const plugin = await register(['search']);
      const ids = ok(await call('GET', '/plugins?limit=100'), 200).body.items.map((p: { id: string }) => p.id);
      expect(ids).to.include.members(['admin', plugin.id]);
    });

    it('gets one plugin, and 404 for an unknown one', async () => {
      const plugin = await register(['search']);
      expect(ok(await call('GET', `/plugins/${plugin.id}`), 200).body).to.include({ id: plugin.id, status: 'active' });
      expectProblem(await call('GET', '/plugins/nobody-here'), 404, 'PLUGIN_NOT_FOUND');
    });
  });

  describe('when capabilities change', () => {
    it('takes a removed capability away from existing tokens at once (403)', async () => {
      const plugin = await register(['task_reading', 'task_creation']);
      const { token } = await issue(plugin.id);
      ok(await call('GET', '/tasks', undefined, bearer(token)), 200);
      ok(await call('PUT', `/plugins/${plugin.id}/capabilities`, { capabilities: ['task_creation'] }), 200);
      expectProblem(await call('GET', '/tasks', undefined, bearer(token)), 403, 'MISSING_CAPABILITY');
      ok(await call('POST', '/tasks', { title: 'still allowed' }, bearer(token)), 201);
    });

    it('does not give a token a capability it was not issued with when one is added', async () => {
      const plugin = await register(['task_creation']);
      const { token } = await issue(plugin.id);
      ok(await call('PUT', `/plugins/${plugin.id}/capabilities`, { capabilities: ['task_creation', 'task_reading'] }), 200);
      expectProblem(await call('GET', '/tasks', undefined, bearer(token)), 403, 'MISSING_CAPABILITY');
    });
  });

  describe('when a token is issued', () => {
    it('carries all the plugin capabilities by default, and iss/aud/sub/jti claims', async () => {
      const plugin = await register(['task_reading', 'search']);
      const issued = await issue(plugin.id);
      expect(issued.capabilities).to.have.members(['task_reading', 'search']);
      const claims = claimsOf(issued.token) as ReturnType<typeof claimsOf> & { iss: string; aud: string };
      expect(claims).to.include({ iss: 'vespera', aud: 'vespera-api', sub: plugin.id, jti: issued.jti });
    });

    it('may carry a subset of the plugin capabilities', async () => {
      const plugin = await register(['task_reading', 'task_creation']);
      const { token, capabilities } = await issue(plugin.id, { capabilities: ['task_reading'] });
      expect(capabilities).to.deep.equal(['task_reading']);
      ok(await call('GET', '/tasks', undefined, bearer(token)), 200);
      expectProblem(await call('POST', '/tasks', { title: 'no' }, bearer(token)), 403, 'MISSING_CAPABILITY');
    });

    it('refuses a capability the plugin lacks with 422 CAPABILITY_NOT_GRANTED', async () => {
      const plugin = await register(['task_reading']);
      const response = await call('POST', `/plugins/${plugin.id}/tokens`, { capabilities: ['task_reading', 'admin'] });
      expectProblem(response, 422, 'CAPABILITY_NOT_GRANTED');
      expect(response.body.missing).to.deep.equal(['admin']);
    });

    it('lives 24 hours by default', async () => {
      const plugin = await register(['task_reading']);
      const issued = await issue(plugin.id);
      expect(secondsUntil(issued.expiresAt)).to.be.within(DAY - 60, DAY + 1);
      const claims = claimsOf(issued.token);
      expect(claims.exp - claims.iat).to.equal(DAY);
    });

    it('honours a shorter lifetime asked for', async () => {
      const plugin = await register(['task_reading']);
      const issued = await issue(plugin.id, { ttlSeconds: 600 });
      const claims = claimsOf(issued.token);
      expect(claims.exp - claims.iat).to.equal(600);
    });

    it('refuses to issue for a revoked plugin with 409', async () => {
      const plugin = await register(['task_reading']);
      ok(await call('POST', `/plugins/${plugin.id}/revoke`, {}), 200);
      expectProblem(await call('POST', `/plugins/${plugin.id}/tokens`, {}), 409, 'PLUGIN_REVOKED');
    });

    describe('and the server caps lifetimes (tokenMaxTtlSeconds: 3600)', () => {
      let capped: TestApp;
      before(async () => {
        capped = await startTestApp({ tokenMaxTtlSeconds: 3600 });
        ok(
          await api(capped.baseUrl, 'POST', '/api/v1/plugins', { id: 'capped', name: 'capped', type: 'agent', capabilities: ['task_reading'] }),
          201,
        );
      });
      after(() => capped?.close());

      it('caps a longer lifetime asked for', async () => {
        const issued = ok(await api(capped.baseUrl, 'POST', '/api/v1/plugins/capped/tokens', { ttlSeconds: 7 * DAY }), 201).body;
        const claims = claimsOf(issued.token);
        expect(claims.exp - claims.iat).to.equal(3600);
        expect(secondsUntil(issued.expiresAt)).to.be.within(3540, 3601);
      });

      it('caps the default lifetime too', async () => {
        const issued = ok(await api(capped.baseUrl, 'POST', '/api/v1/plugins/capped/tokens', {}), 201).body;
        const claims = claimsOf(issued.token);
        expect(claims.exp - claims.iat).to.equal(3600);
      });
    });
  });

  describe('when a token is refreshed', () => {
    it('answers a fresh token that works, and the old one is refused with 401 at once', async () => {
      const plugin = await register(['task_reading']);
      const old = await issue(plugin.id);
      const fresh = ok(await call('POST', '/plugins/me/token', {}, bearer(old.token)), 201).body;
      expect(fresh.jti).to.not.equal(old.jti);
      expect(fresh.capabilities).to.deep.equal(['task_reading']);
      ok(await call('GET', '/tasks', undefined, bearer(fresh.token)), 200);
      expectProblem(await call('GET', '/tasks', undefined, bearer(old.token)), 401, 'TOKEN_REVOKED');
    });

    it('keeps the subset the old token carried', async () => {
      const plugin = await register(['task_reading', 'task_creation']);
      const old = await issue(plugin.id, { capabilities: ['task_creation'] });
      const fresh = ok(await call('POST', '/plugins/me/token', {}, bearer(old.token)), 201).body;
      expect(fresh.capabilities).to.deep.equal(['task_creation']);
    });
  });

  describe('GET /plugins/me', () => {
    it('says who the token belongs to and what it may do, with the role acted for', async () => {
      const plugin = await register(['task_reading', 'search']);
      const issued = await issue(plugin.id, { capabilities: ['search'] });
      const me = ok(await call('GET', '/plugins/me', undefined, { ...bearer(issued.token), 'x-vespera-role': 'coder' }), 200).body;
      expect(me).to.deep.include({
        actor: plugin.id,
        pluginId: plugin.id,
        jti: issued.jti,
        capabilities: ['search'],
        expiresAt: issued.expiresAt,
        role: 'coder',
      });
    });

    it('refuses a role header that is not a role name with 400', async () => {
      const response = await call('GET', '/plugins/me', undefined, { 'x-vespera-role': 'Not A Role!' });
      expectProblem(response, 400, 'INVALID_HEADER');
    });
  });

  describe('when tokens are sent in the wrong header format', () => {
    let token: string;
    before(async () => {
      token = (await issue((await register(['task_reading'])).id)).token;
    });

    for (const [label, header] of [
      ['the bare token without a scheme', (t: string) => t],
      ['a Basic scheme', (t: string) => `Basic ${Buffer.from(`x:${t}`).toString('base64')}`],
      ['a Token scheme', (t: string) => `Token ${t}`],
      ['two tokens', (t: string) => `Bearer ${t} ${t}`],
      ['a token with a trailing comma', (t: string) => `Bearer ${t},`],
    ] as const) {
      it(`answers 401 TOKEN_MALFORMED to ${label}`, async () => {
        expectProblem(await call('GET', '/tasks', undefined, { authorization: header(token) }), 401, 'TOKEN_MALFORMED');
      });
    }
  });

  describe('when one token is revoked', () => {
    it('refuses it at once with 401 while the plugin’s other tokens keep working', async () => {
      const plugin = await register(['task_reading']);
      const doomed = await issue(plugin.id);
      const kept = await issue(plugin.id);
      expect(ok(await call('POST', `/plugins/${plugin.id}/tokens/${doomed.jti}/revoke`, { reason: 'leaked' }), 200).body).to.include({
        revoked: true,
      });
      expectProblem(await call('GET', '/tasks', undefined, bearer(doomed.token)), 401, 'TOKEN_REVOKED');
      ok(await call('GET', '/tasks', undefined, bearer(kept.token)), 200);
    });

    it('answers 404 TOKEN_NOT_FOUND for a jti never issued to that plugin', async () => {
      const plugin = await register(['task_reading']);
      expectProblem(await call('POST', `/plugins/${plugin.id}/tokens/never-issued/revoke`, {}), 404, 'TOKEN_NOT_FOUND');
    });
  });

  describe('when a whole plugin is revoked', () => {
    it('refuses every token it holds at once with 401, and shows it revoked', async () => {
      const plugin = await register(['task_reading']);
      const a = await issue(plugin.id);
      const b = await issue(plugin.id);
      const revoked = ok(await call('POST', `/plugins/${plugin.id}/revoke`, { reason: 'compromised' }), 200).body;
      expect(revoked).to.include({ status: 'revoked', revokedReason: 'compromised' });
      expectProblem(await call('GET', '/tasks', undefined, bearer(a.token)), 401, 'TOKEN_REVOKED');
      expectProblem(await call('GET', '/tasks', undefined, bearer(b.token)), 401, 'TOKEN_REVOKED');
    });
  });

  describe('event metadata', () => {
    it('records the plugin as actor and the role from X-Vespera-Role in task history', async () => {
      const plugin = await register(['task_creation', 'task_modification', 'task_reading']);
      const { token } = await issue(plugin.id);
      const headers = { ...bearer(token), 'x-vespera-role': 'coder' };
      const task = ok(await call('POST', '/tasks', { title: 'acted for a role' }, headers), 201).body;
      ok(await call('PATCH', `/tasks/${task.id}`, { priority: 'high' }, { ...bearer(token), 'x-vespera-role': 'reviewer' }), 200);
      const history = ok(await call('GET', `/tasks/${task.id}/history`, undefined, bearer(token)), 200).body.items;
      expect(history.map((h: Record<string, unknown>) => [h.type, h.actor, h.role, h.tool])).to.deep.equal([
        ['TaskCreated', plugin.id, 'coder', 'rest'],
        ['TaskUpdated', plugin.id, 'reviewer', 'rest'],
      ]);
    });

    it('records actor, role and tool in the metadata of every event a request causes, projects included', async () => {
      const plugin = await register(['task_creation']);
      const { token } = await issue(plugin.id);
      ok(await call('POST', '/projects', { id: 'acted-for', name: 'Acted for' }, { ...bearer(token), 'x-vespera-role': 'architect' }), 201);
      const [created] = await app.store.readStream('project-acted-for');
      expect(created!.metadata).to.include({ actor: plugin.id, tool: 'rest', role: 'architect' });
    });

    it('records the admin actor and its role in plugin events', async () => {
      const response = ok(
        await call(
          'POST',
          '/plugins',
          { id: 'meta-plugin', name: 'meta', type: 'agent', capabilities: ['search'] },
          { 'x-vespera-role': 'orchestrator' },
        ),
        201,
      );
      expect(response.body.id).to.equal('meta-plugin');
      const [registered] = await app.store.readStream('plugin-meta-plugin');
      expect(registered!.metadata).to.include({ actor: 'admin', tool: 'rest', role: 'orchestrator' });
    });
  });
});

describe('Plugin credentials on disk and across restarts', () => {
  let dataDir: string;
  let config: Config;
  let app: App | undefined;
  let baseUrl: string;

  const start = async () => {
    app = await createApp(config, createLogger(config.logLevel));
    baseUrl = `http://127.0.0.1:${(await app.listen()).port}`;
    return app;
  };
  const adminToken = () => fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-plugins-restart-'));
    config = loadConfig({ VESPERA_LOG_LEVEL: 'silent' }, { dataDir, port: 0, host: '127.0.0.1', sync: 'normal' });
    await start();
  });
  after(async () => {
    await app?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes admin.token with mode 0600', () => {
    expect(fs.statSync(path.join(dataDir, 'admin.token')).mode & 0o777).to.equal(0o600);
  });

  it('writes the generated jwt.secret with mode 0600', () => {
    const file = path.join(dataDir, 'jwt.secret');
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.readFileSync(file, 'utf8').trim().length).to.be.at.least(32);
  });

  describe('when the server restarts on the same data directory', () => {
    let revokedToken: string;
    let revokedPluginToken: string;
    let survivor: string;
    let adminBefore: string;

    before(async () => {
      adminBefore = adminToken();
      const admin = as(adminBefore);
      const reg = (id: string) => api(baseUrl, 'POST', '/api/v1/plugins', { id, name: id, type: 'agent', capabilities: ['task_reading'] }, admin);
      const tok = async (id: string) => (await api(baseUrl, 'POST', `/api/v1/plugins/${id}/tokens`, {}, admin)).body;
      expect((await reg('keeper')).status).to.equal(201);
      expect((await reg('goner')).status).to.equal(201);
      const revoked = await tok('keeper');
      revokedToken = revoked.token;
      survivor = (await tok('keeper')).token;
      revokedPluginToken = (await tok('goner')).token;
      expect((await api(baseUrl, 'POST', `/api/v1/plugins/keeper/tokens/${revoked.jti}/revoke`, {}, admin)).status).to.equal(200);
      expect((await api(baseUrl, 'POST', '/api/v1/plugins/goner/revoke', {}, admin)).status).to.equal(200);
      await app!.stop();
      app = undefined;
      await start();
    });

    it('keeps a revoked token refused', async () => {
      expectProblem(await api(baseUrl, 'GET', '/api/v1/tasks', undefined, as(revokedToken)), 401, 'TOKEN_REVOKED');
    });

    it('keeps the tokens of a revoked plugin refused', async () => {
      expectProblem(await api(baseUrl, 'GET', '/api/v1/tasks', undefined, as(revokedPluginToken)), 401, 'TOKEN_REVOKED');
    });

    it('keeps unrevoked tokens valid (same secret)', async () => {
      expect((await api(baseUrl, 'GET', '/api/v1/tasks', undefined, as(survivor))).status).to.equal(200);
    });

    it('keeps a valid admin token in admin.token, still mode 0600', async () => {
      expect(adminToken()).to.equal(adminBefore);
      expect(fs.statSync(path.join(dataDir, 'admin.token')).mode & 0o777).to.equal(0o600);
      expect((await api(baseUrl, 'GET', '/api/v1/plugins/me', undefined, as(adminToken()))).body).to.include({ actor: 'admin' });
    });
  });

  describe('configuration of the secret', () => {
    it('refuses a VESPERA_JWT_SECRET shorter than 32 characters with a ConfigError', () => {
      expect(() => loadConfig({ VESPERA_JWT_SECRET: 'x'.repeat(31) })).to.throw(ConfigError, /VESPERA_JWT_SECRET must be at least 32 characters/);
    });

    it('accepts a 32-character VESPERA_JWT_SECRET', () => {
      expect(loadConfig({ VESPERA_JWT_SECRET: 'x'.repeat(32) }).jwtSecret).to.equal('x'.repeat(32));
    });

    it('holds no literal secret in the source (static check)', () => {
      const root = path.resolve(import.meta.dirname, '../../src');
      const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => path.join(root, f));
      const literal = /\b\w*secret\w*\b\s*(?::[^=;,)]*)?[=:]\s*(?:new TextEncoder\(\)\.encode\(\s*)?['"`][^'"`]{8,}['"`]/i;
      const signedWithLiteral = /(?:new TokenService|jwtVerify|\.sign)\(\s*(?:\w+,\s*)?(?:new TextEncoder\(\)\.encode\(\s*)?['"`]/;
      const offenders = files.flatMap((file) =>
        fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .map((line, i) => ({ line: line.trim(), at: `${path.relative(root, file)}:${i + 1}` }))
          .filter(({ line }) => !line.startsWith('//') && !line.startsWith('*') && (literal.test(line) || signedWithLiteral.test(line))),
      );
      expect(offenders).to.deep.equal([]);
      expect(files.length).to.be.above(20);
    });
  });
});
