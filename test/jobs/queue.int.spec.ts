import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pino from 'pino';
import { BullQueue } from '../../src/jobs/bullmq.js';
import { openQueue } from '../../src/wiring/background.js';
import { FallbackQueue } from '../../src/jobs/fallback.js';
import { InlineQueue, type JobQueue } from '../../src/jobs/queue.js';
import { loadConfig } from '../../src/config.js';
import { REDIS_URL, requireRedis } from '../support/redis.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

const CLOSED_PORT_URL = 'redis://127.0.0.1:1';

/** The same contract, whichever queue runs it. */
const queueContract = (name: string, open: () => Promise<JobQueue>, cleanup: (q: JobQueue) => Promise<void> = async () => undefined) => {
  describe(name, () => {
    let queue: JobQueue;
    let calls: string[];
    before(async () => {
      queue = await open();
      calls = [];
      await queue.process(
        'echo',
        async (data) => {
          calls.push(String(data.text));
          if (data.failTimes && calls.filter((c) => c === data.text).length <= Number(data.failTimes)) throw new Error('transient');
          return `echo:${String(data.text)}`;
        },
        4,
      );
    });
    after(async () => {
      if (!queue) return; // the before hook failed (and said why): nothing was opened
      await cleanup(queue);
      await queue.close();
    });

    it('runs a job and answers its result', async () => {
      expect(await queue.run('echo', 'job-1', { text: 'a' })).to.equal('echo:a');
    });
    it('collapses jobs queued under the same id', async () => {
      const [x, y] = await Promise.all([queue.run('echo', 'same-id', { text: 'b' }), queue.run('echo', 'same-id', { text: 'b' })]);
      expect([x, y]).to.deep.equal(['echo:b', 'echo:b']);
      expect(calls.filter((c) => c === 'b')).to.have.length(1);
    });
    it('retries a failing job with backoff', async () => {
      expect(await queue.run('echo', 'job-retry', { text: 'c', failTimes: 2 })).to.equal('echo:c');
      expect(calls.filter((c) => c === 'c')).to.have.length(3);
    });
    it('counts completed and failed jobs', async () => {
      const stats = await queue.stats('echo');
      expect(stats.completed).to.be.at.least(3);
      expect(stats.waiting).to.equal(0);
    });
  });
};

describe('Job queue', () => {
  queueContract('in-process', async () => new InlineQueue());

  // BullMQ bounds the wait for a result itself (waitUntilFinished); a paused BullMQ worker may still run a job it fetched.
  it('in-process: gives up on a job that cannot start within its timeout (a paused queue), and runs jobs again once resumed', async () => {
    const queue = new InlineQueue();
    await queue.process('echo', async (data) => `echo:${String(data.text)}`, 1);
    await queue.pause('echo');
    let refused: unknown;
    try {
      await queue.run('echo', 'paused', { text: 'p' }, 100);
    } catch (error) {
      refused = error;
    } finally {
      await queue.resume('echo');
    }
    expect(String(refused), 'a job of a paused queue must not wait forever').to.match(/did not start within 100 ms \(the queue is paused\)/);
    expect((await queue.stats('echo')).waiting).to.equal(0);
    expect(await queue.run('echo', 'resumed', { text: 'd' })).to.equal('echo:d');
    await queue.close();
  });

  const prefix = `vespera-test-${randomUUID().slice(0, 8)}`;
  queueContract(
    'BullMQ on the real Redis at 127.0.0.1:6379',
    async () => {
      await requireRedis();
      return new BullQueue(REDIS_URL, prefix);
    },
    async (q) => (q as BullQueue).obliterate(),
  );

  describe('when REDIS_URL points at a closed port', () => {
    it('falls back to the in-process queue and says why', async () => {
      const queue = await openQueue(loadConfig({ REDIS_URL: CLOSED_PORT_URL, VESPERA_LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
      await queue.process('echo', async (data) => `inline:${String(data.text)}`, 1);
      expect(await queue.run('echo', 'x', { text: 'z' })).to.equal('inline:z');
      expect(queue.health()).to.include({ kind: 'inline', degraded: true });
      await queue.close();
    });

    describe('the whole app', () => {
      let app: TestApp;
      before(async () => {
        app = await startTestApp({ redisUrl: CLOSED_PORT_URL });
      });
      after(async () => app?.close());
      it('keeps accepting writes and reports the queue degraded in /health', async () => {
        expect((await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Still writable without Redis' })).status).to.equal(201);
        const health = (await api(app.baseUrl, 'GET', '/health')).body;
        expect(health.status).to.equal('degraded');
        expect(health.queue).to.include({ kind: 'inline', degraded: true });
      });
    });
  });

  it('FallbackQueue without Redis is an in-process queue that is not degraded', async () => {
    const queue = new FallbackQueue(undefined);
    expect(queue.health()).to.deep.equal({ kind: 'inline', degraded: false });
    await queue.close();
  });
});
