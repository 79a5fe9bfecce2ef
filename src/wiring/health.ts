import type { EventStore } from '../eventstore/eventStore.js';
import { withTimeout } from '../util/timeout.js';
import type { GraphModelHandle } from '../projections/graph/remote.js';
import type { Projector } from '../projections/projector.js';
import { VERSION } from '../version.js';
import type { Background } from './background.js';

export type HealthDeps = Readonly<{ store: EventStore; projector: Projector; graph: GraphModelHandle; background: Background }>;

/**
 * What /health answers: every projector's lag behind the log, the graph's cycle check, the dependencies that stopped
 * answering (Kuzu worker, Chroma, Redis, the embedder) and why the server is degraded; `down` when the log itself
 * does not answer.
 */
export const healthReport = ({ store, projector, graph, background }: HealthDeps) => {
  return async () => {
    try {
      const head = await store.headPosition();
      const projectors = [projector.status(), graph.projector.status(), ...background.projectorStatuses()].map((p) => ({
        ...p,
        lag: Math.max(0, head - p.position),
      }));
      const cycles = graph.cycles();
      const graphHealth = {
        cycles: cycles?.cycles ?? 0,
        checkedAt: cycles?.checkedAt ?? null,
        ...(cycles?.cycle ? { cycle: cycles.cycle.slice(0, 20) } : {}),
      };
      const { degraded: _degraded, reasons: backgroundReasons, dependencies, ...backgroundHealth } = await background.health();
      const graphWorker = graph.health();
      const reasons = [
        ...projectors
          .filter((p) => !p.running || p.lastError)
          .map((p) => `the ${p.name} projector ${p.lastError ? `fails: ${p.lastError}` : 'is not running'}`),
        ...(graphHealth.cycles > 0 ? [`the dependency graph holds ${graphHealth.cycles} cycle(s)`] : []),
        ...(graphWorker.state === 'down' ? [`${graphWorker.name} is not answering: ${graphWorker.lastError ?? 'unknown'}`] : []),
        ...backgroundReasons,
      ];
      return {
        status: reasons.length > 0 ? ('degraded' as const) : ('ok' as const),
        reasons,
        version: VERSION,
        eventStore: { kind: store.kind, headPosition: head },
        projectors,
        graph: graphHealth,
        dependencies: [graphWorker, ...dependencies],
        ...backgroundHealth,
      };
    } catch (error) {
      return {
        status: 'down' as const,
        version: VERSION,
        eventStore: { kind: store.kind, error: (error as Error).message },
        projectors: [projector.status()],
      };
    }
  };
};

export type ReadinessDeps = Readonly<{
  store: EventStore;
  projector: Projector;
  maxLag: number;
  timeoutMs?: number;
  /** True once shutdown began (SIGTERM): the server is taken out of rotation while it drains. */
  stopping?: () => boolean;
}>;

/**
 * What /health/ready answers: ready while the event store answers (within `timeoutMs`) and the SQLite projector, which
 * every read waits for, trails the log by at most `maxLag` events (VESPERA_READY_MAX_LAG). Graph, vectors, Chroma and
 * Redis are left out: the API answers without them (degraded, as /health says), so taking the pod out would not help.
 */
export const readinessReport = ({ store, projector, maxLag, timeoutMs = 2000, stopping }: ReadinessDeps) => {
  return async () => {
    const reasons: string[] = stopping?.() ? ['the server is shutting down'] : [];
    let head: number | undefined;
    try {
      head = await withTimeout(store.headPosition(), timeoutMs, 'the event store');
    } catch (error) {
      reasons.push(`the event store does not answer: ${(error as Error).message}`);
    }
    const status = projector.status();
    const lag = head === undefined ? undefined : Math.max(0, head - status.position);
    if (!status.running) reasons.push(`the ${status.name} projector is not running`);
    if (lag !== undefined && lag > maxLag) reasons.push(`the ${status.name} projector trails the log by ${lag} events (at most ${maxLag} allowed)`);
    return {
      ready: reasons.length === 0,
      reasons,
      ...(head === undefined ? {} : { headPosition: head }),
      projector: { name: status.name, position: status.position, ...(lag === undefined ? {} : { lag }), maxLag },
    };
  };
};
