import type { EmbeddingCache } from '../embeddings/cache.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { JobHandler } from './queue.js';

export const EMBED_QUEUE = 'embeddings';

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
 * milliseconds of each other share one model call (the model is several times faster per text in batches).
 */
export const embedJobHandler = (cache: EmbeddingCache, embedder: Embedder, maxBatch = 64, windowMs = 5): JobHandler => {
  type Waiting = { text: string; resolve: (vector: string) => void; reject: (e: unknown) => void };
  const waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();

  const flush = () => {
    timer = undefined;
    const batch = waiting.splice(0, maxBatch);
    if (waiting.length > 0) timer = setTimeout(flush, 0);
    running = running.then(async () => {
      try {
        const vectors = await cache.embed(
          embedder,
          batch.map((w) => w.text),
        );
        batch.forEach((w, i) => w.resolve(encodeVector(vectors[i]!)));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    });
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
