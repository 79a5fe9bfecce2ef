import type Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { EmbeddingCache } from '../embeddings/cache.js';
import { withQueryCache } from '../embeddings/queryEmbedder.js';
import { startWorkerEmbedder, startWorkerPool } from '../embeddings/workerEmbedder.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { decodeVector, EMBED_CONCURRENCY, EMBED_QUEUE, embedJobHandler, embedJobId } from '../jobs/embedJob.js';
import type { JobQueue } from '../jobs/queue.js';
import { Projector } from '../projections/projector.js';
import { ChromaServer, heartbeat, type ChromaStatus } from '../projections/vectors/chromaServer.js';
import { VECTOR_PROJECTION_VERSION, VectorProjection } from '../projections/vectors/vectorProjection.js';
import { ChromaVectorStore, isChromaOutage } from '../projections/vectors/vectorStore.js';
import { DependencyHealth } from '../util/dependencyHealth.js';
import { withTimeout } from '../util/timeout.js';
import { DomainError } from '../errors.js';
import type { ProgressReport } from '../jobs/adminJobs.js';
import { dataFiles } from './dataFiles.js';

export type VectorRuntimeDeps = Readonly<{
  config: Config;
  logger: Logger;
  store: EventStore;
  readDb: Database.Database;
  sqlite: Projector;
  queue: JobQueue;
}>;

export type VectorsStatus = {
  chroma: ChromaStatus | { mode: 'external'; url: string; state: 'up' | 'down' };
  model: string;
  cache: ReturnType<EmbeddingCache['stats']>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Which Chroma collections the model answers from: the projector version and embedding model that wrote them, and their generation. */
type Generation = Readonly<{ generation: number; version: number; model: string | undefined }>;

/** No file: the first generation, written (if at all) by this version before generations were recorded. */
const readGeneration = (file: string): Generation => {
  try {
    const { generation, version, model } = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    return {
      generation: Number.isSafeInteger(generation) && (generation as number) >= 0 ? (generation as number) : 0,
      version: Number.isSafeInteger(version) ? (version as number) : VECTOR_PROJECTION_VERSION,
      model: typeof model === 'string' ? model : undefined,
    };
  } catch {
    return { generation: 0, version: VECTOR_PROJECTION_VERSION, model: undefined };
  }
};

/** Written by rename, so a crash leaves the old generation or the new one, never half a file. */
const writeGeneration = (file: string, generation: Generation): void => {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...generation, swappedAt: new Date().toISOString() }), { mode: 0o600 });
  fs.renameSync(tmp, file);
};

/** Longest the projector waits for one embedding job (queued behind others during a rebuild). */
const JOB_WAIT_MS = 120_000;

