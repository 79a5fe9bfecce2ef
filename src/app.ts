import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { buildCatalog, type AnyOperation } from './api/catalog/index.js';
import { httpApp } from './api/rest/server.js';
import { compileValidators } from './api/validation.js';
import { CommandHandler } from './commands/handler.js';
import { projectCommands, type ProjectCommands } from './commands/project/commands.js';
import { projectDecider, type ProjectCommand } from './commands/project/decider.js';
import type { ProjectState } from './commands/project/project.js';
import type { Config } from './config.js';
import type { ProjectEvent } from './events/project.js';
import type { EventStore } from './eventstore/eventStore.js';
import { EventStoreDbEventStore } from './eventstore/eventstoredb.js';
import { SqliteEventStore } from './eventstore/sqlite.js';
import { Projector } from './projections/projector.js';
import { SqliteProjection } from './projections/sqlite/projection.js';
import { openReadModel } from './projections/sqlite/readModel.js';
import { projectOfTask } from './queries/tasks.js';

export const VERSION = '0.1.0';

export const dataFiles = (dataDir: string) => ({
  events: path.join(dataDir, 'events.db'),
  readModel: path.join(dataDir, 'read.db'),
});

export const openEventStore = (config: Config): EventStore => {
  if (config.eventStore === 'eventstoredb') return new EventStoreDbEventStore({ url: config.eventStoreUrl! });
  return new SqliteEventStore({ path: dataFiles(config.dataDir).events, synchronous: config.sync });
};

export type App = Readonly<{
  config: Config;
  store: EventStore;
  readDb: Database.Database;
  projector: Projector;
  commands: ProjectCommands;
  operations: readonly AnyOperation[];
  server: http.Server;
  /** Starts listening; resolves to the bound address (port 0 picks a free one). */
  listen: () => Promise<AddressInfo>;
  stop: () => Promise<void>;
}>;

/** The composition root: every component is built here, once, and handed to whoever needs it. */
export const createApp = async (config: Config, logger: Logger): Promise<App> => {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const store = openEventStore(config);
  const readDb = openReadModel(dataFiles(config.dataDir).readModel);
  const projector = new Projector(store, new SqliteProjection(readDb), logger.child({ component: 'projector' }));
  await projector.start();

  const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({
    store,
    decider: projectDecider({ maxDepth: config.maxDepth, maxTreeNodes: config.maxTreeNodes }),
  });
  const waitForReadModel = (position: number) => projector.waitFor(position, config.readWaitMs);
  const locateTask = async (taskId: string) => {
    const known = projectOfTask(readDb, taskId);
    if (known) return known;
    await waitForReadModel(await store.headPosition());
    return projectOfTask(readDb, taskId);
  };
  const commands = projectCommands({ handler, locateTask, newId: uuidv7, now: () => new Date().toISOString() });
  const operations = buildCatalog({ commands, readDb, waitForReadModel });
  const validators = compileValidators(operations);

  const health = async () => {
    try {
      const head = await store.headPosition();
      const projectors = [projector.status()].map((p) => ({ ...p, lag: Math.max(0, head - p.position) }));
      const lagging = projectors.some((p) => !p.running || p.lastError);
      return { status: lagging ? ('degraded' as const) : ('ok' as const), version: VERSION, eventStore: { kind: store.kind, headPosition: head }, projectors };
    } catch (error) {
      return { status: 'down' as const, version: VERSION, eventStore: { kind: store.kind, error: (error as Error).message }, projectors: [projector.status()] };
    }
  };
  const app = httpApp({
    operations,
    validators,
    logger,
    version: VERSION,
    bodyLimitBytes: config.bodyLimitBytes,
    health,
    authorize: async () => ({ actor: 'anonymous' }),
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;

  const listen = () =>
    new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve(server.address() as AddressInfo));
    });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    });
    projector.stop();
    await store.close();
    readDb.close();
  };

  return { config, store, readDb, projector, commands, operations, server, listen, stop };
};
