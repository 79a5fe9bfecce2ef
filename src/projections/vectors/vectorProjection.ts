import type Database from 'better-sqlite3';
import { databaseOf } from '../sqlite/swappable.js';
import { STATUS_AFTER_EVENT } from '../../events/project.js';
import type { StoredEvent } from '../../events/types.js';
import { taskChunks } from '../../embeddings/chunks.js';
import { contentHash } from '../../embeddings/embedder.js';
import type { Projection } from '../projector.js';
import { chunkId, surplusChunkIds } from './chunks.js';
import type { ChromaVectorStore, VectorDoc } from './vectorStore.js';

const VECTOR_PROJECTOR = 'vectors';
/** 2: a task is its title chunk plus body chunks (was one vector of title and the first 1,000 characters). */
export const VECTOR_PROJECTION_VERSION = 2;

type TaskSource = { title: string; description: string; tags: string; status: string; priority: string; role: string | null };
type TaskRow = TaskSource & { id: string; projectId: string };

/** Chunk records written to Chroma at once while the next ones are embedded (about one call of the embedding jobs). */
const STORE_PART = 256;

/** Tasks read per page when a rebuild seeds a model from the SQLite read model. */
const SEED_PAGE = 500;

/** The vector model's own lookup of what it indexes, in the SQLite read model it follows (never ahead of it). */
/** Prepared again when a blue-green rebuild swapped the read model's connection. */
const taskSource = (db: Database.Database) => {
  let statement: Database.Statement<[string], TaskSource> | undefined;
  let on: Database.Database | undefined;
  return (id: string): TaskSource | undefined => {
    if (!statement || on !== databaseOf(db)) {
      on = databaseOf(db);
      statement = db.prepare<[string], TaskSource>('SELECT title, description, tags, status, priority, role FROM tasks WHERE id = ?');
    }
    return statement.get(id);
  };
};

type ChunkDoc = Omit<VectorDoc, 'vector'> & { taskId: string; text: string };

/** A task's chunk records as stored: the title chunk under the task id, then its body chunks. */
const chunkDocs = (row: TaskRow): ChunkDoc[] => {
  const tags = JSON.parse(row.tags) as string[];
  return taskChunks({ title: row.title, description: row.description, tags }).map((text, chunk) => ({
    id: chunkId(row.id, chunk),
    taskId: row.id,
    text,
    metadata: {
      projectId: row.projectId,
      status: row.status,
      priority: row.priority,
      role: row.role ?? '',
      tags: tags.join(','),
      hash: contentHash(text),
      chunk,
    },
  }));
};

/** The longest a stored checkpoint lags behind batches that changed no vector. */
export const CHECKPOINT_EVERY_MS = 1000;
/**
 * The longest a claim, release, lease expiry or completion waits before the status Chroma filters on follows it. A
 * swarm claims and completes hundreds of tasks a second: one write of all of them per interval, not two per task.
 */
export const STATUS_EVERY_MS = 500;

/** Events that change a task's text or its filterable metadata, written with their batch. */
const TOUCHING = new Set(['TaskCreated', 'TaskUpdated', 'TaskStatusChanged', 'RoleAssigned', 'RoleUnassigned']);

export type VectorProjectionDeps = Readonly<{
  vectors: ChromaVectorStore;
  readDb: Database.Database;
  /** Resolves once the SQLite read model has applied `position`: the vectors follow it, never lead it. */
  afterSqlite: (position: number) => Promise<void>;
  /** Vectors for these texts (cached or computed through the embedding jobs, keyed by task and hash). */
  vectorsFor: (items: ReadonlyArray<{ taskId: string; hash: string; text: string }>) => Promise<Float32Array[]>;
}>;

/**
 * Task vectors as a read model. Writes are upserts of absolute values keyed by task id and the
 * checkpoint is saved after them, so a redelivered batch rewrites the same records and a replay
 * finds every text in the embedding cache.
 */
export class VectorProjection implements Projection {
  readonly name = VECTOR_PROJECTOR;
  readonly version = VECTOR_PROJECTION_VERSION;
  private position = 0;
  private checkpointSavedAt = 0;
  /** Tasks whose status moved without a TaskStatusChanged (STATUS_AFTER_EVENT), records not rewritten yet → their project. */
  private readonly statusDue = new Map<string, string>();
  /** Position of the earliest event in `statusDue`: the stored checkpoint stays before it until they are written. */
  private statusDueFrom = Number.POSITIVE_INFINITY;
  private statusDueSince = 0;
  private statusTimer: NodeJS.Timeout | undefined;
  /** Set by close(): no timed status write is scheduled any more. */
  private closed = false;
  /** applyBatch, reset and the timed status writes, one at a time. */
  private work: Promise<unknown> = Promise.resolve();
  private readonly source: (id: string) => TaskSource | undefined;

