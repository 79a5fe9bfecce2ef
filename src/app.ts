import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Database from 'better-sqlite3';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { Authorizer } from './api/auth/authorizer.js';
import { ensureAdminToken } from './api/auth/bootstrap.js';
import { loadJwtSecret } from './api/auth/secret.js';
import { TokenService } from './api/auth/tokens.js';
import { buildCatalog, type AnyOperation } from './api/catalog/index.js';
import { instrument } from './api/catalog/instrument.js';
import { readYourWrites } from './api/catalog/readYourWrites.js';
import { createMetrics } from './api/metrics.js';
import { resourceChanges, type ResourceChanges } from './api/mcp/changes.js';
import { mcpHttpRouter } from './api/mcp/http.js';
import type { McpSessions } from './api/mcp/sessions.js';
import type { ServerPool } from './api/mcp/serverPool.js';
import { servedTools } from './api/mcp/tools.js';
import { IdempotencyKeys } from './api/idempotency.js';
import { Feed } from './api/feed/feed.js';
import { FEED_SSE_PATH, feedSseHandler } from './api/feed/sse.js';
import { attachFeedWebSocket } from './api/feed/ws.js';
import { httpApp } from './api/rest/server.js';
import { compileValidators, type Validators } from './api/validation.js';
import { CommandHandler } from './commands/handler.js';
import { pluginCommands, type PluginCommands } from './commands/plugins/commands.js';
import { pluginDecider, type PluginCommand, type PluginState } from './commands/plugins/plugin.js';
import { projectCommands, type ProjectCommands } from './commands/project/commands.js';
import { projectDecider, type ProjectCommand } from './commands/project/decider.js';
import type { ProjectState } from './commands/project/project.js';
import { roleCommands, type RoleCommands } from './commands/roles/commands.js';
import { RoleWorkload } from './commands/roles/workload.js';
import { roleCatalogDecider, type RoleCatalogState, type RoleCommand } from './commands/roles/roleCatalog.js';
import { DEFAULT_ROLE_FILES, loadRoleFiles } from './commands/roles/roleFiles.js';
import type { Config } from './config.js';
import { DomainError } from './errors.js';
import type { PluginEvent } from './events/plugins.js';
import type { ProjectEvent } from './events/project.js';
import type { RoleEvent } from './events/roles.js';
import type { EventStore } from './eventstore/eventStore.js';
import { EventStoreDbEventStore } from './eventstore/eventstoredb.js';
import { PostgresEventStore } from './eventstore/postgres.js';
import { SqliteEventStore } from './eventstore/sqlite.js';
import { Projector } from './projections/projector.js';
import { SqliteProjection } from './projections/sqlite/projection.js';
import { openReadModel } from './projections/sqlite/readModel.js';
import { startGraphWorker, type GraphModelHandle } from './projections/graph/remote.js';
import { dashboardExtras } from './queries/analytics/analytics.js';
import { projectLoader } from './queries/analytics/projectIndex.js';
import { sqliteSource, taskTitles } from './queries/analytics/source.js';
import { svgRenderer } from './queries/analytics/svg.js';
import { projectExists } from './queries/projects.js';
import { grantOf } from './queries/plugins.js';
import { inProgressOfAgent, inProgressOfRole, roleStatusOf } from './queries/roles.js';
import { activeLeaseCount, expiredLeases, projectOfTask, projectsWithReadyWork } from './queries/tasks.js';
import { usageByProject } from './queries/usage.js';
import { getDependencies, getTaskTree } from './queries/taskGraph.js';
import { EMBED_QUEUE } from './jobs/embedJob.js';
import { AdminJobs } from './jobs/adminJobs.js';
import { createLeaseExpiry, type LeaseExpiry } from './jobs/leaseExpiry.js';
import { redisCommands } from './jobs/bullmq.js';
import { SharedRateLimitStore } from './api/rest/sharedRateLimit.js';
import { startBackground, type Background } from './wiring/background.js';
import { healthReport, readinessReport } from './wiring/health.js';
import { MAINTENANCE_QUEUE } from './wiring/maintenance.js';
import { startTracing } from './wiring/tracing.js';
import { VERSION } from './version.js';
import { dataFiles } from './wiring/dataFiles.js';
import { withTimeout } from './util/timeout.js';
import { removeServerFile, writeServerFile } from './wiring/serverFile.js';
import { mcpSocketPath, ownerLock, type OwnerLock } from './wiring/ownerLock.js';
import { serveMcpSocket, type McpSocketServer } from './api/mcp/socket.js';
import { serverVerifier } from './wiring/verify.js';
import { eventStoreSpec, readModelRebuilds, rebuildSqlite } from './wiring/rebuildModels.js';
import { swappableDatabase } from './projections/sqlite/swappable.js';
import { SqliteSnapshotStore } from './eventstore/snapshots.js';
import { projectSnapshotCodec } from './commands/project/snapshot.js';
import { drainable, type DrainHook, type DrainResult } from './wiring/drain.js';

