import { expect } from 'chai';
import { DependencyHealth } from '../../src/util/dependencyHealth.js';
import { TimeoutError, withTimeout } from '../../src/util/timeout.js';

const never = () => new Promise<never>(() => undefined);
const refused = async (): Promise<never> => {
  throw new Error('refused');
};

describe('withTimeout', () => {
  it('settles like the promise when it answers in time', async () => {
    expect(await withTimeout(Promise.resolve(7), 50, 'x')).to.equal(7);
  });

  it('rejects with a typed 503 DEPENDENCY_TIMEOUT naming what did not answer', async () => {
    const error = await withTimeout(never(), 20, 'Chroma query').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TimeoutError);
    expect(error).to.include({ code: 'DEPENDENCY_TIMEOUT', status: 503, ms: 20 });
    expect((error as Error).message).to.equal('Chroma query did not answer within 20 ms.');
  });
});

describe('DependencyHealth', () => {
  describe('when a call times out', () => {
    it('is down with the timeout as its last error, and up again after the next success', async () => {
      const health = new DependencyHealth('chroma', { timeoutMs: 20 });
      const downs: string[] = [];
      let ups = 0;
      health.onDown((e) => downs.push(e));
      health.onUp(() => ups++);
      await health.call('query', never).catch(() => undefined);
      expect(health.status()).to.include({ name: 'chroma', state: 'down', lastError: 'chroma query did not answer within 20 ms.' });
      expect(downs).to.have.length(1);
      expect(await health.call('query', async () => 'ok')).to.equal('ok');
      expect(health.up).to.equal(true);
      expect(ups).to.equal(1);
    });
  });

  describe('when a call fails with an error that is not an outage', () => {
    it('counts as an answer: the dependency stays up', async () => {
      const health = new DependencyHealth('chroma', { timeoutMs: 50, isOutage: () => false });
      await health.call('query', refused).catch(() => undefined);
      expect(health.up).to.equal(true);
    });
  });

  describe('when its probe fails', () => {
    it('is down whatever the outage rule says about the error', async () => {
      const health = new DependencyHealth('chroma', { timeoutMs: 20, isOutage: () => false, probe: refused });
      await health.probeOnce();
      expect(health.status()).to.include({ state: 'down', lastError: 'refused' });
    });

    it('never overlaps the previous probe', async () => {
      let probes = 0;
      const health = new DependencyHealth('redis', {
        timeoutMs: 20,
        probe: () => {
          probes++;
          return never();
        },
      });
      await Promise.all([health.probeOnce(), health.probeOnce()]);
      expect(probes).to.equal(1);
      expect(health.status()).to.include({ state: 'down', lastError: 'redis probe did not answer within 20 ms.' });
    });

    it('is noticed back up by the interval probe, with nothing else calling it', async () => {
      let answering = false;
      const health = new DependencyHealth('redis', { timeoutMs: 20, probeIntervalMs: 10, probe: async () => (answering ? 'PONG' : refused()) });
      health.startProbing();
      try {
        await new Promise((r) => setTimeout(r, 40));
        expect(health.up).to.equal(false);
        answering = true;
        await new Promise((r) => setTimeout(r, 40));
        expect(health.up).to.equal(true);
      } finally {
        health.stop();
      }
    });
  });
});