  /**
   * `builtByAnotherVersion`: the collections were written by another projector version; the model answers from them
   * (at the position they reached) while the projector rebuilds the current version aside, and applies nothing.
   */
  constructor(
    private readonly deps: VectorProjectionDeps,
    private readonly builtByAnotherVersion = false,
  ) {
    this.source = taskSource(deps.readDb);
  }

  /** Reads the checkpoint kept in Chroma (call before the projector starts, and after Chroma restarts). */
  async load(): Promise<void> {
    this.position = await this.deps.vectors.loadCheckpoint();
  }

  checkpoint(): number {
    return this.builtByAnotherVersion ? -1 : this.position;
  }

  storedPosition(): number {
    return this.position;
  }

  applyBatch(events: readonly StoredEvent[]): Promise<void> {
    return this.serially(() => this.apply(events));
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.work.then(task);
    this.work = run.catch(() => undefined);
    return run;
  }

  private async apply(events: readonly StoredEvent[]): Promise<void> {
    const last = events.at(-1);
    if (!last) return;
    await this.deps.afterSqlite(last.position);
    const touched = new Map<string, string>();
    const deleted = new Map<string, string>();
    /** Created in this batch: no older chunks of theirs can be left over (a later update's batch trims a redelivery's). */
    const created = new Set<string>();
    for (const event of events) {
      const data = event.data as { taskId?: string; projectId?: string };
      if (!data.taskId || !data.projectId) continue;
      if (event.type === 'TaskDeleted') {
        touched.delete(data.taskId);
        deleted.set(data.taskId, data.projectId);
      } else if (TOUCHING.has(event.type)) {
        if (event.type === 'TaskCreated' && !touched.has(data.taskId) && !deleted.has(data.taskId)) created.add(data.taskId);
        deleted.delete(data.taskId);
        touched.set(data.taskId, data.projectId);
      } else if (Object.hasOwn(STATUS_AFTER_EVENT, event.type) && !this.statusDue.has(data.taskId)) {
        if (this.statusDue.size === 0) this.statusDueSince = Date.now();
        this.statusDue.set(data.taskId, data.projectId);
        this.statusDueFrom = Math.min(this.statusDueFrom, event.position);
      }
    }
    // Rewritten or deleted with this batch, from the current row: their status is written with them.
    for (const taskId of [...touched.keys(), ...deleted.keys()]) this.statusDue.delete(taskId);
    const docs: ChunkDoc[] = [];
    const surplus: Array<{ id: string; projectId: string }> = [];
    for (const [taskId, projectId] of touched) {
      const row = this.source(taskId);
      if (!row) {
        deleted.set(taskId, projectId);
        continue;
      }
      const chunks = chunkDocs({ ...row, id: taskId, projectId });
      docs.push(...chunks);
      // A shorter text than before leaves chunks behind: drop them (deleting absent ids is harmless).
      if (!created.has(taskId)) surplus.push(...surplusChunkIds(taskId, chunks.length).map((id) => ({ id, projectId })));
    }
    await this.store(docs);
    const gone = [...deleted].flatMap(([id, projectId]) => [id, ...surplusChunkIds(id, 1)].map((chunk) => ({ id: chunk, projectId })));
    if (gone.length + surplus.length > 0) await this.deps.vectors.delete([...gone, ...surplus]);
    // A batch that changed no vector (claims, heartbeats, completions: most of a busy swarm's log) need not move the
    // stored checkpoint at once: a restart from an older one re-reads those events and writes nothing. It is saved
    // at least every CHECKPOINT_EVERY_MS, so a restart never replays more than that.
    const wrote = docs.length + gone.length + surplus.length > 0;
    this.position = last.position;
    if (this.statusDue.size > 0 && Date.now() - this.statusDueSince >= STATUS_EVERY_MS) await this.writeStatusDue();
    else if (wrote || Date.now() - this.checkpointSavedAt >= CHECKPOINT_EVERY_MS) await this.saveCheckpoint();
    this.scheduleStatusWrite();
  }

