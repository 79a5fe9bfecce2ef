import type Database from 'better-sqlite3';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { EmbeddingCache } from '../embeddings/cache.js';
import { withQueryCache } from '../embeddings/queryEmbedder.js';
import { loadUseLite } from '../embeddings/useLite.js';
import { startWorkerEmbedder } from '../embeddings/workerEmbedder.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { decodeVector, EMBED_QUEUE, embedJobHandler, embedJobId } from '../jobs/embedJob.js';
import type { JobQueue } from '../jobs/queue.js';
import { Projector } from '../projections/projector.js';
import { ChromaServer, heartbeat, type ChromaStatus } from '../projections/vectors/chromaServer.js';
import { VECTOR_PROJECTION_VERSION, VectorProjection } from '../projections/vectors/vectorProjection.js';
import { ChromaVectorStore, isChromaOutage } from '../projections/vectors/vectorStore.js';
import { DependencyHealth } from '../util/dependencyHealth.js';

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

/** Longest the projector waits for one embedding job (queued behind others during a rebuild). */
const JOB_WAIT_MS = 120_000;

/** Everything the vector read model needs: embedders, cache, Chroma (embedded or external), projection and projector. */
export const startVectors = async ({ config, logger, store, readDb, sqlite, queue }: VectorRuntimeDeps) => {
  const log = logger.child({ component: 'vectors' });
  const cache = new EmbeddingCache(path.join(config.dataDir, 'embeddings.db'));
  const bulk = startWorkerEmbedder({ timeoutMs: config.embedTimeoutMs });
  const inThread = await loadUseLite();
  // The model's first call is several times slower than the rest, and it runs on this thread: pay it now, not in a request.
  await inThread.embed(['warm up']);
  const embedQuery = withQueryCache(inThread);
  await queue.process(EMBED_QUEUE, embedJobHandler(cache, bulk), 64);

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
  const boot = async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        if (server && !server.isUp) await server.start();
        vectors = new ChromaVectorStore(url(), bulk.modelId, VECTOR_PROJECTION_VERSION, calls);
        projection = new VectorProjection({ vectors, readDb, afterSqlite: (p) => sqlite.waitFor(p, 60_000), vectorsFor });
        await projection.load();
        projector = new Projector(store, projection, log, 1000);
        if (!stopped) await projector.start();
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
  const booted = boot();

  return {
    cache,
    bulk,
    embedQuery,
    modelId: bulk.modelId,
    booted,
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
      chroma.stop();
      await projector?.stop();
      await server?.stop();
      await Promise.all([bulk.close(), inThread.close()]);
      cache.close();
    },
  };
};

export type VectorRuntime = Awaited<ReturnType<typeof startVectors>>;
