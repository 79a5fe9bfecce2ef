import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../support/testApp.js';
import { REDIS_URL, redisAnswers, requireRedis } from '../support/redis.js';
import { freePort } from '../../src/util/freePort.js';

/** A port nothing listens on (yet): taken from the kernel, then let go. */

/** An anonymous request: it spends the per-address budget, then is refused for want of a token. */
const anonymous = (app: TestApp) => api(app.baseUrl, 'GET', '/api/v1/tasks', undefined, { authorization: '' });

describe('Rate limits shared by every node through Redis', () => {
  before(() => requireRedis());

  describe('given two nodes that count in one Redis (3 anonymous requests a minute per address)', () => {
    let nodeA: TestApp;
    let nodeB: TestApp;
    before(async () => {
      const shared = { redisUrl: REDIS_URL, queuePrefix: `rate-${randomUUID()}`, anonymousRateLimitPerMinute: 3 };
      nodeA = await startTestApp(shared);
      nodeB = await startTestApp(shared);
    });
    after(async () => {
      await nodeA?.close();
      await nodeB?.close();
    });

    it('spends one budget: two requests on A and one on B leave none for either', async () => {
      expect((await anonymous(nodeA)).status).to.equal(401);
      expect((await anonymous(nodeA)).status).to.equal(401);
      expect((await anonymous(nodeB)).status).to.equal(401);

      const onB = await anonymous(nodeB);
      const onA = await anonymous(nodeA);

      for (const refused of [onB, onA]) {
        expect(refused.status).to.equal(429);
        expect(refused.body).to.include({ code: 'RATE_LIMITED' });
        expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 60);
      }
    });
  });

  describe('given a node whose Redis is not there', () => {
    let node: TestApp;
    let redis: ChildProcess | undefined;
    let port: number;
    before(async () => {
      port = await freePort();
      node = await startTestApp({ redisUrl: `redis://127.0.0.1:${port}`, queuePrefix: `rate-${randomUUID()}`, anonymousRateLimitPerMinute: 2 });
    });
    after(async () => {
      await node?.close();
      redis?.kill('SIGKILL');
    });

    it('lets requests through uncounted rather than refusing them (fails open)', async () => {
      for (let i = 0; i < 4; i++) expect((await anonymous(node)).status, `request ${i + 1}`).to.equal(401);
    });

    it('counts again, by itself, once Redis answers', async function () {
      this.timeout(20_000);
      // Our own Redis on the port the node was given: the machine's shared one is never stopped or touched.
      redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      const url = `redis://127.0.0.1:${port}`;
      for (let i = 0; i < 100 && !(await redisAnswers(url, 200)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await redisAnswers(url)).to.equal(true);

      // The node reconnects in the background (backing off to 2 s): count until its limit bites.
      const deadline = Date.now() + 15_000;
      let status = 0;
      while (Date.now() < deadline && status !== 429) {
        status = (await anonymous(node)).status;
        if (status !== 429) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).to.equal(429);
    });
  });
});
