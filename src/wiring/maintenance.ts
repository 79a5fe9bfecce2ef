import type Database from 'better-sqlite3';
import type { Config } from '../config.js';
import type { EventStore } from '../eventstore/eventStore.js';
import type { JobQueue } from '../jobs/queue.js';
import { ScheduledService, type Service } from '../jobs/services.js';
import type { Projector } from '../projections/projector.js';
import { optimizeReadModel } from '../projections/sqlite/readModel.js';

export const MAINTENANCE_QUEUE = 'maintenance';

export type MaintenanceDeps = Readonly<{
  config: Config;
  readDb: Database.Database;
  store: EventStore;
  projectors: () => readonly Projector[];
  /** Always the node's own queue: these jobs maintain this node's read models. */
  queue: JobQueue;
}>;

/** Compares each read model's checkpoint with the log head and re-drives the ones that lag without moving. */
const syncCoordinator = (store: EventStore, projectors: () => readonly Projector[]) => {
  const seen = new Map<string, number>();
  return async () => {
    const head = await store.headPosition();
    const lagging: string[] = [];
    for (const projector of projectors()) {
      const { name, position, running } = projector.status();
      if (running && position < head && seen.get(name) === position) {
        lagging.push(name);
        void projector.catchUp();
      }
      seen.set(name, position);
    }
    return { head, redriven: lagging };
  };
};

export const maintenanceServices = ({ config, readDb, store, projectors, queue }: MaintenanceDeps) => {
  const jobs = new Map<string, () => Promise<Record<string, unknown> | void>>([
    ['index_optimization', async () => optimizeReadModel(readDb)],
    ['sync_coordinator', syncCoordinator(store, projectors)],
  ]);
  void queue.process(MAINTENANCE_QUEUE, async (data) => jobs.get(String(data.job))?.(), 1);
  let slot = 0;
  const viaQueue = (job: string) => async () => (await queue.run(MAINTENANCE_QUEUE, `${job}-${++slot}`, { job })) as Record<string, unknown> | void;

  let cycleJob: (() => Promise<Record<string, unknown> | void>) | undefined;
  const cycleDetection = new ScheduledService(
    'cycle_detection',
    'Looks for dependency cycles across the graph; run by the graph module until it attaches its job here.',
    config.cycleIntervalMs,
    async () => (cycleJob ? viaQueue('cycle_detection')() : undefined),
    () => (cycleJob ? 'running' : 'external'),
  );

  const services: Service[] = [
    new ScheduledService(
      'sync_coordinator',
      'Re-drives any read model whose checkpoint lags the log head.',
      config.syncIntervalMs,
      viaQueue('sync_coordinator'),
    ),
    new ScheduledService(
      'index_optimization',
      'PRAGMA optimize and FTS5 merge on the SQLite read model.',
      config.optimizeIntervalMs,
      viaQueue('index_optimization'),
    ),
    cycleDetection,
  ];
  return {
    services,
    /** The hook: once attached, cycle detection runs as a scheduled job like the others. */
    attachCycleDetection: (job: () => Promise<Record<string, unknown> | void>) => {
      cycleJob = job;
      jobs.set('cycle_detection', job);
    },
  };
};
