import { ChromaClient, ChromaConnectionError, ChromaServerError, type Collection, type Metadata, type Where } from 'chromadb';
import type { DependencyHealth } from '../../util/dependencyHealth.js';
import { inSpan } from '../../util/spans.js';
import { CHUNK_FANOUT, tasksFromChunkHits } from './chunks.js';

/** `chunk`: 0 for a task's title chunk (stored under the task id), n for its body chunk `<taskId>#<n>` (see chunks.ts). */
export type VectorMetadata = { projectId: string; status: string; priority: string; role: string; tags: string; hash: string; chunk: number };
export type VectorDoc = { id: string; vector: Float32Array; metadata: VectorMetadata };
export type VectorFilter = { status?: readonly string[]; priority?: readonly string[]; role?: string };
export type VectorHit = { id: string; projectId: string; similarity: number };

/** A Chroma that cannot be reached, or answers 5xx, is unwell; a 4xx is an answer. */
export const isChromaOutage = (error: unknown): boolean => error instanceof ChromaConnectionError || error instanceof ChromaServerError;

/** Every call to Chroma goes through `health` with one of these budgets: queries are short; writes (and collection lookups) may carry a whole batch. */
export type ChromaCalls = Readonly<{ health: DependencyHealth; writeTimeoutMs: number; readTimeoutMs: number }>;

const groupBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> => {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
};

/** Project collections asked at once by a search across projects (Chroma is another process: they overlap). */
const QUERY_CONCURRENCY = 8;

/** Records per Chroma write call. */
const WRITE_BATCH = 2000;
const slices = <T>(items: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += WRITE_BATCH) out.push(items.slice(i, i + WRITE_BATCH));
  return out;
};

const tag = (value: string) => value.replace(/[^A-Za-z0-9]+/g, '_');

/**
 * Chroma's JSON parser refuses lone surrogates, and one bad document would stall the projector for good. The API
 * refuses them now (INVALID_STRING), but an older log may still hold one: store U+FFFD in its place.
 */
const wellFormed = (metadata: VectorMetadata): Metadata =>
  Object.fromEntries(
    Object.entries(metadata).map(([key, value]) => [key, typeof value === 'string' ? value.replace(/\p{Cs}/gu, '\uFFFD') : value]),
  ) as Metadata;

const whereOf = (filter: VectorFilter): Where | undefined => {
  const clauses: Where[] = [];
  if (filter.status?.length) clauses.push({ status: { $in: [...filter.status] } });
  if (filter.priority?.length) clauses.push({ priority: { $in: [...filter.priority] } });
  if (filter.role !== undefined) clauses.push({ role: filter.role });
  if (clauses.length === 0) return undefined;
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
};

/**
 * Task vectors in Chroma: one collection per project (filtered queries measured 2.4× faster than a
 * project filter on one shared collection), named after the model and projector version so vectors of
 * two models never meet. The projector's checkpoint lives in Chroma too, in a small metadata collection:
 * if Chroma loses its data, the checkpoint goes with it and the model is rebuilt.
 */
export class ChromaVectorStore {
  private readonly client: ChromaClient;
  private readonly prefix: string;
  private readonly collections = new Map<string, Collection>();
  private known = false;

