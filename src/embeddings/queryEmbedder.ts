import type { Embedder } from './embedder.js';

/**
 * Remembers the last few hundred query vectors. Search queries are embedded in a worker thread of their
 * own (not the bulk worker, which may be busy with a batch of 64 texts): a short text takes 15-20 ms of
 * model time, which on the API thread stalled every other request and ran one after the keyword half of a
 * hybrid search, where in the worker it runs beside it (the round trip costs about 0.2 ms).
 */
export const withQueryCache = (embedder: Embedder, size = 500) => {
  const recent = new Map<string, Float32Array>();
  return async (text: string): Promise<Float32Array> => {
    const hit = recent.get(text);
    if (hit) {
      recent.delete(text);
      recent.set(text, hit);
      return hit;
    }
    const [vector] = await embedder.embed([text]);
    recent.set(text, vector!);
    if (recent.size > size) recent.delete(recent.keys().next().value!);
    return vector!;
  };
};
