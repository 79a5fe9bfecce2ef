import Database from 'better-sqlite3';
import { contentHash, type Embedder } from './embedder.js';

export type CacheStats = { entries: number; hits: number; computed: number };

/**
 * Vectors by (model id, content hash) in `<dataDir>/embeddings.db`: a rebuild or an unchanged update
 * reads them back instead of running the model again. Survives read-model and Chroma resets.
 */
export class EmbeddingCache {
  private readonly db: Database.Database;
  private readonly s;
  private hits = 0;
  private computed = 0;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS embeddings (
      model TEXT NOT NULL, hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, hash)) WITHOUT ROWID`);
    this.s = {
      get: this.db.prepare<[string, string], { vector: Buffer }>('SELECT vector FROM embeddings WHERE model = ? AND hash = ?'),
      put: this.db.prepare<[string, string, Buffer]>('INSERT OR REPLACE INTO embeddings (model, hash, vector) VALUES (?, ?, ?)'),
      count: this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM embeddings'),
    };
  }

  /** The cached vectors among `hashes` (misses are absent from the map). */
  getMany(model: string, hashes: readonly string[]): Map<string, Float32Array> {
    const found = new Map<string, Float32Array>();
    for (const hash of hashes) {
      const row = this.s.get.get(model, hash);
      if (!row) continue;
      found.set(hash, new Float32Array(row.vector.buffer.slice(row.vector.byteOffset, row.vector.byteOffset + row.vector.byteLength)));
    }
    this.hits += found.size;
    return found;
  }

  putMany(model: string, entries: ReadonlyArray<readonly [string, Float32Array]>): void {
    this.db.transaction(() => {
      for (const [hash, vector] of entries) this.s.put.run(model, hash, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
    })();
  }

  /** Vectors for `texts`, computing (and storing) only the ones not cached yet. */
  async embed(embedder: Embedder, texts: readonly string[]): Promise<Float32Array[]> {
    const hashes = texts.map(contentHash);
    const found = this.getMany(embedder.modelId, hashes);
    const missing = [...new Set(hashes.filter((h) => !found.has(h)))];
    if (missing.length > 0) {
      const byHash = new Map(hashes.map((h, i) => [h, texts[i]!]));
      const vectors = await embedder.embed(missing.map((h) => byHash.get(h)!));
      this.computed += vectors.length;
      const entries = missing.map((h, i) => [h, vectors[i]!] as const);
      this.putMany(embedder.modelId, entries);
      for (const [h, v] of entries) found.set(h, v);
    }
    return hashes.map((h) => found.get(h)!);
  }

  stats(): CacheStats {
    return { entries: this.s.count.get()!.n, hits: this.hits, computed: this.computed };
  }

  close(): void {
    this.db.close();
  }
}
