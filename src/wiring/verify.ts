import fs from 'node:fs';
import type { EventStore } from '../eventstore/eventStore.js';
import { KuzuGraphStore } from '../projections/graph/kuzu.js';
import { GraphFold, verifyGraph, type GraphVerifyReport, type LiveGraph } from '../projections/graph/verify.js';
import { verifySqlite, type SqliteVerifyReport } from '../projections/sqlite/verify.js';
import type { VerifyProgress } from '../projections/verifyReport.js';
import { verifyVectors, type VectorsVerifyReport } from '../projections/vectors/verify.js';
import type { ChromaVectorStore } from '../projections/vectors/vectorStore.js';
import { DomainError } from '../errors.js';
import { dataFiles } from './dataFiles.js';

export const VERIFY_CHOICES = ['sqlite', 'graph', 'vectors', 'all'] as const;
export type VerifyChoice = (typeof VERIFY_CHOICES)[number];
export type VerifyModel = Exclude<VerifyChoice, 'all'>;

export type VerifyReport = Readonly<{
  equal: boolean;
  models: ReadonlyArray<SqliteVerifyReport | GraphVerifyReport | VectorsVerifyReport>;
  seconds: number;
}>;

export type VerifyDeps = Readonly<{
  store: EventStore;
  dataDir: string;
  /** The live graph's consistent cut: from the graph worker in a server, from the Kuzu file (read-only) in the CLI. */
  liveGraph: () => Promise<LiveGraph>;
  /** The vector store when this process runs the vector model (a server with VESPERA_VECTORS=on), else absent. */
  vectors?: () => ChromaVectorStore | undefined;
  /** Differences listed per table (or per nodes/edges), the first in key order. */
  examples?: number;
  signal?: AbortSignal;
}>;

/** `all` is every model this process runs: vectors only where the vector model runs. */
export const modelsOf = (choice: VerifyChoice, withVectors = false): VerifyModel[] =>
  choice === 'all' ? ['sqlite', 'graph', ...(withVectors ? (['vectors'] as const) : [])] : [choice];

const vectorStoreOf = (deps: VerifyDeps): ChromaVectorStore => {
  if (!deps.vectors) throw new DomainError('VECTORS_OFF', 409, 'The vector model is off here (VESPERA_VECTORS=off): there are no vectors to verify.');
  const store = deps.vectors();
  if (!store)
    throw new DomainError('VECTORS_UNAVAILABLE', 503, 'The vector model has not started yet (Chroma is starting or down); try again shortly.');
  return store;
};

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
  // With both models, the graph's cut is taken first so its fold can ride on the SQLite rebuild's read of the log.
  let liveGraph = deps.liveGraph;
  let fold: GraphFold | undefined;
  if (models.includes('sqlite') && models.includes('graph')) {
    onProgress?.({ phase: 'graph: reading the live graph', eventsDone: 0, eventsTotal: 0 });
    const cut = await deps.liveGraph();
    liveGraph = async () => cut;
    fold = new GraphFold(cut.checkpoint?.position ?? 0);
  }
  const reports: VerifyReport['models'][number][] = [];
  for (const model of models) {
    if (model === 'sqlite')
      reports.push(
        await verifySqlite({ ...common, liveFile: files.readModel, tmpDir: files.tmp, ...(fold ? { onEvents: (e) => fold.take(e) } : {}) }),
      );
    else if (model === 'graph') reports.push(await verifyGraph({ ...common, live: liveGraph, ...(fold ? { fold } : {}) }));
    else reports.push(await verifyVectors({ ...common, vectors: vectorStoreOf(deps) }));
  }
  return { equal: reports.every((r) => r.equal), models: reports, seconds: Math.round(performance.now() - started) / 1000 };
};

/**
 * The graph as the Kuzu file holds it, opened read-only. Kuzu lets one process open a database for writing,
 * so this fails while a server has it open: the CLI asks that server instead (serverFile.ts).
 */
export const kuzuFileGraph = (file: string) => async (): Promise<LiveGraph> => {
  if (!fs.existsSync(file)) return { checkpoint: null, graph: { tasks: [], edges: [], children: [], links: [] } };
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
    /** Refuses up front what cannot run here (vectors off or not started), before a job is made for it. */
    check: (choice: VerifyChoice) => {
      if (choice === 'vectors') vectorStoreOf(deps);
    },
    verifyReadModels: (choice: VerifyChoice, report: (p: VerifyProgress) => void) =>
      verifyReadModels({ ...deps, signal: stopping.signal }, modelsOf(choice, deps.vectors?.() !== undefined), report),
    stop: () => stopping.abort(new Error('the server is shutting down')),
  };
};
