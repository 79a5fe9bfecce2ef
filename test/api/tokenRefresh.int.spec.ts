import { expect } from 'chai';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const claimsOf = (token: string): { exp: number; iat: number; jti: string } =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
const lifetimeOf = (token: string) => {
  const { exp, iat } = claimsOf(token);
  return exp - iat;
};

describe('Token refresh', () => {
  let app: TestApp;
  let plugins = 0;

  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const ok = (response: JsonResponse, status: number): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const plugin = async () => {
    plugins += 1;
    return ok(
      await call('POST', '/plugins', { id: `refresher-${plugins}`, name: `Refresher ${plugins}`, type: 'agent', capabilities: ['task_reading'] }),
      201,
    ).body.id as string;
  };
  const issue = async (pluginId: string, ttlSeconds?: number) =>
    ok(await call('POST', `/plugins/${pluginId}/tokens`, ttlSeconds === undefined ? {} : { ttlSeconds }), 201).body as {
      token: string;
      jti: string;
      expiresAt: string;
    };
  const refresh = (token: string, body: Record<string, unknown> = {}) => call('POST', '/plugins/me/token', body, bearer(token));

  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  describe('when a short-lived token is refreshed', () => {
    it('answers a token with the same lifetime as the one it replaces (60 s stays 60 s, not the default)', async () => {
      const old = await issue(await plugin(), 60);
      expect(lifetimeOf(old.token)).to.equal(60);
      const fresh = ok(await refresh(old.token), 201).body;
      expect(lifetimeOf(fresh.token)).to.equal(60);
      expect(Date.parse(fresh.expiresAt) - Date.now()).to.be.at.most(61_000);
    });

    it('never lengthens the lifetime, even when ttlSeconds asks for more', async () => {
      const old = await issue(await plugin(), 120);
      const fresh = ok(await refresh(old.token, { ttlSeconds: 86_400 }), 201).body;
      expect(lifetimeOf(fresh.token)).to.equal(120);
    });

    it('may shorten it when ttlSeconds asks for less', async () => {
      const old = await issue(await plugin(), 3600);
      const fresh = ok(await refresh(old.token, { ttlSeconds: 600 }), 201).body;
      expect(lifetimeOf(fresh.token)).to.equal(600);
    });

    it('records the expiry the token carries', async () => {
      const id = await plugin();
      const old = await issue(id, 300);
      const fresh = ok(await refresh(old.token), 201).body;
      const events = await app.store.readStream(`plugin-${id}`);
      const issued = events.filter((e) => e.type === 'TokenIssued').map((e) => e.data as { jti: string; expiresAt: string });
      expect(issued.find((d) => d.jti === fresh.jti)?.expiresAt).to.equal(fresh.expiresAt);
      expect(fresh.expiresAt).to.equal(new Date(claimsOf(fresh.token).exp * 1000).toISOString());
    });
  });

  describe('when one token is refreshed five times at once', () => {
    it('lets exactly one refresh win; the others get 401/409 and no token, and one token is live', async () => {
      const id = await plugin();
      const old = await issue(id);
      const answers = await Promise.all(Array.from({ length: 5 }, () => refresh(old.token)));
      const winners = answers.filter((a) => a.status === 201);
      const losers = answers.filter((a) => a.status !== 201);
      expect(winners, JSON.stringify(answers.map((a) => [a.status, a.body?.code]))).to.have.length(1);
      for (const loser of losers) {
        expect([401, 409], JSON.stringify(loser.body)).to.include(loser.status);
        expect(loser.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(loser.body).to.not.have.property('token');
      }
      expect(ok(await call('GET', `/plugins/${id}`), 200).body.activeTokens).to.equal(1);
      ok(await call('GET', '/tasks', undefined, bearer(winners[0]!.body.token)), 200);
      expect((await call('GET', '/tasks', undefined, bearer(old.token))).status).to.equal(401);
    });

    it('revokes the old token and records the new one in one append', async () => {
      const id = await plugin();
      const old = await issue(id);
      const fresh = ok(await refresh(old.token), 201).body;
      const events = await app.store.readStream(`plugin-${id}`);
      const [revoked, issued] = events.slice(-2);
      expect(revoked).to.deep.include({ type: 'TokenRevoked' });
      expect(revoked!.data).to.include({ jti: old.jti, reason: 'refreshed' });
      expect(issued).to.deep.include({ type: 'TokenIssued' });
      expect(issued!.data).to.include({ jti: fresh.jti, refreshedFrom: old.jti });
      expect(issued!.position - revoked!.position).to.equal(1);
      expect(issued!.metadata.commandId).to.equal(revoked!.metadata.commandId);
    });
  });

  describe('when a plugin holds several tokens and one is refreshed', () => {
    it('revokes only the refreshed one: its other tokens keep working', async () => {
      const id = await plugin();
      const [refreshed, other, third] = [await issue(id), await issue(id), await issue(id)];
      const fresh = ok(await refresh(refreshed.token), 201).body;
      expect((await call('GET', '/tasks', undefined, bearer(refreshed.token))).status).to.equal(401);
      for (const live of [other, third, fresh]) ok(await call('GET', '/tasks', undefined, bearer(live.token)), 200);
      expect(ok(await call('GET', `/plugins/${id}`), 200).body.activeTokens).to.equal(3);
    });
  });

  describe('when a refreshed token is refreshed again', () => {
    it('refuses with 401 TOKEN_REVOKED', async () => {
      const old = await issue(await plugin());
      ok(await refresh(old.token), 201);
      const again = await refresh(old.token);
      expect(again.status).to.equal(401);
      expect(again.body.code).to.equal('TOKEN_REVOKED');
    });
  });
});
