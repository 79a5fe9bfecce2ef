import fs from 'node:fs';
import type { EventStore } from '../eventstore/eventStore.js';
import { KuzuGraphStore } from '../projections/graph/kuzu.js';
import { verifyGraph, type GraphVerifyReport, type LiveGraph } from '../projections/graph/verify.js';
import { verifySqlite, type SqliteVerifyReport } from '../projections/sqlite/verify.js';
import type { VerifyProgress } from '../projections/verifyReport.js';
import { dataFiles } from './dataFiles.js';

export const VERIFY_CHOICES = ['sqlite', 'graph', 'all'] as const;
export type VerifyChoice = (typeof VERIFY_CHOICES)[number];
export type VerifyModel = Exclude<VerifyChoice, 'all'>;

export type VerifyReport = Readonly<{
  equal: boolean;
  models: ReadonlyArray<SqliteVerifyReport | GraphVerifyReport>;
  seconds: number;
}>;

export type VerifyDeps = Readonly<{
  store: EventStore;
  dataDir: string;
  /** The live graph's consistent cut: from the graph worker in a server, from the Kuzu file (read-only) in the CLI. */
  liveGraph: () => Promise<LiveGraph>;
  /** Differences listed per table (or per nodes/edges), the first in key order. */
  examples?: number;
  signal?: AbortSignal;
}>;

export const modelsOf = (choice: VerifyChoice): VerifyModel[] => (choice === 'all' ? ['sqlite', 'graph'] : [choice]);

/**
 * Rebuilds each chosen read model aside from the log up to the live model's own checkpoint and compares the
 * two. It reads the live models only; what it builds goes to `<dataDir>/tmp` and is removed.
 */
export const verifyReadModels = async (
  deps: VerifyDeps,
  models: readonly VerifyModel[],
  onProgress?: (p: VerifyProgress) => void,
): Promise<VerifyReport> => {
  const started = performance.now();
  const files = dataFiles(deps.dataDir);
  const common = {
    store: deps.store,
    onProgress,
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.examples ? { examples: deps.examples } : {}),
  };
  const reports: Array<SqliteVerifyReport | GraphVerifyReport> = [];
  for (const model of models) {
    if (model === 'sqlite') reports.push(await verifySqlite({ ...common, liveFile: files.readModel, tmpDir: files.tmp }));
    else reports.push(await verifyGraph({ ...common, live: deps.liveGraph }));
  }
  return { equal: reports.every((r) => r.equal), models: reports, seconds: Math.round(performance.now() - started) / 1000 };
};

/**
 * The graph as the Kuzu file holds it, opened read-only. Kuzu lets one process open a database for writing,
 * so this fails while a server has it open: the CLI asks that server instead (serverFile.ts).
 */
export const kuzuFileGraph = (file: string) => async (): Promise<LiveGraph> => {
  if (!fs.existsSync(file)) return { checkpoint: null, graph: { tasks: [], edges: [], children: [] } };
  let graph: KuzuGraphStore;
  try {
    graph = KuzuGraphStore.open(file, { readOnly: true });
  } catch (error) {
    throw new Error(`Could not open the graph ${file} read-only (${(error as Error).message}); is a server running on this data directory?`);
  }
  try {
    return { checkpoint: graph.checkpoint() ?? null, graph: graph.dump() };
  } finally {
    graph.close();
  }
};

/**
 * What a server runs for `GET /admin/verify`: its own graph worker gives the live graph. `stop` aborts a
 * check under way (between batches) so the server can close its stores; the job then fails, saying so.
 */
export const serverVerifier = (deps: Omit<VerifyDeps, 'signal'>) => {
  const stopping = new AbortController();
  return {
    verifyReadModels: (choice: VerifyChoice, report: (p: VerifyProgress) => void) =>
      verifyReadModels({ ...deps, signal: stopping.signal }, modelsOf(choice), report),
    stop: () => stopping.abort(new Error('the server is shutting down')),
  };
};
