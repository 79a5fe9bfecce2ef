import type { Logger } from 'pino';
import type { ReadModelChoice } from '../api/catalog/schemas/adminRebuild.js';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import type { EventStoreSpec } from '../eventstore/spec.js';
import type { JobBody, ProgressReport } from '../jobs/adminJobs.js';
import type { Projector } from '../projections/projector.js';
import { rebuildSqliteBlueGreen } from '../projections/sqlite/blueGreen.js';
import type { SwappableDatabase } from '../projections/sqlite/swappable.js';
import { dataFiles } from './dataFiles.js';

export const eventStoreSpec = (config: Config): EventStoreSpec =>
  config.eventStore === 'sqlite' ? { kind: 'sqlite', path: dataFiles(config.dataDir).events } : { kind: 'eventstoredb', url: config.eventStoreUrl! };

export type RebuildDeps = Readonly<{ config: Config; logger: Logger; projector: Projector; readModel: SwappableDatabase }>;

/** The SQLite read model's blue-green rebuild, reporting progress the way admin jobs and the CLI show it. */
export const rebuildSqlite = (deps: RebuildDeps, report: (p: ProgressReport) => void = () => {}, signal?: AbortSignal) =>
  rebuildSqliteBlueGreen(
    { projector: deps.projector, handle: deps.readModel, file: dataFiles(deps.config.dataDir).readModel, spec: eventStoreSpec(deps.config) },
    { onProgress: (p) => report({ phase: p.phase, eventsDone: p.events, eventsTotal: p.head }), ...(signal ? { signal } : {}) },
  );

/**
 * What `POST /admin/rebuild` runs for a model: refused up front (409) for a model this node cannot rebuild
 * while it runs, so no job is started for it.
 */
export const readModelRebuilds =
  (deps: RebuildDeps) =>
  (model: ReadModelChoice): JobBody => {
    if (model === 'graph' || model === 'vectors') {
      throw new DomainError(
        'MODEL_NOT_REBUILDABLE',
        409,
        `The ${model} read model cannot be rebuilt while the server runs yet; it rebuilds itself at start when its projector version changed.`,
        { model },
        'Rebuild `sqlite` (or `all`, which is the SQLite model on this version) here; stop the server and delete the model to rebuild the others.',
      );
    }
    return async (report, signal) => {
      const started = Date.now();
      const sqlite = await rebuildSqlite(deps, report, signal);
      deps.logger.info({ model: 'sqlite', ...sqlite }, 'read model rebuilt blue-green and swapped in');
      return { models: { sqlite }, seconds: (Date.now() - started) / 1000 };
    };
  };