  /**
   * `generation` > 0 names a blue-green rebuild's collections (`vp_<model>_<version>r<generation>_…`) beside the ones it
   * replaces: no generation's prefix is a prefix of another's, so `projects()` and `reset()` never reach across.
   */
  constructor(
    url: string,
    modelId: string,
    version: number,
    private readonly calls: ChromaCalls,
    readonly generation = 0,
  ) {
    const parsed = new URL(url);
    this.client = new ChromaClient({
      host: parsed.hostname,
      port: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 8000)),
      ssl: parsed.protocol === 'https:',
    });
    this.prefix = `vp_${tag(modelId)}_${version}${generation > 0 ? `r${generation}` : ''}_`;
  }

  private write<T>(what: string, run: () => Promise<T>): Promise<T> {
    return inSpan(`chroma ${what}`, { 'db.system.name': 'chroma' }, () => this.calls.health.call(what, run, this.calls.writeTimeoutMs));
  }

  private read<T>(what: string, run: () => Promise<T>): Promise<T> {
    return inSpan(`chroma ${what}`, { 'db.system.name': 'chroma' }, () => this.calls.health.call(what, run, this.calls.readTimeoutMs));
  }

  private async collection(projectId: string): Promise<Collection> {
    let collection = this.collections.get(projectId);
    if (!collection) {
      collection = await this.write('getOrCreateCollection', () =>
        this.client.getOrCreateCollection({
          name: `${this.prefix}${projectId}_t`,
          embeddingFunction: null,
          configuration: { hnsw: { space: 'cosine' } },
          metadata: { projectId },
        }),
      );
      this.collections.set(projectId, collection);
    }
    return collection;
  }

  /** Every project collection of this model and version. */
  async projects(): Promise<string[]> {
    if (!this.known) {
      for (const c of await this.write('listCollections', () => this.client.listCollections({ limit: 10_000 }))) {
        if (c.name.startsWith(this.prefix) && c.name.endsWith('_t')) this.collections.set(c.name.slice(this.prefix.length, -2), c);
      }
      this.known = true;
    }
    return [...this.collections.keys()];
  }

  private meta() {
    return this.write('getOrCreateCollection', () =>
      this.client.getOrCreateCollection({ name: `${this.prefix}meta`, embeddingFunction: null, metadata: { checkpoint: 0 } }),
    );
  }

  async loadCheckpoint(): Promise<number> {
    const checkpoint = (await this.meta()).metadata?.checkpoint;
    return typeof checkpoint === 'number' ? checkpoint : 0;
  }

  async saveCheckpoint(position: number): Promise<void> {
    const meta = await this.meta();
    await this.write('saveCheckpoint', () => meta.modify({ metadata: { checkpoint: position } }));
  }

  async upsert(docs: readonly VectorDoc[]): Promise<void> {
    const byProject = groupBy(docs, (d) => d.metadata.projectId);
    for (const [projectId, all] of byProject) {
      const collection = await this.collection(projectId);
      // A batch of tasks is several times as many chunk records: keep each call well under Chroma's batch limit.
      for (const group of slices(all)) {
        await this.write('upsert', () =>
          collection.upsert({
            ids: group.map((d) => d.id),
            embeddings: group.map((d) => Array.from(d.vector)),
            metadatas: group.map((d) => wellFormed(d.metadata)),
          }),
        );
      }
    }
  }

  /** New metadata for records that exist, their vectors untouched (a status move sends no embedding). */
  async updateMetadata(docs: ReadonlyArray<Omit<VectorDoc, 'vector'>>): Promise<void> {
    for (const [projectId, all] of groupBy(docs, (d) => d.metadata.projectId)) {
      const collection = await this.collection(projectId);
      for (const group of slices(all)) {
        await this.write('update', () => collection.update({ ids: group.map((d) => d.id), metadatas: group.map((d) => wellFormed(d.metadata)) }));
      }
    }
  }

  async delete(ids: ReadonlyArray<{ id: string; projectId: string }>): Promise<void> {
    for (const [projectId, group] of groupBy(ids, (d) => d.projectId)) {
      const collection = await this.collection(projectId);
      for (const slice of slices(group)) await this.write('delete', () => collection.delete({ ids: slice.map((d) => d.id) }));
    }
  }

  /** Nearest tasks by cosine similarity of their chunks (see tasksFromChunkHits), in one project or across all of them. */
  async query(vector: ArrayLike<number>, opts: { projectId?: string; filter?: VectorFilter; k: number }): Promise<VectorHit[]> {
    const all = await this.projects();
    const projects = opts.projectId === undefined ? all : all.filter((p) => p === opts.projectId);
    const where = whereOf(opts.filter ?? {});
    // Projects are asked at once: Chroma is another process, and a search across six projects measured 82 ms one after another.
    const ask = (projectId: string) => this.queryProject(projectId, vector, where, opts.k);
    const hits: VectorHit[] = [];
    for (let i = 0; i < projects.length; i += QUERY_CONCURRENCY)
      hits.push(...(await Promise.all(projects.slice(i, i + QUERY_CONCURRENCY).map(ask))).flat());
    return hits.sort((a, b) => b.similarity - a.similarity).slice(0, opts.k);
  }

  private async queryProject(projectId: string, vector: ArrayLike<number>, where: Where | undefined, k: number): Promise<VectorHit[]> {
    const collection = await this.collection(projectId);
    const result = await this.read('query', () =>
      collection.query({ queryEmbeddings: [Array.from(vector)], nResults: k * CHUNK_FANOUT, ...(where ? { where } : {}), include: ['distances'] }),
    );
    const chunks = (result.ids[0] ?? []).map((id, i) => ({ id, projectId, similarity: 1 - (result.distances[0]?.[i] ?? 1) }));
    return tasksFromChunkHits(chunks, k);
  }

  /** Stored vectors (title chunks) of some tasks of a project (missing ids are absent). */
  async vectors(projectId: string, ids?: readonly string[], limit = 5000): Promise<Map<string, Float32Array>> {
    if (!(await this.projects()).includes(projectId)) return new Map();
    const collection = await this.collection(projectId);
    // A whole project's vectors (clustering) is a bulk transfer: it gets the write budget.
    const get = () => collection.get({ ...(ids ? { ids: [...ids] } : { limit, where: { chunk: 0 } }), include: ['embeddings'] });
    const result = await (ids ? this.read('get', get) : this.write('get', get));
    return new Map(result.ids.map((id, i) => [id, Float32Array.from(result.embeddings[i] ?? [])]));
  }

  /** Every record of a project's collection: id and content hash (for verify), read in pages of `page`. */
  async hashes(projectId: string, page = 5000): Promise<Map<string, string>> {
    const collection = await this.collection(projectId);
    const out = new Map<string, string>();
    for (let offset = 0; ; offset += page) {
      const result = await this.write('get', () => collection.get({ limit: page, offset, include: ['metadatas'] }));
      result.ids.forEach((id, i) => out.set(id, String(result.metadatas[i]?.hash ?? '')));
      if (result.ids.length < page) return out;
    }
  }

  async count(): Promise<number> {
    let total = 0;
    for (const projectId of await this.projects()) {
      const collection = await this.collection(projectId);
      total += await this.read('count', () => collection.count());
    }
    return total;
  }

  /** Drops every collection of this model and version (the checkpoint included). */
  async reset(): Promise<void> {
    for (const c of await this.write('listCollections', () => this.client.listCollections({ limit: 10_000 }))) {
      if (c.name.startsWith(this.prefix)) await this.write('deleteCollection', () => this.client.deleteCollection({ name: c.name }));
    }
    this.collections.clear();
    this.known = false;
  }

  /** Forget cached collection handles (after Chroma restarts they may point at nothing). */
  forget(): void {
    this.collections.clear();
    this.known = false;
  }
}