/** Everything the vector read model needs: embedders, cache, Chroma (embedded or external), projection and projector. */
export const startVectors = async ({ config, logger, store, readDb, sqlite, queue }: VectorRuntimeDeps) => {
  const log = logger.child({ component: 'vectors' });
  const cache = new EmbeddingCache(path.join(config.dataDir, 'embeddings.db'));
  const bulk = startWorkerPool({ threads: config.embedThreads, nice: config.embedNice, timeoutMs: config.embedTimeoutMs });
  // Queries have a worker of their own (see queryEmbedder.ts); the model's first call is several times slower: pay it now.
  const queries = startWorkerEmbedder({ timeoutMs: config.embedTimeoutMs });
  await queries.embed(['warm up']);
  const embedQuery = withQueryCache(queries);
  await queue.process(EMBED_QUEUE, embedJobHandler(cache, bulk), EMBED_CONCURRENCY);

  const server = config.chromaUrl ? undefined : new ChromaServer(path.join(config.dataDir, 'chroma'), log);
  const url = () => config.chromaUrl ?? server!.url;
  // Probed on an interval, so a Chroma that stopped answering (SIGSTOP, a hung host) is reported, and noticed once it answers.
  const chroma = new DependencyHealth('chroma', {
    timeoutMs: config.chromaQueryTimeoutMs,
    probeIntervalMs: config.probeIntervalMs,
    isOutage: isChromaOutage,
    probe: async () => {
      if (!(await heartbeat(url(), 2 * config.chromaQueryTimeoutMs))) throw new Error(`Chroma at ${url()} did not answer its heartbeat`);
    },
  });
  const calls = { health: chroma, writeTimeoutMs: config.chromaTimeoutMs, readTimeoutMs: config.chromaQueryTimeoutMs };
  let vectors: ChromaVectorStore | undefined;

  const vectorsFor = async (items: ReadonlyArray<{ taskId: string; hash: string; text: string }>) => {
    const found = cache.getMany(
      bulk.modelId,
      items.map((i) => i.hash),
    );
    const missing = [...new Map(items.filter((i) => !found.has(i.hash)).map((i) => [i.hash, i])).values()];
    const results = await Promise.all(missing.map((i) => queue.run(EMBED_QUEUE, embedJobId(i.taskId, i.hash), { ...i }, JOB_WAIT_MS)));
    const fresh = missing.map((i, n) => [i.hash, decodeVector(String(results[n]))] as const);
    const stored = new Set(
      cache
        .getMany(
          bulk.modelId,
          fresh.map(([h]) => h),
        )
        .keys(),
    );
    cache.putMany(
      bulk.modelId,
      fresh.filter(([h]) => !stored.has(h)),
    );
    for (const [h, v] of fresh) found.set(h, v);
    return items.map((i) => found.get(i.hash)!);
  };

  let projector: Projector | undefined;
  let projection: VectorProjection | undefined;
  let stopped = false;
  const stopping = new AbortController();
  let rebuilding = false;
  const generationFile = dataFiles(config.dataDir).vectorGeneration;
  const afterSqlite = (position: number) => sqlite.waitFor(position, 60_000);
  const boot = async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        if (server && !server.isUp) await server.start();
        const recorded = readGeneration(generationFile);
        // Vectors of another embedding model do not answer this model's queries: those collections are left alone.
        const sameModel = recorded.model === undefined || recorded.model === bulk.modelId;
        const older = sameModel && recorded.version !== VECTOR_PROJECTION_VERSION;
        vectors = sameModel
          ? new ChromaVectorStore(url(), bulk.modelId, recorded.version, calls, recorded.generation)
          : new ChromaVectorStore(url(), bulk.modelId, VECTOR_PROJECTION_VERSION, calls, recorded.generation + 1);
        if (!sameModel) writeGeneration(generationFile, { generation: vectors.generation, version: VECTOR_PROJECTION_VERSION, model: bulk.modelId });
        projection?.close();
        projection = new VectorProjection({ vectors, readDb, afterSqlite, vectorsFor }, older);
        await projection.load();
        projector = new Projector(store, projection, log, 1000);
        if (older)
          log.warn(
            { version: recorded.version, now: VECTOR_PROJECTION_VERSION },
            'vectors were built by another projector version; rebuilding them aside',
          );
        // Built by another version: the old collections answer while the current version is built aside (blue-green).
        if (!stopped) await projector.start(older ? { rebuildAside: () => rebuild(() => {}, stopping.signal) } : {});
        return;
      } catch (error) {
        log.warn({ err: error }, 'vector read model could not start; retrying');
        await sleep(Math.min(10_000, 500 * 2 ** attempt));
      }
    }
  };
  chroma.startProbing();
  // Back after a stall: the projector retries on its own, this only spares it the wait.
  chroma.onUp(() => void projector?.catchUp());
  server?.onUp(() => {
    chroma.succeeded();
    if (!projector || !projection || !vectors) return;
    vectors.forget();
    void projection.load().then(
      () => projector?.catchUp(),
      (error: unknown) => log.warn({ err: error }, 'reloading the vector checkpoint failed'),
    );
  });
  /**
   * Blue-green: the next generation of collections is seeded from the SQLite read model's tasks (vectors from the
   * embedding cache where the text is known), follows the log up to the head while searches go on against the current
   * one, then takes its place; the old collections are dropped after the swap. A failure or an abort drops what was
   * built aside and leaves the current model answering.
   */
  const rebuild = async (report: (progress: ProgressReport) => void, signal: AbortSignal) => {
    const current = vectors;
    if (!projector || !current || stopped) {
      throw new DomainError(
        'VECTORS_UNAVAILABLE',
        503,
        'The vector read model has not started (Chroma or the model is not up yet), so it cannot be rebuilt now.',
        {},
        'Wait until /health shows the vectors projector running, then ask again.',
      );
    }
    if (rebuilding) {
      throw new DomainError(
        'JOB_RUNNING',
        409,
        'The vector read model is being rebuilt already (at start, after a projector version change).',
        {},
        'Wait for it to finish.',
      );
    }
    // Texts the cache lacks are embedded through the queue: paused, the rebuild would wait on it without end.
    if ((await queue.stats(EMBED_QUEUE)).paused) {
      throw new DomainError(
        'EMBEDDINGS_PAUSED',
        409,
        'The auto_embedding service is stopped, so the vectors cannot be rebuilt now: texts the cache lacks would wait for it.',
        {},
        'Start it (POST /api/v1/services/auto_embedding/start), then ask again.',
      );
    }
    rebuilding = true;
    const started = Date.now();
    const aside = new ChromaVectorStore(url(), bulk.modelId, VECTOR_PROJECTION_VERSION, calls, current.generation + 1);
    try {
      // What an earlier, abandoned rebuild left behind.
      await aside.reset();
      const next = new VectorProjection({ vectors: aside, readDb, afterSqlite, vectorsFor });
      const from = sqlite.currentPosition;
      const total = (readDb.prepare('SELECT count(*) AS n FROM tasks').get() as { n: number }).n;
      report({ phase: 'seed', eventsDone: 0, eventsTotal: total });
      const tasks = await next.seed(from, {
        signal,
        onProgress: (done) => report({ phase: 'seed', eventsDone: done, eventsTotal: Math.max(total, done) }),
      });
      signal.throwIfAborted();
      report({ phase: 'catch-up', eventsDone: from, eventsTotal: await store.headPosition() });
      const { position } = await projector.replaceProjection(
        next,
        () => {
          writeGeneration(generationFile, { generation: aside.generation, version: VECTOR_PROJECTION_VERSION, model: bulk.modelId });
          vectors = aside;
          projection?.close();
          projection = next;
          return next;
        },
        { signal },
      );
      log.info({ generation: aside.generation, tasks, position }, 'vector read model rebuilt blue-green and swapped in');
      // Searches that took the old collections just before the swap finish against them first (a query has this long).
      await sleep(calls.readTimeoutMs);
      await current
        .reset()
        .catch((error: unknown) => log.warn({ err: error, generation: current.generation }, 'could not drop the replaced vector collections'));
      return { tasks, position, generation: aside.generation, seconds: (Date.now() - started) / 1000 };
    } catch (error) {
      if (vectors !== aside) await aside.reset().catch(() => undefined);
      throw error;
    } finally {
      rebuilding = false;
    }
  };

  const booted = boot();

  return {
    cache,
    bulk,
    embedQuery,
    modelId: bulk.modelId,
    booted,
    rebuild,
    embeddingsPaused: async () => (await queue.stats(EMBED_QUEUE)).paused,
    get store(): ChromaVectorStore | undefined {
      return vectors;
    },
    get projector(): Projector | undefined {
      return projector;
    },
    /** Worth asking Chroma at all (the embedded server is up, and Chroma answered its last call or probe). */
    available: () => vectors !== undefined && (server ? server.isUp : true) && chroma.up,
    chromaServer: server,
    /** Chroma and the embedding worker, as their last calls and probes found them. */
    dependencies: () => [chroma.status(), bulk.health.status()],
    status: (): VectorsStatus => ({
      chroma: server ? server.status() : { mode: 'external', url: config.chromaUrl!, state: chroma.up ? 'up' : 'down' },
      model: bulk.modelId,
      cache: cache.stats(),
    }),
    stop: async () => {
      stopped = true;
      stopping.abort();
      // A rebuild at start sees the abort between pages; one waiting on Chroma or the embedder is not waited for long.
      if (projector?.rebuildingAtStart) await withTimeout(projector.rebuildingAtStart, 5000, 'the vector rebuild at start').catch(() => undefined);
      chroma.stop();
      await projector?.stop();
      projection?.close();
      await server?.stop();
      await Promise.all([bulk.close(), queries.close()]);
      cache.close();
    },
  };
};

export type VectorRuntime = Awaited<ReturnType<typeof startVectors>>;
