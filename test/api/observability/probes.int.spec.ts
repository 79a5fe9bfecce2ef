import { expect } from 'chai';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { until } from './support.js';

/**
 * Kubernetes probes over real HTTP: /health/live answers while the process does; /health/ready answers 503 with its
 * reasons while the SQLite projector trails the log by more than VESPERA_READY_MAX_LAG events, and 200 again once
 * it has caught up. The lag is real: the projector is held while commands append.
 */
describe('Probes (/health/live, /health/ready)', () => {
  let app: TestApp;
  const MAX_LAG = 2;
  before(async () => {
    app = await startTestApp({}, { VESPERA_READY_MAX_LAG: String(MAX_LAG) });
  });
  after(async () => {
    await app?.close();
  });
  const probe = (path: string) => api(app.baseUrl, 'GET', path, undefined, { authorization: '' });

  it('answers /health/live and /health/ready without a token while the server is caught up', async () => {
    const live = await probe('/health/live');
    expect(live.status).to.equal(200);
    expect(live.body).to.deep.equal({ status: 'live' });
    const ready = await probe('/health/ready');
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
    expect(ready.body).to.include({ status: 'ready', ready: true });
    expect(ready.body.reasons).to.deep.equal([]);
    expect(ready.body.projector).to.include({ name: 'sqlite', lag: 0, maxLag: MAX_LAG });
  });

  it('turns not ready (503, with the lag as reason) while the projector lags past the limit, and ready again once it caught up', async () => {
    const release = await app.projector.hold();
    try {
      // Commands straight to the handler: over REST a create would wait for the held read model (read-your-writes).
      for (let i = 0; i <= MAX_LAG; i++) {
        const id = `lag-${i}-${Date.now().toString(36)}`;
        const created = await app.commands.createProject({ projectId: id, name: `Lag ${i}` }, { actor: 'probe-spec', tool: 'spec', commandId: id });
        expect(created.events).to.have.length(1);
      }
      const lagging = await probe('/health/ready');
      expect(lagging.status, JSON.stringify(lagging.body)).to.equal(503);
      expect(lagging.body).to.include({ status: 'not_ready', ready: false });
      expect(lagging.body.projector.lag).to.be.above(MAX_LAG);
      expect(lagging.body.reasons.join(' ')).to.match(/sqlite projector trails the log by \d+ events \(at most 2 allowed\)/);
      expect((await probe('/health/live')).status).to.equal(200);
      // /health keeps its detail and does not count lag as degraded.
      expect((await probe('/health')).status).to.equal(200);
    } finally {
      release();
    }
    const back = await until('readiness to return', async () => {
      const ready = await probe('/health/ready');
      return ready.status === 200 ? ready : undefined;
    });
    expect(back.body.projector.lag).to.be.at.most(MAX_LAG);
  });

  it('reads VESPERA_READY_MAX_LAG as a non-negative integer, 1000 by default', () => {
    expect(loadConfig({}).readyMaxLag).to.equal(1000);
    expect(loadConfig({ VESPERA_READY_MAX_LAG: '0' }).readyMaxLag).to.equal(0);
    expect(() => loadConfig({ VESPERA_READY_MAX_LAG: '-1' }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(/VESPERA_READY_MAX_LAG/);
    expect(() => loadConfig({ VESPERA_READY_MAX_LAG: 'lots' })).to.throw(ConfigError);
  });
});