  /** The stored checkpoint: where a restart resumes, before any status move not written yet. */
  private async saveCheckpoint(): Promise<void> {
    const at = this.statusDue.size > 0 ? Math.min(this.position, this.statusDueFrom - 1) : this.position;
    await this.deps.vectors.saveCheckpoint(at);
    this.checkpointSavedAt = Date.now();
  }

  /** The metadata of every task whose status moved, from its current row (its text, so its vectors, did not change). */
  private async writeStatusDue(): Promise<void> {
    const due = [...this.statusDue];
    const docs: ChunkDoc[] = [];
    for (const [taskId, projectId] of due) {
      const row = this.source(taskId);
      if (row) docs.push(...chunkDocs({ ...row, id: taskId, projectId }));
    }
    await this.deps.vectors.updateMetadata(docs.map(({ id, metadata }) => ({ id, metadata })));
    for (const [taskId] of due) this.statusDue.delete(taskId);
    if (this.statusDue.size === 0) this.statusDueFrom = Number.POSITIVE_INFINITY;
    await this.saveCheckpoint();
  }

  /** With status moves waiting and no batch to carry them, a timer writes them (a failure waits for the next try). */
  private scheduleStatusWrite(): void {
    if (this.closed || this.statusDue.size === 0 || this.statusTimer) return;
    const wait = Math.max(0, STATUS_EVERY_MS - (Date.now() - this.statusDueSince));
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      void this.serially(async () => {
        if (this.statusDue.size > 0) await this.writeStatusDue();
      })
        .catch(() => {
          this.statusDueSince = Date.now(); // Chroma did not answer: try again an interval later
        })
        .finally(() => this.scheduleStatusWrite());
    }, wait);
    this.statusTimer.unref();
  }

  /**
   * Every part's vectors are asked for at once (the embedding jobs queue them in order) and each part is written as
   * soon as its vectors are in, so Chroma stores one part while the model embeds the next instead of after the last.
   */
  private async store(docs: readonly ChunkDoc[]): Promise<void> {
    const parts: ChunkDoc[][] = [];
    for (let i = 0; i < docs.length; i += STORE_PART) parts.push(docs.slice(i, i + STORE_PART));
    const vectors = parts.map((part) => this.deps.vectorsFor(part.map((d) => ({ taskId: d.taskId, hash: d.metadata.hash, text: d.text }))));
    // A later part failing while an earlier one is written is seen (and thrown) when its turn comes.
    for (const pending of vectors) pending.catch(() => undefined);
    for (const [n, part] of parts.entries()) {
      const found = await vectors[n]!;
      await this.deps.vectors.upsert(part.map((d, i) => ({ id: d.id, metadata: d.metadata, vector: found[i]! })));
    }
  }

  /**
   * Fills an empty model (a blue-green rebuild's) from the SQLite read model's tasks, page by page, and checkpoints
   * it at `position`, where the read model stood before the first page was read. Pages read later may already hold
   * newer rows: harmless, since the projector then applies every event after `position`, and each batch writes
   * the task's current row again (or deletes it).
   */
  async seed(position: number, opts: { signal?: AbortSignal; onProgress?: (tasksDone: number) => void } = {}): Promise<number> {
    let done = 0;
    for (let after = ''; ;) {
      opts.signal?.throwIfAborted();
      // Prepared per page: a blue-green swap of the read model may change its connection between two pages.
      const rows = this.deps.readDb
        .prepare<[string, number], TaskRow>(
          'SELECT id, project_id AS projectId, title, description, tags, status, priority, role FROM tasks WHERE id > ? ORDER BY id LIMIT ?',
        )
        .all(after, SEED_PAGE);
      if (rows.length === 0) break;
      await this.store(rows.flatMap(chunkDocs));
      done += rows.length;
      after = rows.at(-1)!.id;
      opts.onProgress?.(done);
    }
    await this.deps.vectors.saveCheckpoint(position);
    this.position = position;
    return done;
  }

  /**
   * Stops the timed status writes (the projector has stopped, or another projection replaced this one). Moves not
   * written yet are written again after a restart: the stored checkpoint is before them.
   */
  close(): void {
    this.closed = true;
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
  }

  reset(): Promise<void> {
    return this.serially(async () => {
      clearTimeout(this.statusTimer);
      this.statusTimer = undefined;
      this.statusDue.clear();
      this.statusDueFrom = Number.POSITIVE_INFINITY;
      await this.deps.vectors.reset();
      this.position = 0;
    });
  }
}
