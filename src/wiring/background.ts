import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { BullQueue, pingRedis } from '../jobs/bullmq.js';
import { EMBED_QUEUE } from '../jobs/embedJob.js';
import { FallbackQueue } from '../jobs/fallback.js';
import { ServiceRegistry, type Service } from '../jobs/services.js';
import type { Projector, ProjectorStatus } from '../projections/projector.js';
import { findDuplicates, type SemanticIndex } from '../queries/search/search.js';
import type { DependencyStatus } from '../util/dependencyHealth.js';
import { withTimeout } from '../util/timeout.js';
import { maintenanceServices } from './maintenance.js';
import { startVectors, type VectorRuntime } from './vectors.js';

/** The duplicate warning on create: the close tasks, or why the check was skipped. */
export type DuplicateWarning = { items: ReadonlyArray<{ id: string; title: string; similarity: number }>; skipped?: string };

export type BackgroundDeps = Readonly<{ config: Config; logger: Logger; store: EventStore; readDb: Database.Database; sqlite: Projector }>;

/** Opens BullMQ when REDIS_URL answers, else the in-process queue (reporting why). */
export const openQueue = async (config: Config, logger: Logger): Promise<FallbackQueue> => {
  if (!config.redisUrl) return new FallbackQueue(undefined);
  try {
    await pingRedis(config.redisUrl);
    return new FallbackQueue(
      new BullQueue(config.redisUrl, config.queuePrefix, { timeoutMs: config.redisTimeoutMs, probeIntervalMs: config.probeIntervalMs }),
    );
  } catch (error) {
    logger.warn({ err: error }, 'Redis is not reachable; background jobs run in-process');
    return new FallbackQueue(undefined, `Redis at ${config.redisUrl} unreachable at start (${(error as Error).message}); jobs run in-process`);
  }
};

/** The auto_embedding service: the embedding-job workers (pausing it leaves jobs queued, nothing lost). */
const autoEmbedding = (queue: FallbackQueue, vectors: VectorRuntime | undefined): Service => {
  let running = true;
  return {
    name: 'auto_embedding',
    description: 'Embeds new and changed task texts for the vector read model (jobs keyed <taskId>-<contentHash>).',
    start: async () => {
      running = true;
      await queue.resume(EMBED_QUEUE);
    },
    stop: async () => {
      running = false;
      await queue.pause(EMBED_QUEUE);
    },
    status: async () => ({
      name: 'auto_embedding',
      description: 'Embeds new and changed task texts for the vector read model.',
      state: vectors ? (running ? 'running' : 'stopped') : 'stopped',
      runs: vectors?.cache.stats().computed ?? 0,
      lastRunAt: null,
      lastError: vectors ? null : 'vectors are disabled (VESPERA_VECTORS=off)',
      details: { queue: await queue.stats(EMBED_QUEUE), ...queue.health() },
    }),
  };
};

/** Queue, vector read model and services, started together and stopped together. */
export const startBackground = async ({ config, logger, store, readDb, sqlite }: BackgroundDeps) => {
  const queue = await openQueue(config, logger.child({ component: 'jobs' }));
  const vectors = config.vectors === 'on' ? await startVectors({ config, logger, store, readDb, sqlite, queue }) : undefined;
  const projectors = () => [sqlite, ...(vectors?.projector ? [vectors.projector] : [])];
  const services = new ServiceRegistry();
  services.add(autoEmbedding(queue, vectors));
  const maintenance = maintenanceServices({ config, readDb, store, projectors, queue: queue.inline });
  for (const service of maintenance.services) services.add(service);
  await services.startAll();

  const index: SemanticIndex | undefined = vectors && {
    timeoutMs: config.chromaQueryTimeoutMs,
    available: () => vectors.available(),
    embedQuery: (text) => vectors.embedQuery(text),
    query: (vector, opts) => vectors.store!.query(vector, opts),
    vectors: (projectId, ids) => vectors.store!.vectors(projectId, ids),
  };

  let duplicateChecksInFlight = 0;
  return {
    queue,
    vectors,
    services,
    index,
    /**
     * For `possibleDuplicates` on create: never throws, and never takes longer than `duplicateCheckMs` (it runs beside the
     * append, so it delays the acknowledgement by at most that); `skipped` says why there is no answer.
     */
    duplicates: async (input: { title: string; description?: string; projectId?: string }): Promise<DuplicateWarning> => {
      if (!index) return { items: [], skipped: 'vectors are disabled (VESPERA_VECTORS=off)' };
      // Under a burst of creates the checks queue behind one query embedder: past the cap, answer at once instead of
      // making every create wait out the budget for a check that would not finish in it.
      if (duplicateChecksInFlight >= config.duplicateChecksInFlight)
        return {
          items: [],
          skipped: `the duplicate check is busy (${duplicateChecksInFlight} checks in flight, VESPERA_DUPLICATE_CHECKS_IN_FLIGHT)`,
        };
      duplicateChecksInFlight += 1;
      try {
        const found = await withTimeout(
          findDuplicates(readDb, index, { ...input, threshold: config.duplicateThreshold }),
          config.duplicateCheckMs,
          'the duplicate check',
        );
        return found.reason ? { items: [], skipped: found.reason } : { items: found.items };
      } catch (error) {
        return { items: [], skipped: (error as Error).message };
      } finally {
        duplicateChecksInFlight -= 1;
      }
    },
    /** Lets the graph team hand cycle detection over as a scheduled job. */
    attachCycleDetection: maintenance.attachCycleDetection,
    projectorStatuses: (): ProjectorStatus[] =>
      config.vectors === 'on'
        ? [vectors?.projector?.status() ?? { name: 'vectors', version: 1, position: 0, lag: 0, running: false, lastError: 'starting' }]
        : [],
    health: async () => {
      const vectorStatus = vectors?.status();
      const queueHealth = { ...queue.health(), embeddings: await queue.stats(EMBED_QUEUE) };
      const list = await services.list();
      const dependencies: DependencyStatus[] = [...(vectors?.dependencies() ?? []), ...queue.dependencies()];
      const down = dependencies.filter((d) => d.state === 'down');
      const reasons = [
        ...down.map((d) => `${d.name} is not answering: ${d.lastError ?? 'unknown'}`),
        ...(vectorStatus && vectorStatus.chroma.state !== 'up' && !down.some((d) => d.name === 'chroma')
          ? [`chroma is ${vectorStatus.chroma.state}`]
          : []),
        ...(queueHealth.degraded && !down.some((d) => d.name === 'redis') ? [`job queue: ${queueHealth.reason ?? 'degraded'}`] : []),
      ];
      return {
        degraded: reasons.length > 0,
        reasons,
        dependencies,
        vectors: vectorStatus ?? { enabled: false },
        queue: queueHealth,
        services: list.map((s) => ({ name: s.name, state: s.state, lastError: s.lastError })),
      };
    },
    stop: async () => {
      await services.stopAll();
      await vectors?.stop();
      await queue.close();
    },
  };
};

export type Background = Awaited<ReturnType<typeof startBackground>>;
