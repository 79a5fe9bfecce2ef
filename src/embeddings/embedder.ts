import { createHash } from 'node:crypto';

/** Turns texts into unit vectors. `modelId` is stored beside every vector so two models never mix. */
export interface Embedder {
  readonly modelId: string;
  readonly dimensions: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Cache key of a text for one model. */
export const contentHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** Dot product; for unit vectors this is the cosine similarity. */
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
};
