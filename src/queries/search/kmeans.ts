import { cosine } from '../../embeddings/embedder.js';

const normalise = (v: Float32Array): Float32Array => {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return v.map((x) => x / n);
};

/**
 * Spherical k-means (cosine) with a deterministic farthest-point start from the first vector, so the
 * same tasks always give the same clusters. Returns the cluster index of every vector.
 */
export const kmeans = (vectors: readonly Float32Array[], k: number, iterations = 25): number[] => {
  const n = vectors.length;
  if (n === 0) return [];
  const centroids: Float32Array[] = [Float32Array.from(vectors[0]!)];
  const nearest = vectors.map((v) => cosine(v, centroids[0]!));
  while (centroids.length < Math.min(k, n)) {
    let far = 0;
    for (let i = 1; i < n; i++) if (nearest[i]! < nearest[far]!) far = i;
    centroids.push(Float32Array.from(vectors[far]!));
    vectors.forEach((v, i) => (nearest[i] = Math.max(nearest[i]!, cosine(v, centroids.at(-1)!))));
  }
  let assignment = new Array<number>(n).fill(0);
  for (let iteration = 0; iteration < iterations; iteration++) {
    const next = vectors.map((v) => {
      let best = 0;
      for (let c = 1; c < centroids.length; c++) if (cosine(v, centroids[c]!) > cosine(v, centroids[best]!)) best = c;
      return best;
    });
    const changed = next.some((c, i) => c !== assignment[i]);
    assignment = next;
    centroids.forEach((_, c) => {
      const sum = new Float32Array(vectors[0]!.length);
      let members = 0;
      vectors.forEach((v, i) => {
        if (assignment[i] !== c) return;
        members += 1;
        for (let d = 0; d < sum.length; d++) sum[d]! += v[d]!;
      });
      if (members > 0) centroids[c] = normalise(sum);
    });
    if (!changed && iteration > 0) break;
  }
  return assignment;
};

const STOPWORDS = new Set(
  'the and for with from into that this when then than are was were not but all any can should would will use using add fix make new our its has have been via per out off get set of to in on at by an or is it be as a'.split(
    ' ',
  ),
);

/** The words that set a cluster apart: frequent in its texts, rare in the others (tf-idf over documents). */
export const topKeywords = (clusterTexts: readonly string[], allTexts: readonly string[], count = 3): string[] => {
  const tokens = (t: string) => new Set((t.toLowerCase().match(/[\p{L}\p{N}_]{3,}/gu) ?? []).filter((w) => !STOPWORDS.has(w)));
  const df = new Map<string, number>();
  for (const text of allTexts) for (const w of tokens(text)) df.set(w, (df.get(w) ?? 0) + 1);
  const tf = new Map<string, number>();
  for (const text of clusterTexts) for (const w of tokens(text)) tf.set(w, (tf.get(w) ?? 0) + 1);
  return [...tf]
    .map(([w, f]) => ({ w, score: f * Math.log(1 + allTexts.length / (df.get(w) ?? 1)) }))
    .sort((a, b) => b.score - a.score || a.w.localeCompare(b.w))
    .slice(0, count)
    .map((x) => x.w);
};
