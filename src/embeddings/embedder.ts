import { createHash } from 'node:crypto';

/** Turns texts into unit vectors. `modelId` is stored beside every vector so two models never mix. */
export interface Embedder {
  readonly modelId: string;
  readonly dimensions: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Descriptions are cut: the model reads short texts best, and long ones cost time without adding meaning. */
const MAX_DESCRIPTION = 1000;

/** The text a task is embedded from: title, the start of its description, and its tags. */
export const taskText = (task: { title: string; description: string; tags: readonly string[] }): string =>
  [task.title, task.description.slice(0, MAX_DESCRIPTION), task.tags.join(' ')].filter((part) => part.trim() !== '').join('\n');

/** Cache key of a text for one model. */
export const contentHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** Dot product; for unit vectors this is the cosine similarity. */
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
};
