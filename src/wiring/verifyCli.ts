import fs from 'node:fs';
import cliProgress from 'cli-progress';
import type { Config } from '../config.js';
import type { EventStore } from '../eventstore/eventStore.js';
import type { VerifyProgress } from '../projections/verifyReport.js';
import { dataFiles } from './dataFiles.js';
import { readServerFile, type ServerFile } from './serverFile.js';
import { kuzuFileGraph, modelsOf, VERIFY_CHOICES, verifyReadModels, type VerifyChoice, type VerifyReport } from './verify.js';
import { printVerifyReport } from './verifyOutput.js';

/** Progress on stderr: a bar on a terminal, otherwise one JSON line per phase and at most one a second. */
const progressOutput = () => {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: '{phase} [{bar}] {value}/{total} events', stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let phase = '';
    return {
      report: (p: VerifyProgress) => {
        if (p.phase !== phase) {
          if (phase) bar.stop();
          phase = p.phase;
          bar.start(Math.max(1, p.eventsTotal), p.eventsDone, { phase });
        } else bar.update(p.eventsDone, { phase });
      },
      stop: () => phase && bar.stop(),
    };
  }
  let last = { phase: '', at: 0 };
  return {
    report: (p: VerifyProgress) => {
      if (p.phase === last.phase && Date.now() - last.at < 1000) return;
      last = { phase: p.phase, at: Date.now() };
      process.stderr.write(`${JSON.stringify({ progress: p })}\n`);
    },
    stop: () => undefined,
  };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The running server verifies its own models (it alone may open the graph); this follows its job to the end. */
const askServer = async (server: ServerFile, dataDir: string, choice: VerifyChoice, report: (p: VerifyProgress) => void): Promise<VerifyReport> => {
  const tokenFile = dataFiles(dataDir).adminToken;
  const token = process.env.VESPERA_TOKEN ?? (fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : undefined);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const call = async (url: string) => {
    const response = await fetch(`${server.url}/api/v1${url}`, { headers });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`The server at ${server.url} answered ${response.status}: ${String(body.detail ?? JSON.stringify(body))}`);
    return body;
  };
  let job = await call(`/admin/verify?model=${encodeURIComponent(choice)}`);
  while (job.state === 'running') {
    await sleep(250);
    job = await call(`/admin/jobs/${encodeURIComponent(String(job.id))}`);
    report(job.progress as VerifyProgress);
  }
  if (job.state !== 'succeeded') throw new Error(`The verify job ${String(job.id)} failed on the server: ${String(job.error)}`);
  return job.result as unknown as VerifyReport;
};

/**
 * `vespera verify [--model sqlite|graph|vectors|all] [--json]`: exit 0 when every model equals its rebuild, 1 when one
 * differs (or the check could not run), 2 on a usage error. With a server running on the data directory
 * (server.json), the server runs the check; otherwise this process does, reading the stores read-only.
 */
export const verifyCommand = async (cfg: Config, openStore: () => EventStore, opts: { model?: string; json?: boolean }): Promise<number> => {
  const choice = (opts.model ?? 'all') as VerifyChoice;
  if (!VERIFY_CHOICES.includes(choice)) {
    console.error(`--model takes one of: ${VERIFY_CHOICES.join(', ')}`);
    return 2;
  }
  const progress = progressOutput();
  let result: VerifyReport;
  try {
    const server = readServerFile(cfg.dataDir);
    if (server) {
      process.stderr.write(`A server (pid ${server.pid}) owns ${cfg.dataDir}: it runs the check, ${server.url}\n`);
      result = await askServer(server, cfg.dataDir, choice, progress.report);
    } else {
      if (!fs.existsSync(dataFiles(cfg.dataDir).events) && cfg.eventStore === 'sqlite') throw new Error(`There is no event log in ${cfg.dataDir}.`);
      const store = openStore();
      try {
        const deps = { store, dataDir: cfg.dataDir, liveGraph: kuzuFileGraph(dataFiles(cfg.dataDir).graph) };
        if (choice === 'vectors') throw new Error('the vector model lives in the Chroma a server runs: start the server, then verify again.');
        if (cfg.vectors === 'on') process.stderr.write('No server runs on this data directory: the vectors (its Chroma) are not checked.\n');
        result = await verifyReadModels(deps, modelsOf(choice), progress.report);
      } finally {
        await store.close();
      }
    }
  } catch (error) {
    progress.stop();
    console.error(`verify could not run: ${(error as Error).message}`);
    return 1;
  }
  progress.stop();
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else printVerifyReport(result, (line) => process.stdout.write(`${line}\n`));
  return result.equal ? 0 : 1;
};
