import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProjectorStatus } from '../projections/projector.js';

/** Prometheus metrics: process defaults, request latency per operation, projector position and lag. */
export const createMetrics = (projectors: () => readonly ProjectorStatus[], head: () => Promise<number>) => {
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
  return {
    observe: (operation: string, surface: string, seconds: number, code?: string) => {
      requests.observe({ operation, surface, outcome: code ? 'refused' : 'ok' }, seconds);
      if (code) refusals.inc({ code });
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
};

export type Metrics = ReturnType<typeof createMetrics>;
