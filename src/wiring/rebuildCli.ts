import fs from 'node:fs';
import cliProgress from 'cli-progress';
import { openEventStore } from '../app.js';
import type { Config } from '../config.js';
import { rebuildGraphFile } from '../projections/graph/index.js';
import { rebuildReadModelFile, type RebuildProgress } from '../projections/sqlite/rebuild.js';
import { eventStoreSpec } from './rebuildModels.js';
import { dataFiles } from './dataFiles.js';
import { readServerFile as runningServer } from './serverFile.js';

const MODELS = ['sqlite', 'graph', 'vectors', 'all'];

/**
 * `vespera rebuild [--model M] [--json]` with the server stopped: builds the SQLite read model (`sqlite`), the graph
 * (`graph`) or both (`all`) beside the live file and renames it in. A bar on stderr when it is a terminal, else one JSON line of progress per update on stdout.
 * Exit 0 rebuilt, 1 refused (a server owns the data directory: it rebuilds blue-green through the API), 2 usage.
 */
export const rebuildCommand = async (config: Config, opts: { model?: string; json?: boolean }): Promise<number> => {
  const model = opts.model ?? 'sqlite';
  if (!MODELS.includes(model)) {
    process.stderr.write(`--model takes one of: ${MODELS.join(', ')}\n`);
    return 2;
  }
  if (model === 'vectors') {
    process.stderr.write(
      'The vectors model rebuilds itself when the server starts (empty, or built by another projector version); this command rebuilds sqlite and graph.\n',
    );
    return 1;
  }
  const server = runningServer(config.dataDir);
  if (server) {
    process.stderr.write(
      `A server (pid ${server.pid}, ${server.url}) owns ${config.dataDir}: rebuild through it with POST ${server.url}/api/v1/admin/rebuild {"model":"${model}"} (admin token in ${dataFiles(config.dataDir).adminToken}); it swaps blue-green while it keeps answering.\n`,
    );
    return 1;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const store = openEventStore(config);
  const tty = process.stderr.isTTY && !opts.json;
  let head = 0;
  /** One model's rebuild with its bar (terminal) or JSON progress lines (otherwise). */
  const withProgress = async <R extends { events: number; seconds: number; eventsPerSecond: number }>(
    name: string,
    label: string,
    run: (progress: (position: number, events: number) => void) => Promise<R>,
  ): Promise<void> => {
    const bar = new cliProgress.SingleBar(
      { format: `rebuild ${name} [{bar}] {percentage}% | {value}/{total} | {rate} events/s | ETA {eta}s`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    let lastLine = 0;
    const progress = (position: number, events: number) => {
      const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
      const eventsPerSecond = Math.round(events / seconds);
      if (tty) return bar.update(position, { rate: eventsPerSecond });
      if (Date.now() - lastLine < 250 && position < head) return;
      lastLine = Date.now();
      const etaSeconds = eventsPerSecond > 0 ? Math.round(Math.max(0, head - position) / eventsPerSecond) : null;
      process.stdout.write(
        `${JSON.stringify({ phase: `${name}: building aside`, eventsDone: events, eventsTotal: head, eventsPerSecond, etaSeconds })}\n`,
      );
    };
    if (tty) bar.start(Math.max(1, head), 0, { rate: 0 });
    const result = await run(progress);
    if (tty) bar.stop();
    if (opts.json) process.stdout.write(`${JSON.stringify({ model: name, ...result })}\n`);
    process.stderr.write(
      `Rebuilt the ${label} from ${result.events} events in ${result.seconds.toFixed(2)} s (${result.eventsPerSecond} events/s).\n`,
    );
  };
  try {
    head = await store.headPosition();
    if (model === 'sqlite' || model === 'all') {
      await withProgress('sqlite', 'SQLite read model', (progress) =>
        rebuildReadModelFile(eventStoreSpec(config), dataFiles(config.dataDir).readModel, (p: RebuildProgress) => progress(p.position, p.events)),
      );
    }
    if (model === 'graph' || model === 'all') {
      await withProgress('graph', 'graph read model', (progress) => rebuildGraphFile(store, dataFiles(config.dataDir).graph, progress));
    }
    return 0;
  } finally {
    await store.close();
  }
};