export const openEventStore = (config: Config): EventStore => {
  if (config.eventStore === 'eventstoredb') return new EventStoreDbEventStore({ url: config.eventStoreUrl! });
  if (config.eventStore === 'postgres') return new PostgresEventStore({ url: config.postgresUrl! });
  return new SqliteEventStore({ path: dataFiles(config.dataDir).events, synchronous: config.sync, writer: config.sqliteWriter });
};

export type App = Readonly<{
  config: Config;
  logger: Logger;
  store: EventStore;
  readDb: Database.Database;
  projector: Projector;
  commands: ProjectCommands;
  roles: RoleCommands;
  plugins: PluginCommands;
  tokens: TokenService;
  authorizer: Authorizer;
  leases: LeaseExpiry;
  /** Verify and rebuild jobs started over the API. */
  jobs: AdminJobs;
  /** The dependency graph read model (Kuzu) with its projector and cycle check. */
  graph: GraphModelHandle;
  /** Job queue, vector read model (when VESPERA_VECTORS=on) and background services. */
  background: Background;
  operations: readonly AnyOperation[];
  validators: ReadonlyMap<string, Validators>;
  /** Idempotency keys of REST and MCP writes (keys.db). */
  idempotency: IdempotencyKeys;
  /** Which MCP resources changed, once the SQLite model shows it (resource subscriptions over HTTP and stdio). */
  resourceChanges: ResourceChanges;
  /** The open MCP Streamable HTTP sessions. */
  mcpSessions: McpSessions;
  /** The servers that answer stateless MCP requests, reused between requests. */
  mcpStateless: ServerPool;
  /** The live feed over the log (WebSocket /api/v1/ws, SSE /api/v1/events/stream): stats() for /metrics, close() at shutdown. */
  feed: Feed;
  /** Path of the admin token file (mode 0600), refreshed at every start. */
  adminTokenFile: string;
  http: Express;
  server: http.Server;
  /** Starts listening; resolves to the bound address (port 0 picks a free one). */
  listen: () => Promise<AddressInfo>;
  /**
   * Registers a hook `stop()` runs once the listener is closed, while in-flight requests finish: long-lived streams
   * (feed sockets with 1001 and their last position, SSE) close themselves here instead of holding the drain to its bound.
   */
  onDrain: (hook: DrainHook) => void;
  /** Drains (at most `VESPERA_DRAIN_MS`), then stops projectors at a checkpoint and closes every store. */
  stop: () => Promise<void>;
  /** How the last `stop()` drained the HTTP server (undefined before one). */
  drained: () => DrainResult | undefined;
}>;

export type AppOptions = Readonly<{
  /** The data directory's owner lock when the caller took it already (`vespera mcp` deciding whether to own or to bridge). */
  ownerLock?: OwnerLock;
}>;

/**
 * The composition root: every component is built here, once, and handed to whoever needs it. It owns the data
 * directory first (409 DATA_DIR_OWNED when another process does), and lets go of it when it stops or fails to start.
 */
