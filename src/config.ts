import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';

export type Config = Readonly<{
  dataDir: string;
  host: string;
  port: number;
  eventStore: 'sqlite' | 'eventstoredb' | 'postgres';
  eventStoreUrl?: string;
  /** `VESPERA_POSTGRES_URL` (postgres://user:password@host:5432/db), for VESPERA_EVENT_STORE=postgres. */
  postgresUrl?: string;
  /** SQLite event store durability: `full` survives a power cut, `normal` only a process crash. */
  sync: 'full' | 'normal';
  /** Events of a project between two snapshots of its aggregate (`VESPERA_SNAPSHOT_EVERY`). */
  snapshotEvery: number;
  /** SQLite event store writer: `thread` (a writer thread owns the write connection and its fsyncs) or `inline`. */
  sqliteWriter: 'thread' | 'inline';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxDepth: number;
  maxTreeNodes: number;
  /** Hours the critical-path analytics assume for a task without an estimate. */
  defaultEstimateHours: number;
  bodyLimitBytes: number;
  /** Longest a request waits for the read model to reach a position. */
  readWaitMs: number;
  /** `VESPERA_JWT_SECRET`; when absent a secret is generated once into the data directory. */
  jwtSecret?: string;
  tokenTtlSeconds: number;
  tokenMaxTtlSeconds: number;
  corsOrigins: readonly string[];
  rateLimitPerMinute: number;
  anonymousRateLimitPerMinute: number;
  rateLimitWindowMs: number;
  metrics: 'public' | 'admin' | 'off';
  /** The web dashboard at `/` (docs/dashboard.md). */
  dashboard: 'on' | 'off';
  /** Role files synced into the `roles` stream at start; the shipped ones by default. */
  roleFiles?: readonly string[];
  /** Redis for BullMQ queues (`REDIS_URL`); without it jobs run in-process. */
  redisUrl?: string;
  /** How often expired leases are swept back to the ready queue. */
  leaseScanIntervalMs: number;
  /** The vector read model and semantic search (embedder, Chroma). `vespera serve` defaults to `on`; code that builds a Config gets `off` unless it asks. */
  vectors: 'on' | 'off';
  /** An external Chroma (`CHROMA_URL`); without it the app runs its own under `<dataDir>/chroma`. */
  chromaUrl?: string;
  /** Similarity (0–1) from which `possibleDuplicates` and `/search/duplicates` report a task. */
  duplicateThreshold: number;
  /** Key prefix of the BullMQ queues in Redis. */
  queuePrefix: string;
  syncIntervalMs: number;
  optimizeIntervalMs: number;
  /** Longest one Chroma write or admin call may take (upserts of a whole batch, checkpoints, listings). */
  chromaTimeoutMs: number;
  /** Longest the vector side of a search (or one Chroma read, or a heartbeat) may take before search answers from keywords. */
  chromaQueryTimeoutMs: number;
  /** Longest one Redis/BullMQ command (add a job, count jobs, PING) may take before jobs run in-process. */
  redisTimeoutMs: number;
  /** Longest one request to the graph (Kuzu) worker thread may take, beyond any wait it was asked for. */
  graphTimeoutMs: number;
  /** Longest one graph_query may run in Kuzu before it is interrupted. */
  graphQueryTimeoutMs: number;
  /** Longest one batch may take in the embedding worker thread. */
  embedTimeoutMs: number;
  /** Worker threads that embed task texts, each with its own copy of the model (queries have one more of their own). */
  embedThreads: number;
  /** Nice value of those threads (0-19): bulk embedding gives way to requests and query embedding when they want a core. */
  embedNice: number;
  /** Longest the duplicate warning may delay a create; past it the task is acknowledged without the warning, marked so. */
  duplicateCheckMs: number;
  /** Duplicate checks running at once; a create past it is answered at once with the check skipped. */
  duplicateChecksInFlight: number;
  /** How often Chroma and Redis are probed, so /health sees a dependency that stopped answering (and its return). */
  probeIntervalMs: number;
  cycleIntervalMs: number;
  /** Authentication on every route. Only code (tests, benchmarks) can turn it off; no variable does. */
  auth: boolean;
  /** Hours an Idempotency-Key is remembered (at least 24). */
  idempotencyRetentionHours: number;
  /** MCP tools served: `core`, `standard`, `all` or a comma list of tool names (checked against the catalog at start). */
  mcpTools: string;
  /** MCP Streamable HTTP sessions (`initialize` without `Mcp-Session-Id` opens one): needed for resource subscriptions. */
  mcpSessions: 'on' | 'off';
  /** An MCP session without requests or an open stream for this long is closed. */
  mcpSessionIdleMs: number;
  /** MCP sessions open at once; past it `initialize` gets 503 MCP_SESSIONS_EXHAUSTED. */
  mcpMaxSessions: number;
  /** Longest a stop (SIGTERM) lets in-flight requests and feed sockets finish before it cuts the connections left. */
  drainMs: number;
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. http://collector:4318): tracing is on only when it (or the traces endpoint) is set. */
  otlpEndpoint?: string;
  /** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the full traces URL, used as given (it wins over `otlpEndpoint`). */
  otlpTracesEndpoint?: string;
  /** `OTEL_SERVICE_NAME`, the `service.name` of every span. */
  serviceName: string;
  /** Most events the SQLite projector may trail the log by while `/health/ready` still answers 200. */
  readyMaxLag: number;
  /** The live feed (docs/feed.md): how long a socket may take to send its auth message. */
  feedAuthTimeoutMs: number;
  /** Feed heartbeat: ping (WebSocket) or comment (SSE) interval; a socket that missed a pong is cut, the token re-checked. */
  feedHeartbeatMs: number;
  /** A feed socket without a subscription for this long is closed (4000). */
  feedIdleMs: number;
  /** Bytes a feed connection may have queued; past it the consumer reads the log at its own pace instead of live. */
  feedBufferBytes: number;
  /** Longest a feed consumer with a full queue may take to drain before it is dropped as a slow consumer (4008). */
  feedStallMs: number;
  /** Feed sockets one process accepts; past it the upgrade answers 503. */
  feedMaxConnections: number;
}>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads and validates the environment; every problem is reported at once, by variable name. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config => {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };
  const eventStore = oneOf('VESPERA_EVENT_STORE', ['sqlite', 'eventstoredb', 'postgres'], 'sqlite');
  const postgresUrl = env.VESPERA_POSTGRES_URL || undefined;
  if (eventStore === 'postgres' && !postgresUrl) {
    problems.push('VESPERA_POSTGRES_URL is required when VESPERA_EVENT_STORE=postgres (e.g. postgres://vespera@127.0.0.1:5432/vespera)');
  }
  if (postgresUrl && !/^postgres(ql)?:\/\//.test(postgresUrl)) {
    problems.push('VESPERA_POSTGRES_URL must be a postgres:// connection string');
  }
  const eventStoreUrl = env.EVENTSTORE_URL || undefined;
  if (eventStore === 'eventstoredb' && !eventStoreUrl) {
    problems.push('EVENTSTORE_URL is required when VESPERA_EVENT_STORE=eventstoredb (e.g. kurrentdb://localhost:2113?tls=false)');
  }
  if (eventStoreUrl && !/^(esdb|kurrentdb|kurrent|kdb)(\+discover)?:\/\//.test(eventStoreUrl)) {
    problems.push(`EVENTSTORE_URL must be a kurrentdb:// (or esdb://) connection string (got "${eventStoreUrl}")`);
  }
  const jwtSecret = env.VESPERA_JWT_SECRET || undefined;
  if (jwtSecret !== undefined && jwtSecret.length < 32) problems.push('VESPERA_JWT_SECRET must be at least 32 characters long');
  const corsOrigins = (env.VESPERA_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsOrigins)
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`VESPERA_CORS_ORIGINS holds "${origin}", not an origin like https://app.example.com`);
  const roleFiles = env.VESPERA_ROLE_FILES ? env.VESPERA_ROLE_FILES.split(',').map((f) => path.resolve(f.trim())) : undefined;
  const mcpTools = (env.VESPERA_MCP_TOOLS || 'standard').trim();
  if (!/^(core|standard|all|[a-z][a-z0-9_]*(\s*,\s*[a-z][a-z0-9_]*)*)$/.test(mcpTools)) {
    problems.push(`VESPERA_MCP_TOOLS must be core, standard, all or a comma list of tool names (got "${mcpTools}")`);
  }
  if (env.CHROMA_URL && !/^https?:\/\/[^\s/]+\/?$/.test(env.CHROMA_URL))
    problems.push(`CHROMA_URL must look like http://host:8000 (got "${env.CHROMA_URL}")`);
  const duplicateThreshold = Number(env.VESPERA_DUPLICATE_THRESHOLD || 0.8);
  if (!(duplicateThreshold > 0 && duplicateThreshold <= 1))
    problems.push(`VESPERA_DUPLICATE_THRESHOLD must be a number above 0 and at most 1 (got "${env.VESPERA_DUPLICATE_THRESHOLD}")`);
  if (env.REDIS_URL && !/^rediss?:\/\/[^\s]+$/.test(env.REDIS_URL))
    problems.push(`REDIS_URL must look like redis://host:6379 (got "${env.REDIS_URL}")`);
  const otlpUrl = (name: string): string | undefined => {
    const raw = env[name];
    if (!raw) return undefined;
    if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(raw)) problems.push(`${name} must be an http(s) URL like http://collector:4318 (got "${raw}")`);
    else if (/^https?:\/\/[^/]*@/.test(raw)) problems.push(`${name} must not hold credentials: send them with OTEL_EXPORTER_OTLP_HEADERS`);
    return raw;
  };
  const otlpEndpoint = otlpUrl('OTEL_EXPORTER_OTLP_ENDPOINT');
  const otlpTracesEndpoint = otlpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const serviceName = (env.OTEL_SERVICE_NAME || 'vespera').trim();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(serviceName)) problems.push(`OTEL_SERVICE_NAME must be 1–128 letters, digits, . _ - (got "${serviceName}")`);
  const host = env.VESPERA_HOST || '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) problems.push(`VESPERA_HOST is not a host name or address (got "${host}")`);
  const config: Config = {
    dataDir: path.resolve(env.VESPERA_DATA_DIR || '.vespera'),
    host,
    port: int('VESPERA_PORT', 3000, 0, 65535),
    eventStore,
    ...(eventStoreUrl ? { eventStoreUrl } : {}),
    ...(postgresUrl ? { postgresUrl } : {}),
    sync: oneOf('VESPERA_SYNC', ['full', 'normal'], 'full'),
    snapshotEvery: int('VESPERA_SNAPSHOT_EVERY', 5000, 100, 10_000_000),
    sqliteWriter: oneOf('VESPERA_SQLITE_WRITER', ['thread', 'inline'], 'thread'),
    logLevel: oneOf('VESPERA_LOG_LEVEL', LOG_LEVELS, 'info'),
    maxDepth: int('VESPERA_MAX_DEPTH', 10, 1, 50),
    maxTreeNodes: int('VESPERA_MAX_TREE_NODES', 1000, 1, 10000),
    defaultEstimateHours: int('VESPERA_DEFAULT_ESTIMATE_HOURS', 8, 0, 10000),
    bodyLimitBytes: int('VESPERA_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    readWaitMs: int('VESPERA_READ_WAIT_MS', 5000, 10, 60000),
    ...(jwtSecret ? { jwtSecret } : {}),
    tokenTtlSeconds: int('VESPERA_TOKEN_TTL_SECONDS', 86_400, 60, 31_536_000),
    tokenMaxTtlSeconds: int('VESPERA_TOKEN_MAX_TTL_SECONDS', 90 * 86_400, 60, 31_536_000),
    corsOrigins,
    rateLimitPerMinute: int('VESPERA_RATE_LIMIT_PER_MINUTE', 12_000, 0, 10_000_000),
    rateLimitWindowMs: int('VESPERA_RATE_LIMIT_WINDOW_MS', 60_000, 1000, 3_600_000),
    anonymousRateLimitPerMinute: int('VESPERA_ANONYMOUS_RATE_LIMIT_PER_MINUTE', 300, 0, 10_000_000),
    metrics: oneOf('VESPERA_METRICS', ['public', 'admin', 'off'], 'admin'),
    dashboard: oneOf('VESPERA_DASHBOARD', ['on', 'off'], 'on'),
    ...(roleFiles ? { roleFiles } : {}),
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    leaseScanIntervalMs: int('VESPERA_LEASE_SCAN_MS', 5000, 100, 3_600_000),
    vectors: oneOf('VESPERA_VECTORS', ['on', 'off'], 'off'),
    ...(env.CHROMA_URL ? { chromaUrl: env.CHROMA_URL.replace(/\/$/, '') } : {}),
    duplicateThreshold,
    queuePrefix: env.VESPERA_QUEUE_PREFIX || 'vespera',
    syncIntervalMs: int('VESPERA_SYNC_INTERVAL_MS', 5000, 100, 3_600_000),
    optimizeIntervalMs: int('VESPERA_OPTIMIZE_INTERVAL_MS', 600_000, 1000, 86_400_000),
    cycleIntervalMs: int('VESPERA_CYCLE_INTERVAL_MS', 60_000, 1000, 86_400_000),
    chromaTimeoutMs: int('VESPERA_CHROMA_TIMEOUT_MS', 30_000, 100, 600_000),
    chromaQueryTimeoutMs: int('VESPERA_CHROMA_QUERY_TIMEOUT_MS', 2000, 50, 60_000),
    redisTimeoutMs: int('VESPERA_REDIS_TIMEOUT_MS', 5000, 50, 60_000),
    graphTimeoutMs: int('VESPERA_GRAPH_TIMEOUT_MS', 10_000, 100, 600_000),
    graphQueryTimeoutMs: int('VESPERA_GRAPH_QUERY_TIMEOUT_MS', 3000, 50, 60_000),
    embedTimeoutMs: int('VESPERA_EMBED_TIMEOUT_MS', 30_000, 100, 600_000),
    embedThreads: int('VESPERA_EMBED_THREADS', Math.min(4, os.availableParallelism()), 1, 64),
    embedNice: int('VESPERA_EMBED_NICE', 10, 0, 19),
    duplicateCheckMs: int('VESPERA_DUPLICATE_CHECK_MS', 200, 10, 10_000),
    duplicateChecksInFlight: int('VESPERA_DUPLICATE_CHECKS_IN_FLIGHT', 8, 1, 10_000),
    probeIntervalMs: int('VESPERA_PROBE_INTERVAL_MS', 2000, 100, 600_000),
    auth: true,
    idempotencyRetentionHours: int('VESPERA_IDEMPOTENCY_RETENTION_HOURS', 48, 24, 8760),
    mcpTools,
    mcpSessions: oneOf('VESPERA_MCP_SESSIONS', ['on', 'off'], 'on'),
    mcpSessionIdleMs: int('VESPERA_MCP_SESSION_IDLE_MS', 30 * 60_000, 1000, 86_400_000),
    mcpMaxSessions: int('VESPERA_MCP_MAX_SESSIONS', 1000, 1, 100_000),
    drainMs: int('VESPERA_DRAIN_MS', 10_000, 0, 600_000),
    ...(otlpEndpoint ? { otlpEndpoint } : {}),
    ...(otlpTracesEndpoint ? { otlpTracesEndpoint } : {}),
    serviceName,
    readyMaxLag: int('VESPERA_READY_MAX_LAG', 1000, 0, 100_000_000),
    feedAuthTimeoutMs: int('VESPERA_FEED_AUTH_TIMEOUT_MS', 5000, 50, 60_000),
    feedHeartbeatMs: int('VESPERA_FEED_HEARTBEAT_MS', 30_000, 50, 600_000),
    feedIdleMs: int('VESPERA_FEED_IDLE_MS', 300_000, 50, 86_400_000),
    feedBufferBytes: int('VESPERA_FEED_BUFFER_BYTES', 1024 * 1024, 16 * 1024, 256 * 1024 * 1024),
    feedStallMs: int('VESPERA_FEED_STALL_MS', 10_000, 50, 600_000),
    feedMaxConnections: int('VESPERA_FEED_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};
