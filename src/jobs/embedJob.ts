import type { EmbeddingCache } from '../embeddings/cache.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { JobHandler } from './queue.js';

export const EMBED_QUEUE = 'embeddings';

/**
 * Texts in one call of the handler. Large, because the pool sorts a call by length before it cuts it into the model's
 * batches, and the less a batch is padded the less the model computes (measured one thread, 1,024 titles: 9.0 ms a
 * title in calls of 64, 7.8 in calls of 128, 7.6 in one call).
 */
export const EMBED_BATCH = 256;
/** Embedding jobs run at once: several calls of `EMBED_BATCH` in flight, so the workers always hold the next one. */
export const EMBED_CONCURRENCY = 4 * EMBED_BATCH;

/** One job per task text: a task updated twice with the same text queues one job. */
export const embedJobId = (taskId: string, hash: string): string => `${taskId}-${hash}`;

export type EmbedJobData = { taskId: string; hash: string; text: string };

/** Job results travel through Redis as JSON: the vector as base64 of its float32 bytes. */
const encodeVector = (vector: Float32Array): string => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
export const decodeVector = (encoded: string): Float32Array => {
  const bytes = Buffer.from(encoded, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/**
 * The auto_embedding job: the text's vector, from the cache or computed (and cached), returned encoded. Jobs that arrive within a few
 * milliseconds of each other share one model call (the model is several times faster per text in batches). Calls are not chained:
 * a queue run with more jobs at once than `maxBatch` keeps several calls in flight, which a pool of workers answers side by side
 * (and one worker in order), so no worker waits while the results of the previous call travel back and the next jobs arrive.
 */
export const embedJobHandler = (cache: EmbeddingCache, embedder: Embedder, maxBatch = EMBED_BATCH, windowMs = 5): JobHandler => {
  type Waiting = { text: string; resolve: (vector: string) => void; reject: (e: unknown) => void };
  const waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    timer = undefined;
    const batch = waiting.splice(0, maxBatch);
    if (waiting.length > 0) timer = setTimeout(flush, 0);
    cache
      .embed(
        embedder,
        batch.map((w) => w.text),
      )
      .then(
        (vectors) => batch.forEach((w, i) => w.resolve(encodeVector(vectors[i]!))),
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      );
  };

  return (data) =>
    new Promise<string>((resolve, reject) => {
      waiting.push({ text: String((data as EmbedJobData).text), resolve, reject });
      if (waiting.length >= maxBatch) {
        clearTimeout(timer);
        flush();
      } else timer ??= setTimeout(flush, windowMs);
    });
};
