import type { Embedder } from './embedder.js';

/**
 * Search queries are embedded on the calling thread (one short text: measured faster than a round trip
 * to the bulk worker, which may be busy with a batch), and the last few hundred are remembered.
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