export const createApp = async (config: Config, logger: Logger, options: AppOptions = {}): Promise<App> => {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = options.ownerLock ?? ownerLock(config.dataDir);
  try {
    return await assembleApp(config, logger, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
};

const assembleApp = async (config: Config, logger: Logger, lock: OwnerLock): Promise<App> => {
  const loadedRoles = loadRoleFiles(config.roleFiles ?? DEFAULT_ROLE_FILES);
  const store = openEventStore(config);
  // An unreachable store fails the start here, before anything else opens (the CLI prints EVENT_STORE_UNAVAILABLE, exit 3).
  await store.headPosition().catch(async (error: unknown) => {
    await store.close().catch(() => {});
    throw error;
  });
  // Every reader holds this handle; a blue-green rebuild points it at the new model (wiring/rebuildModels.ts).
  const readModel = swappableDatabase(openReadModel(dataFiles(config.dataDir).readModel));
  const readDb = readModel.db;
  const projector = new Projector(store, new SqliteProjection(readDb), logger.child({ component: 'projector' }));
  const rebuilds = { config, logger, projector, readModel };
  const startRebuild = new AbortController();
  await projector.start({ rebuildAside: () => rebuildSqlite(rebuilds, undefined, startRebuild.signal) });

  const now = () => new Date().toISOString();
  const graph = await startGraphWorker(
    {
      file: dataFiles(config.dataDir).graph,
      eventStore: eventStoreSpec(config),
      logLevel: config.logLevel,
      cycleCheckMs: config.cycleIntervalMs,
    },
    { timeoutMs: config.graphTimeoutMs },
  );
  // Analytics read adjacency from SQLite: measured faster to load than the graph (bench/graph.ts).
  const analytics = {
    projectOf: (taskId: string) => projectOfTask(readDb, taskId),
    project: projectLoader(sqliteSource(readDb), () => projector.currentPosition),
    defaultEstimate: config.defaultEstimateHours,
  };
  const waitForReadModel = async (position: number) => {
    if (position > projector.currentPosition && position > (await store.headPosition())) {
      throw new DomainError('POSITION_NOT_REACHED', 400, `Log position ${position} does not exist yet; the log ends before it.`, { position });
    }
    return projector.waitFor(position, config.readWaitMs);
  };
  const roles = roleCommands({ handler: new CommandHandler<RoleCatalogState, RoleCommand, RoleEvent>({ store, decider: roleCatalogDecider }), now });
  const plugins = pluginCommands({ handler: new CommandHandler<PluginState, PluginCommand, PluginEvent>({ store, decider: pluginDecider }), now });
  const locateTask = async (taskId: string) => {
    const known = projectOfTask(readDb, taskId);
    if (known) return known;
    await waitForReadModel(await store.headPosition());
    return projectOfTask(readDb, taskId);
  };
  const snapshots = new SqliteSnapshotStore(dataFiles(config.dataDir).snapshots);
  const rules = { maxDepth: config.maxDepth, maxTreeNodes: config.maxTreeNodes, defaultEstimate: config.defaultEstimateHours };
  const commands = projectCommands({
    handler: new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({
      store,
      decider: projectDecider(rules),
      snapshots: { store: snapshots, codec: projectSnapshotCodec, every: config.snapshotEvery },
    }),
    locateTask,
    newId: uuidv7,
    now,
    roleDefinition: roles.definition,
    // A claim is counted by the read model once projected; until then it holds a slot in the ledger.
    workload: new RoleWorkload(
      (role) => inProgressOfRole(readDb, role),
      (position) => projector.waitFor(position, 10 * 60_000),
    ),
    projectsWithReadyWork: (role) => projectsWithReadyWork(readDb, role),
    agentWorkload: (role, agent, exceptProjectId) => inProgressOfAgent(readDb, role, agent, exceptProjectId),
    log: store,
    rules,
  });

  const system = { actor: 'system', tool: 'startup' };
  const synced = await roles.syncFiles(loadedRoles, { ...system, commandId: `role-sync-${uuidv7()}` });
  if (synced.events.length > 0) logger.info({ events: synced.events.length }, 'role files differ from the roles stream; synced');
  await waitForReadModel(synced.position);

  // On a shared log (several nodes) this node's read model may start far behind: whether the admin plugin exists is
  // asked of it, so it first catches up with the whole log (at once on a node that restarts on its own model).
  await projector.waitFor(await store.headPosition(), 10 * 60_000);
  const tokens = new TokenService(loadJwtSecret(config.dataDir, config.jwtSecret), config.tokenTtlSeconds, config.tokenMaxTtlSeconds);
  const bootstrap = { file: dataFiles(config.dataDir).adminToken, readDb, plugins, tokens, waitForReadModel, logger };
  const adminTokenFile = await ensureAdminToken(bootstrap);
  // A long-running server keeps the admin token file valid: it is renewed once less than an hour remains.
  const adminTokenRenewal = setInterval(() => {
    ensureAdminToken(bootstrap).catch((error: unknown) => logger.warn({ err: error }, 'could not renew the admin token'));
  }, 15 * 60_000);
  adminTokenRenewal.unref();
  const authorizer = new Authorizer(tokens, grantOf(readDb), config.auth, roleStatusOf(readDb), async () =>
    waitForReadModel(await store.headPosition()),
  );
  if (!config.auth) logger.warn('authentication is disabled for this process');

  const background = await startBackground({ config, logger, store, readDb, sqlite: projector });
  const metrics = createMetrics(
    () => [projector.status(), graph.projector.status(), ...background.projectorStatuses()],
    () => store.headPosition(),
    // Read at scrape time (after start), so `leases` below is defined by then.
    {
      queues: async () =>
        Promise.all(
          (
            [
              [EMBED_QUEUE, background.queue],
              [MAINTENANCE_QUEUE, background.queue.inline],
            ] as const
          ).map(async ([queue, q]) => ({
            queue,
            ...(await q.stats(queue)),
          })),
        ),
      activeLeases: () => activeLeaseCount(readDb),
      leaseExpiries: () => leases.expiries(),
      embeddingsPending: async () => {
        const [vectorModel] = background.projectorStatuses();
        return vectorModel ? Math.max(0, (await store.headPosition()) - vectorModel.position) : 0;
      },
      feed: () => feed.stats(),
      usage: () => usageByProject(readDb),
    },
  );
  const leases = createLeaseExpiry({
    expire: (taskId) => commands.expireLease(taskId, { actor: 'system', tool: 'lease-expiry', commandId: `lease-expiry-${uuidv7()}` }),
    overdue: (at) => expiredLeases(readDb, at),
    logger: logger.child({ component: 'leases' }),
    scanIntervalMs: config.leaseScanIntervalMs,
    ...(config.redisUrl ? { redisUrl: config.redisUrl, queueName: `${config.queuePrefix}-lease-expiry`, redisTimeoutMs: config.redisTimeoutMs } : {}),
  });
  const jobs = new AdminJobs();
  const vectors = background.vectors;
  const verifier = serverVerifier({ store, dataDir: config.dataDir, liveGraph: graph.cut, ...(vectors ? { vectors: () => vectors.store } : {}) });
  const operations = buildCatalog({
    jobs,
    store,
    verifier,
    rebuildReadModels: readModelRebuilds({
      ...rebuilds,
      graph,
      ...(vectors ? { vectors: vectors.rebuild, embeddingsPaused: vectors.embeddingsPaused } : {}),
    }),
    commands,
    roles,
    plugins,
    tokens,
    readDb,
    waitForReadModel,
    newId: uuidv7,
    now,
    leases,
    analytics,
    projectExists: (id: string) => projectExists(readDb, id),
    semanticIndex: background.index,
    duplicateThreshold: config.duplicateThreshold,
    services: background.services,
    ...(background.index ? { duplicates: background.duplicates } : {}),
    dashboardExtras: (projectId: string) => dashboardExtras(analytics, projectId),
    taskTitles: taskTitles(readDb),
    readPosition: () => projector.currentPosition,
    renderSvg: svgRenderer(),
    graphQuery: {
      run: graph.query,
      waitFor: (position: number) => graph.projector.waitFor(position, config.readWaitMs),
      timeoutMs: config.graphQueryTimeoutMs,
    },
  }).map((op) => instrument(readYourWrites(op, waitForReadModel), metrics));
  const validators = compileValidators(operations);
  const idempotency = new IdempotencyKeys(dataFiles(config.dataDir).idempotencyKeys, {
    retentionHours: config.idempotencyRetentionHours,
    synchronous: config.sync,
  });

  const feedLogger = logger.child({ component: 'feed' });
  const feed = new Feed(store, { bufferBytes: config.feedBufferBytes, stallMs: config.feedStallMs, logger: feedLogger });
  await feed.start();
  const changes = resourceChanges({
    onAppended: (listener) => store.onAppended(listener),
    readAll: (options) => store.readAll(options),
    applied: (position) => projector.waitFor(position, config.readWaitMs),
    dependentsOf: (taskId) => getDependencies(readDb, taskId, { direction: 'dependents' }).items.map((d) => d.id),
    subtreeOf: (taskId) => getTaskTree(readDb, { taskId, maxDepth: config.maxDepth }),
    logger: logger.child({ component: 'mcp-resources' }),
  });
  const mcpHttp = mcpHttpRouter({
    tools: servedTools(operations, config.mcpTools, logger),
    operations,
    changes,
    sessions: { enabled: config.mcpSessions === 'on', idleMs: config.mcpSessionIdleMs, max: config.mcpMaxSessions },
    validators,
    authorizer,
    idempotency,
    logger,
    version: VERSION,
  });

  const health = healthReport({ store, projector, graph, background });
  const tracing = startTracing(config, logger);
  // With Redis, every node counts one budget per token and per address (docs/deploy.md).
  const rateLimitRedis = config.redisUrl ? redisCommands(config.redisUrl, config.redisTimeoutMs) : undefined;
  const rateLimitLogger = logger.child({ component: 'rate-limit' });
  const express = httpApp({
    operations,
    validators,
    logger,
    version: VERSION,
    settings: config,
    authorizer,
    idempotency,
    health,
    ready: readinessReport({ store, projector, maxLag: config.readyMaxLag, stopping: () => stopped }),
    observeRequest: metrics.observeRequest,
    metrics: metrics.render,
    ...(rateLimitRedis
      ? {
          rateLimitStore: (limit: 'anonymous' | 'token') =>
            new SharedRateLimitStore(rateLimitRedis.send, `${config.queuePrefix}:rate:${limit}:`, rateLimitLogger),
        }
      : {}),
    mount: (api) => {
      api.use('/mcp', mcpHttp);
      api.get(FEED_SSE_PATH, feedSseHandler({ feed, authorizer, heartbeatMs: config.feedHeartbeatMs, logger: feedLogger }));
    },
  });
  const server = http.createServer(express);
  server.keepAliveTimeout = 65_000;
  const feedSockets = attachFeedWebSocket(server, {
    feed,
    authorizer,
    logger: feedLogger,
    settings: {
      authTimeoutMs: config.feedAuthTimeoutMs,
      heartbeatMs: config.feedHeartbeatMs,
      idleMs: config.feedIdleMs,
      maxConnections: config.feedMaxConnections,
    },
  });
  const drain = drainable(server);
  // MCP sessions hold notice streams open: they end while the server drains, like feed sockets.
  // Feed sockets end with 1001 and the last position each was sent, so clients resume after it.
  const closeFeed = async () => {
    await feed.close();
    feedSockets.close();
  };
  const drainHooks: DrainHook[] = [closeFeed, () => mcpHttp.close()];
  let drained: DrainResult | undefined;

  // Other `vespera mcp` processes on this data directory bridge their stdio to this socket (api/mcp/socket.ts).
  let mcpSocket: McpSocketServer | undefined;
  drainHooks.push(() => mcpSocket?.close());
  const listen = async (): Promise<AddressInfo> => {
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });
    mcpSocket = await serveMcpSocket(
      {
        operations,
        validators,
        authorizer,
        idempotency,
        logger: logger.child({ component: 'mcp-socket' }),
        adminTokenFile,
        mcpTools: config.mcpTools,
        resourceChanges: changes,
        version: VERSION,
      },
      mcpSocketPath(config.dataDir),
    ).catch((error: unknown) => {
      logger.warn({ err: error }, 'the local MCP socket could not listen; other `vespera mcp` processes cannot bridge to this one');
      return undefined;
    });
    // Announces this server as the data directory's owner: local CLI commands and bridged `vespera mcp` ask it.
    writeServerFile(config.dataDir, address, mcpSocket?.path);
    return address;
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The listener closes first; every store stays open until the requests in flight are answered.
    const hooks = drainHooks.map((hook) => async () => {
      try {
        await hook();
      } catch (error) {
        logger.warn({ err: error }, 'a drain hook failed');
      }
    });
    const draining = server.listening ? drain.close(config.drainMs, hooks) : undefined;
    // Never listening, there is no drain to run the hooks: the feed still lets go of the store.
    if (!draining) await closeFeed();
    // A running rebuild is abandoned (its aside file removed); the live model stays as it was.
    jobs.abortAll();
    verifier.stop();
    startRebuild.abort();
    // Bounded: a job stuck on a dependency that ignores the abort must not hold the shutdown.
    await Promise.all([
      withTimeout(jobs.idle(), 10_000, 'the admin jobs').catch((error: unknown) =>
        logger.warn({ err: error }, 'stopping without waiting longer for admin jobs'),
      ),
      projector.rebuildingAtStart,
    ]);
    drained = await draining;
    if (drained && (drained.cutRequests > 0 || drained.cutConnections > 0))
      logger.warn(drained, 'the drain reached VESPERA_DRAIN_MS; cut the requests and connections left');
    else if (drained) logger.info(drained, 'drained');
    changes.close();
    rateLimitRedis?.close();
    clearInterval(adminTokenRenewal);
    try {
      await leases.close();
      await background.stop();
      await projector.stop();
      await graph.stop();
      await store.close();
      snapshots.close();
      idempotency.close();
      readDb.close();
    } finally {
      // Only now: while it stands, a local CLI asks this server (refused) instead of opening stores still open here.
      removeServerFile(config.dataDir);
      await mcpSocket?.close();
      lock.release();
    }
    await tracing.shutdown();
  };

  return {
    config,
    logger,
    store,
    readDb,
    projector,
    commands,
    roles,
    plugins,
    tokens,
    authorizer,
    leases,
    jobs,
    graph,
    background,
    operations,
    validators,
    idempotency,
    resourceChanges: changes,
    mcpSessions: mcpHttp.sessions,
    mcpStateless: mcpHttp.stateless,
    feed,
    adminTokenFile,
    http: express,
    server,
    listen,
    onDrain: (hook) => void drainHooks.push(hook),
    stop,
    drained: () => drained,
  };
};
