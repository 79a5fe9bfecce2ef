import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProjectorStatus } from '../projections/projector.js';

/** Figures read at scrape time; each is optional, and a series whose source is absent is not exported. */
export type MetricSources = Readonly<{
  /** The live feed (WebSocket and SSE): open connections, subscriptions, consumers closed for being too slow (cumulative). */
  feed?: () => { connections: number; subscriptions: number; dropped: number };
  /** Jobs waiting and running per job queue (BullMQ when Redis is on, the in-process queue otherwise). */
  queues?: () => Promise<ReadonlyArray<{ queue: string; waiting: number; active: number }>>;
  /** Tasks in progress under a lease, from the read model. */
  activeLeases?: () => number;
  /** Leases this process returned to the ready queue (cumulative). */
  leaseExpiries?: () => number;
  /** Events the vector read model has still to embed (0 while vectors are off). */
  embeddingsPending?: () => Promise<number>;
  /** Reported usage summed per project, from the read model (cumulative: reports are never removed). */
  usage?: () => ReadonlyArray<{ projectId: string; inputTokens: number; outputTokens: number; costUsd: number }>;
}>;

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter that follows a cumulative figure read at scrape time. */
const followingCounter = (registry: Registry, name: string, help: string, read: () => number) => {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > last) this.inc(now - last);
      last = Math.max(last, now);
    },
  });
};

/**
 * A counter per project that shows a cumulative sum of the read model as it is at scrape time. Set, not incremented:
 * a rebuild of the model (or another node's) reads the same sums, so the series never double counts.
 */
const projectTotalCounter = (registry: Registry, name: string, help: string, read: () => ReadonlyArray<{ projectId: string; value: number }>) =>
  new Counter({
    name,
    help,
    labelNames: ['project'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { projectId, value } of read()) this.inc({ project: projectId }, value);
    },
  });

/**
 * Prometheus metrics: process defaults, HTTP request and operation latency, projector position and lag, and when their
 * sources are given the live feed, job queues, leases and embeddings.
 */
export const createMetrics = (projectors: () => readonly ProjectorStatus[], head: () => Promise<number>, sources: MetricSources = {}) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vespera_' });
  const requests = new Histogram({
    name: 'vespera_operation_duration_seconds',
    help: 'Duration of catalog operations',
    labelNames: ['operation', 'surface', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const refusals = new Counter({ name: 'vespera_refusals_total', help: 'Refused operations by code', labelNames: ['code'], registers: [registry] });
  new Gauge({
    name: 'vespera_projector_position',
    help: 'Last log position applied by each projector',
    labelNames: ['projector'],
    registers: [registry],
    collect() {
      for (const p of projectors()) this.set({ projector: p.name }, p.position);
    },
  });
  new Gauge({
    name: 'vespera_projector_lag',
    help: 'Events between the log head and each projector',
    labelNames: ['projector'],
    registers: [registry],
    async collect() {
      const top = await head();
      for (const p of projectors()) this.set({ projector: p.name }, Math.max(0, top - p.position));
    },
  });
  const http = new Histogram({
    name: 'vespera_http_request_duration_seconds',
    help: 'Duration of HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const { feed, queues, activeLeases, leaseExpiries, embeddingsPending, usage } = sources;
  if (feed) {
    new Gauge({
      name: 'vespera_feed_connections',
      help: 'Open live-feed connections (WebSocket and SSE)',
      registers: [registry],
      collect() {
        this.set(feed().connections);
      },
    });
    new Gauge({
      name: 'vespera_feed_subscriptions',
      help: 'Live-feed subscriptions across all connections',
      registers: [registry],
      collect() {
        this.set(feed().subscriptions);
      },
    });
    followingCounter(registry, 'vespera_feed_dropped_consumers_total', 'Live-feed consumers closed for falling behind (4008)', () => feed().dropped);
  }
  if (queues) {
    new Gauge({
      name: 'vespera_queue_depth',
      help: 'Jobs per queue and state (waiting includes delayed)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        for (const q of await queues()) {
          this.set({ queue: q.queue, state: 'waiting' }, q.waiting);
          this.set({ queue: q.queue, state: 'active' }, q.active);
        }
      },
    });
  }
  if (activeLeases) {
    new Gauge({
      name: 'vespera_active_leases',
      help: 'Tasks in progress under a lease',
      registers: [registry],
      collect() {
        this.set(activeLeases());
      },
    });
  }
  if (leaseExpiries) followingCounter(registry, 'vespera_lease_expiries_total', 'Leases expired back to the ready queue', leaseExpiries);
  if (embeddingsPending) {
    new Gauge({
      name: 'vespera_embeddings_pending',
      help: 'Events the vector read model has still to embed',
      registers: [registry],
      async collect() {
        this.set(await embeddingsPending());
      },
    });
  }
  if (usage) {
    const figures = [
      ['vespera_usage_input_tokens_total', 'Input tokens agents reported, per project', 'inputTokens'],
      ['vespera_usage_output_tokens_total', 'Output tokens agents reported, per project', 'outputTokens'],
      ['vespera_usage_cost_usd_total', 'Cost in US dollars agents reported, per project', 'costUsd'],
    ] as const;
    for (const [name, help, field] of figures) {
      projectTotalCounter(registry, name, help, () => usage().map((row) => ({ projectId: row.projectId, value: row[field] })));
    }
  }
  return {
    observeRequest: (method: string, route: string, status: number, seconds: number) => {
      http.observe({ method, route, status: String(status) }, seconds);
    },
    observe: (operation: string, surface: string, seconds: number, code?: string) => {
      requests.observe({ operation, surface, outcome: code ? 'refused' : 'ok' }, seconds);
      if (code) refusals.inc({ code });
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
};

export type Metrics = ReturnType<typeof createMetrics>;
