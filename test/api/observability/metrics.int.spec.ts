import { expect } from 'chai';
import { EMBED_QUEUE } from '../../../src/jobs/embedJob.js';
import { createMetrics } from '../../../src/api/metrics.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { until } from './support.js';

/** The value of one sample in Prometheus text exposition, or undefined when the series is absent. */
const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
};

/**
 * /metrics as Prometheus scrapes it: the HTTP request histogram by method, route pattern and status; queue depth per
 * job queue; active leases and lease expiries; embeddings pending; and (from the feed's stats) feed connections and
 * dropped consumers. Each series is checked to appear and to move with what it counts.
 */
describe('Metrics (/metrics)', () => {
  describe('of a running server', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ metrics: 'public', leaseScanIntervalMs: 100 });
    });
    after(async () => {
      await app?.close();
    });
    const scrape = async () => {
      const response = await fetch(`${app.baseUrl}/metrics`);
      expect(response.status).to.equal(200);
      return response.text();
    };

    it('counts HTTP requests by method, route pattern and status in vespera_http_request_duration_seconds', async () => {
      const created = { method: 'POST', route: '/api/v1/projects', status: '201' };
      const before = sample(await scrape(), 'vespera_http_request_duration_seconds_count', created) ?? 0;
      for (let i = 0; i < 3; i++)
        expect((await api(app.baseUrl, 'POST', '/api/v1/projects', { id: `m-${i}-${Date.now().toString(36)}`, name: 'M' })).status).to.equal(201);
      expect((await api(app.baseUrl, 'GET', '/api/v1/tasks/0190aaaa-0000-7000-8000-000000000000')).status).to.equal(404);
      const text = await scrape();
      expect(sample(text, 'vespera_http_request_duration_seconds_count', created)).to.equal(before + 3);
      expect(sample(text, 'vespera_http_request_duration_seconds_bucket', { ...created, le: '+Inf' })).to.equal(before + 3);
      expect(sample(text, 'vespera_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/tasks/:id', status: '404' })).to.equal(1);
      expect(text).to.not.include('0190aaaa-0000-7000-8000-000000000000');
    });

    it('reports the depth of each job queue in vespera_queue_depth, and it rises with a waiting job', async () => {
      const labels = { queue: EMBED_QUEUE, state: 'waiting' };
      expect(sample(await scrape(), 'vespera_queue_depth', labels)).to.equal(0);
      expect(sample(await scrape(), 'vespera_queue_depth', { queue: 'maintenance', state: 'active' })).to.be.a('number');
      // Vectors are off, so nothing consumes the embeddings queue: the job waits there until the app stops.
      app.background.queue.run(EMBED_QUEUE, 'metrics-spec-job', { projectId: 'none' }).catch(() => undefined);
      expect(sample(await scrape(), 'vespera_queue_depth', labels)).to.equal(1);
    });

    it('reports embeddings pending (0 with vectors off)', async () => {
      expect(sample(await scrape(), 'vespera_embeddings_pending')).to.equal(0);
    });

    it('counts active leases, and the lease expiry that returns one to the ready queue', async function () {
      this.timeout(30_000);
      const text = await scrape();
      expect(sample(text, 'vespera_active_leases')).to.equal(0);
      expect(sample(text, 'vespera_lease_expiries_total')).to.equal(0);
      const task = await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: 'Leased for the metrics spec' });
      expect(task.status).to.equal(201);
      const claim = await api(app.baseUrl, 'POST', `/api/v1/tasks/${task.body.id}/claim`, { agent: 'metrics-agent', leaseSeconds: 10 });
      expect(claim.status, JSON.stringify(claim.body)).to.equal(200);
      expect(sample(await scrape(), 'vespera_active_leases')).to.equal(1);
      const expired = await until(
        'the lease to expire',
        async () => {
          const now = await scrape();
          return sample(now, 'vespera_lease_expiries_total') === 1 ? now : undefined;
        },
        20_000,
      );
      expect(sample(expired, 'vespera_active_leases')).to.equal(0);
    });
  });

  describe('of the live feed', () => {
    it('exports the feed stats as connections, subscriptions and a dropped-consumer counter that only rises', async () => {
      const stats = { connections: 0, subscriptions: 0, dropped: 0 };
      const metrics = createMetrics(
        () => [],
        async () => 0,
        { feed: () => stats },
      );
      const scrape = async () => (await metrics.render()).body;
      expect(sample(await scrape(), 'vespera_feed_connections')).to.equal(0);
      expect(sample(await scrape(), 'vespera_feed_dropped_consumers_total')).to.equal(0);
      Object.assign(stats, { connections: 3, subscriptions: 5, dropped: 2 });
      let text = await scrape();
      expect(sample(text, 'vespera_feed_connections')).to.equal(3);
      expect(sample(text, 'vespera_feed_subscriptions')).to.equal(5);
      expect(sample(text, 'vespera_feed_dropped_consumers_total')).to.equal(2);
      Object.assign(stats, { connections: 1, dropped: 4 });
      text = await scrape();
      expect(sample(text, 'vespera_feed_connections')).to.equal(1);
      expect(sample(text, 'vespera_feed_dropped_consumers_total')).to.equal(4);
    });

    it('leaves the feed, queue, lease, embedding and usage series out when no source is given', async () => {
      const text = (
        await createMetrics(
          () => [],
          async () => 0,
        ).render()
      ).body;
      for (const name of [
        'vespera_feed_connections',
        'vespera_queue_depth',
        'vespera_active_leases',
        'vespera_lease_expiries_total',
        'vespera_embeddings_pending',
        'vespera_usage_input_tokens_total',
        'vespera_usage_cost_usd_total',
      ])
        expect(text).to.not.include(`# HELP ${name} `);
      expect(text).to.include('vespera_http_request_duration_seconds');
    });
  });
});
