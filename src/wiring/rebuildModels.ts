import type { Logger } from 'pino';
import type { ReadModelChoice } from '../api/catalog/schemas/adminRebuild.js';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import type { EventStoreSpec } from '../eventstore/spec.js';
import type { JobBody, ProgressReport } from '../jobs/adminJobs.js';
import type { GraphModelHandle } from '../projections/graph/remote.js';
import type { Projector } from '../projections/projector.js';
import { rebuildSqliteBlueGreen } from '../projections/sqlite/blueGreen.js';
import type { SwappableDatabase } from '../projections/sqlite/swappable.js';
import { dataFiles } from './dataFiles.js';

export const eventStoreSpec = (config: Config): EventStoreSpec => {
  if (config.eventStore === 'postgres') return { kind: 'postgres', url: config.postgresUrl! };
  if (config.eventStore === 'eventstoredb') return { kind: 'eventstoredb', url: config.eventStoreUrl! };
  return { kind: 'sqlite', path: dataFiles(config.dataDir).events };
};

export type RebuildDeps = Readonly<{ config: Config; logger: Logger; projector: Projector; readModel: SwappableDatabase }>;

/**
 * The SQLite model's rebuild deps plus the graph worker, which rebuilds its own model blue-green, and the vector
 * model's blue-green rebuild when vectors are on (wiring/vectors.ts).
 */
export type ModelRebuildDeps = RebuildDeps &
  Readonly<{
    graph: Pick<GraphModelHandle, 'rebuild'>;
    vectors?: (report: (p: ProgressReport) => void, signal: AbortSignal) => Promise<Record<string, unknown>>;
    /** Whether the auto_embedding service is stopped: the vectors cannot be rebuilt then (texts would wait for it). */
    embeddingsPaused?: () => Promise<boolean>;
  }>;

/** The SQLite read model's blue-green rebuild, reporting progress the way admin jobs and the CLI show it. */
export const rebuildSqlite = (deps: RebuildDeps, report: (p: ProgressReport) => void = () => {}, signal?: AbortSignal) =>
  rebuildSqliteBlueGreen(
    { projector: deps.projector, handle: deps.readModel, file: dataFiles(deps.config.dataDir).readModel, spec: eventStoreSpec(deps.config) },
    { onProgress: (p) => report({ phase: p.phase, eventsDone: p.events, eventsTotal: p.head }), ...(signal ? { signal } : {}) },
  );

/** The graph model's blue-green rebuild in its worker thread, with progress as admin jobs show it. */
const rebuildGraphModel = (deps: ModelRebuildDeps, report: (p: ProgressReport) => void, signal: AbortSignal) => {
  // The log's head as the SQLite projector last saw it: the graph worker reports only how far it read.
  const head = () => {
    const { position, lag } = deps.projector.status();
    return position + lag;
  };
  return deps.graph.rebuild((p) => report({ phase: p.phase, eventsDone: p.events, eventsTotal: Math.max(head(), p.position) }), signal);
};

/**
 * What `POST /admin/rebuild` runs for a model: refused up front (409) for a model this node does not keep (vectors
 * while VESPERA_VECTORS=off) or cannot rebuild now (vectors while auto_embedding is stopped), so no job is started for it. `all` rebuilds SQLite, the graph, then the vectors (which
 * read the SQLite model): one after the other, so the bulk reads of the log do not fight over the same cores.
 */
export const readModelRebuilds =
  (deps: ModelRebuildDeps) =>
  async (model: ReadModelChoice): Promise<JobBody> => {
    const { vectors } = deps;
    if (model === 'vectors' && !vectors) {
      throw new DomainError(
        'VECTORS_OFF',
        409,
        'The vector model is off here (VESPERA_VECTORS=off): there are no vectors to rebuild.',
        { model },
        'Rebuild `sqlite`, `graph` or `all`; start the server with VESPERA_VECTORS=on to keep a vector model.',
      );
    }
    if ((model === 'vectors' || model === 'all') && vectors && (await deps.embeddingsPaused?.())) {
      throw new DomainError(
        'EMBEDDINGS_PAUSED',
        409,
        'The auto_embedding service is stopped, so the vectors cannot be rebuilt now: texts the cache lacks would wait for it.',
        { model },
        'Start it (POST /api/v1/services/auto_embedding/start), then ask again.',
      );
    }
    return async (report, signal) => {
      const started = Date.now();
      const models: Record<string, unknown> = {};
      if (model === 'sqlite' || model === 'all') {
        models.sqlite = await rebuildSqlite(deps, report, signal);
        deps.logger.info({ model: 'sqlite', ...(models.sqlite as object) }, 'read model rebuilt blue-green and swapped in');
      }
      if (model === 'graph' || model === 'all') models.graph = await rebuildGraphModel(deps, report, signal);
      if ((model === 'vectors' || model === 'all') && vectors) models.vectors = await vectors(report, signal);
      return { models, seconds: (Date.now() - started) / 1000 };
    };
  };
