import path from 'node:path';

export type Config = Readonly<{
  dataDir: string;
  host: string;
  port: number;
  eventStore: 'sqlite' | 'eventstoredb';
  eventStoreUrl?: string;
  /** SQLite event store durability: `full` survives a power cut, `normal` only a process crash. */
  sync: 'full' | 'normal';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxDepth: number;
  maxTreeNodes: number;
  bodyLimitBytes: number;
  /** Longest a request waits for the read model to reach a position. */
  readWaitMs: number;
}>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

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
  const eventStore = oneOf('VESPERA_EVENT_STORE', ['sqlite', 'eventstoredb'], 'sqlite');
  const eventStoreUrl = env.EVENTSTORE_URL || undefined;
  if (eventStore === 'eventstoredb' && !eventStoreUrl) {
    problems.push('EVENTSTORE_URL is required when VESPERA_EVENT_STORE=eventstoredb (e.g. esdb://localhost:2113?tls=false)');
  }
  if (eventStoreUrl && !/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\//.test(eventStoreUrl)) {
    problems.push(`EVENTSTORE_URL must be an esdb:// or kurrentdb:// connection string (got "${eventStoreUrl}")`);
  }
  const host = env.VESPERA_HOST || '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) problems.push(`VESPERA_HOST is not a host name or address (got "${host}")`);
  const config: Config = {
    dataDir: path.resolve(env.VESPERA_DATA_DIR || '.vespera'),
    host,
    port: int('VESPERA_PORT', 3000, 0, 65535),
    eventStore,
    ...(eventStoreUrl ? { eventStoreUrl } : {}),
    sync: oneOf('VESPERA_SYNC', ['full', 'normal'], 'full'),
    logLevel: oneOf('VESPERA_LOG_LEVEL', LOG_LEVELS, 'info'),
    maxDepth: int('VESPERA_MAX_DEPTH', 10, 1, 50),
    maxTreeNodes: int('VESPERA_MAX_TREE_NODES', 1000, 1, 10000),
    bodyLimitBytes: int('VESPERA_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    readWaitMs: int('VESPERA_READ_WAIT_MS', 5000, 10, 60000),
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};
