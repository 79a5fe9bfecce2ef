#!/usr/bin/env node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
// The server, its stores and the MCP SDK load only in the commands that use them (`await import` below): the task
// commands talk to a running server over HTTP and start in the time Node takes (bench peopleCli).
import type { App } from './app.js';
import type { EventStore } from './eventstore/eventStore.js';
import { loadConfig, type Config } from './config.js';
import { ConfigError, DomainError, EventStoreUnavailableError } from './errors.js';
import { randomUUID } from 'node:crypto';
import type { PluginCommand, PluginState } from './commands/plugins/plugin.js';
import type { PluginEvent } from './events/plugins.js';
import type { OwnerLock } from './wiring/ownerLock.js';
import type { AuditEventsOptions } from './wiring/auditEventsCli.js';
import type * as AuditCli from './wiring/auditCli.js';
import { VERSION } from './version.js';
import { dataFiles } from './wiring/dataFiles.js';
import { mallocArenasCapped } from './util/memory.js';
import { registerTaskCommands } from './wiring/tasksCli.js';
import { CAPABILITIES } from './events/vocabulary.js';
import { DURATION_FORMS, formatDurationSeconds, parseDurationSeconds } from './util/duration.js';

/** `defaults` fill variables the environment leaves unset (`serve` turns the vector model on). */
const config = (defaults: NodeJS.ProcessEnv = {}): Config => {
  try {
    return loadConfig({ ...defaults, ...process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
};

/** `vespera docs [--check]`: the manual's catalog tables, from the catalog of a throwaway app. */
const docs = async (opts: { check?: boolean }) => {
  const [{ createApp }, { createLogger }, { syncGeneratedDocs }] = await Promise.all([
    import('./app.js'),
    import('./logger.js'),
    import('./api/docs.js'),
  ]);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-docs-'));
  const app = await createApp(loadConfig({ VESPERA_LOG_LEVEL: 'silent' }, { dataDir, port: 0 }), createLogger('silent'));
  try {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const stale = syncGeneratedDocs(root, app.operations, opts.check ?? false);
    if (opts.check && stale.length > 0) {
      console.error(`Generated tables are stale in ${stale.join(', ')}: run \`npm run docs\`.`);
      process.exitCode = 1;
    } else console.error(stale.length > 0 ? `Rewrote ${stale.join(', ')}.` : 'The generated tables are up to date.');
  } finally {
    await app.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
};

const serve = async () => {
  const cfg = config({ VESPERA_VECTORS: 'on' });
  const [{ createApp }, { createLogger }] = await Promise.all([import('./app.js'), import('./logger.js')]);
  const logger = createLogger(cfg.logLevel);
  const app = await createApp(cfg, logger);
  const address = await app.listen();
  logger.info({ url: `http://${address.address}:${address.port}`, dataDir: cfg.dataDir, eventStore: cfg.eventStore }, 'Vespera is listening');
  if (!mallocArenasCapped()) {
    logger.warn(
      { hint: 'start it with MALLOC_ARENA_MAX=2 in the environment, as `npm start` and the image do (docs/operations.md#memory)' },
      "glibc's malloc arenas are not capped: resident memory creeps up under sustained load",
    );
  }
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      // The operator's second signal: no more waiting for the drain.
      logger.warn({ signal }, 'second signal; exiting now');
      logger.flush();
      process.exit(128 + (os.constants.signals[signal] ?? 1));
    }
    stopping = true;
    logger.info({ signal, drainMs: cfg.drainMs }, 'shutting down: draining requests in flight');
    app.stop().then(
      () => {
        const drained = app.drained();
        logger.flush();
        // 1 tells a supervisor that the drain bound cut requests or connections; the stores still closed at a checkpoint.
        process.exit(drained && (drained.cutRequests > 0 || drained.cutConnections > 0) ? 1 : 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
};

/**
 * MCP over stdin/stdout; stdout carries the protocol only, logs go to stderr. The first `vespera mcp` on a data
 * directory no server owns becomes its owner: it opens the stores and also listens (HTTP on loopback, port
 * VESPERA_PORT or a free one, and the MCP socket), announced in server.json. Every other one bridges its stdio to
 * the owner's socket, and takes over when the owner goes away (api/mcp/bridge.ts).
 */
const mcp = async () => {
  const cfg = config();
  const [
    { createApp },
    { createLogger },
    { serveStdio },
    { tokenSource },
    { McpBridge },
    { BRIDGE_HELLO_VERSION },
    { tryOwnerLock },
    { ownerConnector },
    { readServerFile },
  ] = await Promise.all([
    import('./app.js'),
    import('./logger.js'),
    import('./api/mcp/stdio.js'),
    import('./api/auth/tokenSource.js'),
    import('./api/mcp/bridge.js'),
    import('./api/mcp/socket.js'),
    import('./wiring/ownerLock.js'),
    import('./wiring/mcpOwner.js'),
    import('./wiring/serverFile.js'),
  ]);
  const ownerCfg = { ...cfg, host: process.env.VESPERA_HOST ?? '127.0.0.1', port: process.env.VESPERA_PORT ? cfg.port : 0 };
  const logger = createLogger(cfg.logLevel);
  let app: App | undefined;
  let stopping = false;
  const shutdown = (bridge?: { close: () => void }) => {
    if (stopping) return;
    stopping = true;
    bridge?.close();
    (app ? app.stop() : Promise.resolve()).finally(() => {
      logger.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown());
  process.on('SIGINT', () => shutdown());
  const becomeOwner = async (lock: OwnerLock) => {
    app = await createApp(ownerCfg, logger, { ownerLock: lock });
    const address = await app.listen();
    logger.info({ url: `http://${address.address}:${address.port}`, dataDir: cfg.dataDir }, 'this MCP process owns the data directory');
  };
  const announced = readServerFile(cfg.dataDir);
  const lock = announced?.mcpSocket ? undefined : tryOwnerLock(cfg.dataDir);
  if (lock) {
    await becomeOwner(lock);
    await serveStdio({ ...app!, mcpTools: cfg.mcpTools, version: VERSION });
    process.stdin.once('end', () => shutdown());
    return;
  }
  const source = tokenSource(dataFiles(cfg.dataDir).adminToken, process.env);
  const bridge = new McpBridge({
    connect: ownerConnector({ dataDir: cfg.dataDir, becomeOwner, logger }),
    hello: {
      vespera: 'bridge',
      version: BRIDGE_HELLO_VERSION,
      ...(source.kind === 'env' ? { token: source.token } : source.kind === 'file' ? { tokenFile: source.file } : {}),
      ...(process.env.VESPERA_ROLE ? { role: process.env.VESPERA_ROLE } : {}),
    },
    input: process.stdin,
    output: process.stdout,
    logger: logger.child({ component: 'mcp-bridge' }),
  });
  logger.info({ dataDir: cfg.dataDir, owner: announced?.pid }, 'another process owns the data directory: bridging stdio to it');
  await bridge.run();
  shutdown(bridge);
};

const stats = async () => {
  const cfg = config();
  const [{ openEventStore }, { SqliteProjection }, { openReadModel }, { readModelCounts }] = await Promise.all([
    import('./app.js'),
    import('./projections/sqlite/projection.js'),
    import('./projections/sqlite/readModel.js'),
    import('./queries/projects.js'),
  ]);
  const store = openEventStore(cfg);
  const storeStats = await store.stats();
  const file = dataFiles(cfg.dataDir).readModel;
  let projectors: unknown[] = [];
  if (fs.existsSync(file)) {
    const db = openReadModel(file);
    const projection = new SqliteProjection(db);
    const counts = readModelCounts(db);
    projectors = [
      {
        name: projection.name,
        version: projection.version,
        position: projection.checkpoint(),
        lag: storeStats.headPosition - projection.checkpoint(),
        ...counts,
      },
    ];
    db.close();
  }
  await store.close();
  process.stdout.write(`${JSON.stringify({ eventStore: { kind: store.kind, ...storeStats }, projectors }, null, 2)}\n`);
};

/** Registers the plugin when it is new (with these capabilities), records a token for it and prints the token. */
const createToken = async (options: { capabilities: string; plugin?: string; ttl?: string }) => {
  const cfg = config();
  const capabilities = options.capabilities
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const unknown = capabilities.filter((c) => !(CAPABILITIES as readonly string[]).includes(c));
  if (capabilities.length === 0 || unknown.length > 0) {
    console.error(`--capabilities takes a comma list of: ${CAPABILITIES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
    process.exit(2);
  }
  const ttl = options.ttl === undefined ? undefined : parseDurationSeconds(options.ttl);
  if (options.ttl !== undefined && (ttl === undefined || ttl < 60 || ttl > cfg.tokenMaxTtlSeconds)) {
    const max = formatDurationSeconds(cfg.tokenMaxTtlSeconds);
    console.error(
      ttl === undefined
        ? `--ttl takes ${DURATION_FORMS}; ${JSON.stringify(options.ttl)} is neither.`
        : `--ttl ${options.ttl} is outside 60s to ${max}; set VESPERA_TOKEN_MAX_TTL_SECONDS (now ${cfg.tokenMaxTtlSeconds}, at most 31536000 = 1 year) to allow longer tokens.`,
    );
    process.exit(2);
  }
  const pluginId = options.plugin ?? `cli-${randomUUID().slice(0, 8)}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(pluginId)) {
    console.error('--plugin takes an id of letters, digits, _ and - (at most 64)');
    process.exit(2);
  }
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const [{ openEventStore }, { CommandHandler }, { pluginCommands }, { pluginDecider }, { pluginStreamId }, { loadJwtSecret }, { TokenService }] =
    await Promise.all([
      import('./app.js'),
      import('./commands/handler.js'),
      import('./commands/plugins/commands.js'),
      import('./commands/plugins/plugin.js'),
      import('./events/plugins.js'),
      import('./api/auth/secret.js'),
      import('./api/auth/tokens.js'),
    ]);
  const store = openEventStore(cfg);
  const now = () => new Date().toISOString();
  const handler = new CommandHandler<PluginState, PluginCommand, PluginEvent>({ store, decider: pluginDecider });
  const plugins = pluginCommands({ handler, now });
  const meta = { actor: 'cli', tool: 'cli' };
  if ((await handler.load(pluginStreamId(pluginId))).status === 'unregistered') {
    await plugins.register({ pluginId, name: pluginId, type: 'cli', capabilities }, { ...meta, commandId: randomUUID() });
  }
  const tokens = new TokenService(loadJwtSecret(cfg.dataDir, cfg.jwtSecret), cfg.tokenTtlSeconds, cfg.tokenMaxTtlSeconds);
  const jti = randomUUID();
  const expiresAt = new Date(Date.now() + tokens.ttl(ttl) * 1000).toISOString();
  await plugins.recordToken({ pluginId, jti, capabilities, expiresAt }, { ...meta, commandId: randomUUID() });
  const issued = await tokens.issue(pluginId, capabilities, ttl, jti);
  await store.close();
  process.stderr.write(`Token for plugin ${pluginId} (${capabilities.join(', ')}), valid until ${issued.expiresAt}:\n`);
  process.stdout.write(`${issued.token}\n`);
};

// What this process creates is its owner's alone: the data directory (0700) and every file in it (0600), including
// those created later or elsewhere (SQLite's -wal/-shm, the Kuzu files of the graph worker, the Chroma child).
process.umask(0o077);

const program = new Command().name('vespera').description('Event-sourced task orchestration for teams of AI coding agents').version(VERSION);
// `--data-dir` anywhere on the line (`vespera mcp --data-dir /abs/dir`) stands for VESPERA_DATA_DIR, for MCP client configs.
program.option('--data-dir <dir>', 'data directory (default: VESPERA_DATA_DIR, else ./.vespera)').hook('preAction', () => {
  const { dataDir } = program.opts<{ dataDir?: string }>();
  if (dataDir) process.env.VESPERA_DATA_DIR = path.resolve(dataDir);
});
program.command('serve', { isDefault: true }).description('Run the REST API with the embedded stores').action(serve);
// `vespera` alone serves, but a word that names no command is not serve's argument: exit 2 with the list of commands.
program.hook('preSubcommand', (self, sub) => {
  const word = self.args[0];
  if (sub.name() === 'serve' && word !== undefined && word !== 'serve' && !word.startsWith('-'))
    self.showHelpAfterError().error(`error: unknown command '${word}'`, { code: 'commander.unknownCommand', exitCode: 2 });
});
program
  .command('rebuild')
  .description('Rebuild a read model from the event log beside the live one and swap it in (server stopped; a running one: POST /admin/rebuild)')
  .option('--model <model>', 'sqlite | graph | all (sqlite, then graph); vectors rebuild themselves at start', 'sqlite')
  .option('--json', 'progress and the result as JSON lines on stdout')
  .action(async (opts: { model?: string; json?: boolean }) => {
    const { rebuildCommand } = await import('./wiring/rebuildCli.js');
    process.exitCode = await rebuildCommand(config(), opts);
  });
program
  .command('token')
  .description('Plugin tokens')
  .command('create')
  .description('Issue a token (registering the plugin if it is new) and print it on stdout')
  .requiredOption('--capabilities <list>', `comma list of: ${CAPABILITIES.join(', ')}`)
  .option('--plugin <id>', 'plugin id (default: a new cli-… plugin)')
  .option('--ttl <duration>', 'lifetime: seconds or 30s, 15m, 12h, 90d, 2w (default 24h; at most VESPERA_TOKEN_MAX_TTL_SECONDS, 90d unless set)')
  .action(createToken);
program
  .command('services [action] [name]')
  .description('Background services of the running server: list, or start|stop|restart NAME (admin token)')
  .action(async (action?: string, name?: string) => {
    const { servicesCommand } = await import('./wiring/servicesCli.js');
    process.exitCode = await servicesCommand(config(), action, name);
  });
program
  .command('verify')
  .description('Rebuild the read models aside from the log and compare them with the live ones (exit 1 when they differ)')
  .option('--model <model>', 'sqlite, graph, vectors (through a running server) or all', 'all')
  .option('--json', 'print the full report as JSON on stdout')
  .action(async (opts: { model?: string; json?: boolean }) => {
    const cfg = config();
    const [{ openEventStore }, { verifyCommand }] = await Promise.all([import('./app.js'), import('./wiring/verifyCli.js')]);
    process.exitCode = await verifyCommand(cfg, () => openEventStore(cfg), opts);
  });
program
  .command('docs')
  .description("Rewrite the manual's tables generated from the operation catalog")
  .option('--check', 'only report stale tables (exit 1)')
  .action(docs);
/** Runs an audit command on the event store of this data directory, beside a running server or not. */
const withStore = async (run: (store: EventStore, cli: typeof AuditCli) => Promise<number>) => {
  const cfg = config();
  const [{ openEventStore }, cli] = await Promise.all([import('./app.js'), import('./wiring/auditCli.js')]);
  const store = openEventStore(cfg);
  try {
    process.exitCode = await run(store, cli);
  } finally {
    await store.close();
  }
};
const audit = program.command('audit').description('Audit replay from the event log: state as of a point, diffs');
audit
  .command('show <task>')
  .description('A task as it was at a log position or ISO time (default: now)')
  .option('--at <point>', 'log position or ISO-8601 time')
  .option('--json', 'print JSON on stdout')
  .action((task: string, opts: { at?: string; json?: boolean }) => withStore((store, cli) => cli.auditShowCommand(store, task, opts)));
audit
  .command('diff')
  .description('What changed in a project between two points (default: from the start to now)')
  .option('--project <id>', 'project id (required)')
  .option('--from <point>', 'log position or ISO-8601 time')
  .option('--to <point>', 'log position or ISO-8601 time')
  .option('--json', 'print JSON on stdout')
  .action((opts: { project?: string; from?: string; to?: string; json?: boolean }) => withStore((store, cli) => cli.auditDiffCommand(store, opts)));
program
  .command('backup <file>')
  .description('Write the event log up to its head to FILE (NDJSON, checksummed); safe while the server runs')
  .option('--json', 'print the summary as JSON on stdout')
  .action(async (file: string, opts: { json?: boolean }) => {
    const { backupCommand } = await import('./wiring/backupCli.js');
    process.exitCode = await backupCommand(config(), file, opts);
  });
program
  .command('restore <file>')
  .description('Restore a backup into an empty data directory (checks every line first), then rebuild the read models')
  .option('--json', 'print the summary as JSON on stdout')
  .action(async (file: string, opts: { json?: boolean }) => {
    const { restoreCommand } = await import('./wiring/backupCli.js');
    process.exitCode = await restoreCommand(config(), file, opts);
  });
audit
  .command('events')
  .description('Events of the log, oldest first, filtered as GET /audit/events (a table, or --json)')
  .option('--project <id>')
  .option('--stream <id>')
  .option('--task <id>')
  .option('--type <type...>', 'any of these event types (repeat, or a comma list)')
  .option('--actor <id>')
  .option('--role <name>')
  .option('--tool <surface>')
  .option('--correlation <id>')
  .option('--from <time>', 'ISO-8601 with Z or an offset')
  .option('--to <time>', 'ISO-8601 with Z or an offset')
  .option('--from-position <n>')
  .option('--to-position <n>')
  .option('--limit <n>', 'at most this many events (default 100)')
  .option('--json', 'print {items, nextAfterPosition} as JSON on stdout')
  .action(async (opts: AuditEventsOptions) => {
    const cfg = config();
    const [{ openEventStore }, { auditEventsCommand }] = await Promise.all([import('./app.js'), import('./wiring/auditEventsCli.js')]);
    process.exitCode = await auditEventsCommand(cfg, openEventStore, opts);
  });
registerTaskCommands(program, { dataDir: () => config().dataDir });
program.command('stats').description('Events, streams and projector positions, as JSON').action(stats);
program
  .command('mcp')
  .description('Serve the MCP tools over stdio (token: VESPERA_TOKEN, VESPERA_TOKEN_FILE or the admin token; tools: VESPERA_MCP_TOOLS)')
  .action(mcp);

program.parseAsync().catch(async (error: unknown) => {
  // The log does not answer: one line naming it (without its password), exit 3, so a supervisor can tell it apart.
  if (error instanceof EventStoreUnavailableError) {
    console.error(`EVENT_STORE_UNAVAILABLE ${error.message}`);
    process.exit(3);
  }
  // A refusal such as DATA_DIR_OWNED: its code, its sentence and its hint, no stack.
  if (error instanceof DomainError) {
    console.error(`${error.code} ${error.message}${error.hint ? ` ${error.hint}` : ''}`);
    process.exit(1);
  }
  // Role-file and configuration problems are the operator's to fix: say what and where, no stack.
  const { RoleFileError } = await import('./commands/roles/roleFiles.js');
  console.error(error instanceof RoleFileError || error instanceof ConfigError ? error.message : error instanceof Error ? error.message : error);
  process.exit(1);
});
