import { taskChunks } from '../../embeddings/chunks.js';
import { contentHash } from '../../embeddings/embedder.js';
import type { StoredEvent } from '../../events/types.js';
import type { EventStore } from '../../eventstore/eventStore.js';
import { boundedStore } from '../boundedStore.js';
import { compareText, type VerifyProgress } from '../verifyReport.js';
import { chunkId, taskOfChunk } from './chunks.js';
import type { ChromaVectorStore } from './vectorStore.js';

/** `chunk`: which of the task's records (0 its title chunk, n its body chunk `<taskId>#<n>`, see chunks.ts). */
export type VectorExample = Readonly<{
  kind: 'missing' | 'extra' | 'stale';
  taskId: string;
  chunk: number;
  projectId: string;
  live?: string;
  expected?: string;
}>;

export type VectorsVerifyReport = Readonly<{
  model: 'vectors';
  equal: boolean;
  /** The vector projector's checkpoint in Chroma: the expected texts fold the log up to here. */
  position: number;
  /** Records (chunks) in Chroma, and chunks the log's texts give. */
  live: number;
  expected: number;
  /** Chunks of a task's text at the checkpoint with no record. */
  missing: number;
  /** Records of tasks that do not exist (any more) at the checkpoint, or of chunks their text no longer has. */
  extra: number;
  /** Records whose content hash is not their chunk's: embedded from an older (or another) text. */
  stale: number;
  /** Records of tasks changed after the checkpoint, not judged: the projector may already hold their newer text. */
  skipped: number;
  examples: readonly VectorExample[];
  seconds: number;
}>;

type Text = { projectId: string; title: string; description: string; tags: readonly string[] };

/** The text of every task at `position`, as the vector projection embeds it (title, description, tags). */
const expectedTexts = async (store: EventStore, position: number, onProgress?: (p: VerifyProgress) => void, signal?: AbortSignal) => {
  const log = boundedStore(store, position, signal);
  const texts = new Map<string, Text>();
  let at = 0;
  for (;;) {
    const batch = await log.readAll({ fromPosition: at, maxCount: 10_000 });
    if (batch.length === 0) break;
    for (const event of batch) fold(texts, event);
    at = batch.at(-1)!.position;
    onProgress?.({ phase: 'vectors: folding the log', eventsDone: at, eventsTotal: position });
  }
  return texts;
};

const fold = (texts: Map<string, Text>, event: StoredEvent) => {
  const d = event.data as { taskId?: string; projectId?: string; title?: string; description?: string; tags?: string[]; changes?: Partial<Text> };
  if (!d.taskId) return;
  if (event.type === 'TaskCreated')
    texts.set(d.taskId, { projectId: d.projectId ?? '', title: d.title ?? '', description: d.description ?? '', tags: d.tags ?? [] });
  else if (event.type === 'TaskDeleted') texts.delete(d.taskId);
  else if (event.type === 'TaskUpdated') {
    const text = texts.get(d.taskId);
    const changes = d.changes ?? {};
    if (text)
      texts.set(d.taskId, {
        ...text,
        ...(changes.title !== undefined ? { title: changes.title } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.tags !== undefined ? { tags: changes.tags } : {}),
      });
  }
};

/**
 * The vector collections against the log: every task that exists at the vector checkpoint should have one
 * vector whose content hash is its text's. Tasks an event after the checkpoint names are left out, because the
 * projection embeds the SQLite row it reads, which may already be ahead of its own checkpoint.
 */
export const verifyVectors = async (opts: {
  store: EventStore;
  vectors: ChromaVectorStore;
  examples?: number;
  onProgress?: (progress: VerifyProgress) => void;
  signal?: AbortSignal;
}): Promise<VectorsVerifyReport> => {
  const started = performance.now();
  const position = await opts.vectors.loadCheckpoint();
  const live = new Map<string, { projectId: string; hash: string }>();
  for (const projectId of await opts.vectors.projects()) {
    for (const [id, hash] of await opts.vectors.hashes(projectId)) live.set(id, { projectId, hash });
  }
  const expected = await expectedTexts(opts.store, position, opts.onProgress, opts.signal);
  const later = new Set<string>();
  for (let at = position; ;) {
    const batch = await opts.store.readAll({ fromPosition: at, maxCount: 10_000 });
    if (batch.length === 0) break;
    for (const event of batch)
      if (typeof (event.data as { taskId?: unknown }).taskId === 'string') later.add((event.data as { taskId: string }).taskId);
    at = batch.at(-1)!.position;
  }
  opts.onProgress?.({ phase: 'vectors: comparing', eventsDone: position, eventsTotal: position });
  const counts = { missing: 0, extra: 0, stale: 0, skipped: 0 };
  const examples: VectorExample[] = [];
  const note = (e: VectorExample) => examples.length < (opts.examples ?? 10) && examples.push(e);
  // One record per chunk: the expected records are the chunks of every task's text, each with its own hash.
  const records = new Map<string, { taskId: string; chunk: number; projectId: string; hash: string }>();
  for (const [taskId, text] of expected)
    taskChunks(text).forEach((chunk, n) =>
      records.set(chunkId(taskId, n), { taskId, chunk: n, projectId: text.projectId, hash: contentHash(chunk) }),
    );
  for (const id of [...new Set([...live.keys(), ...records.keys()])].sort(compareText)) {
    const taskId = taskOfChunk(id);
    const chunk = id === taskId ? 0 : Number(id.slice(taskId.length + 1));
    if (later.has(taskId)) {
      counts.skipped += 1;
      continue;
    }
    const want = records.get(id);
    const vector = live.get(id);
    if (want && !vector) {
      counts.missing += 1;
      note({ kind: 'missing', taskId, chunk, projectId: want.projectId, expected: want.hash });
    } else if (!want && vector) {
      counts.extra += 1;
      note({ kind: 'extra', taskId, chunk, projectId: vector.projectId, live: vector.hash });
    } else if (want && vector && vector.hash !== want.hash) {
      counts.stale += 1;
      note({ kind: 'stale', taskId, chunk, projectId: vector.projectId, live: vector.hash, expected: want.hash });
    }
  }
  return {
    model: 'vectors',
    equal: counts.missing + counts.extra + counts.stale === 0,
    position,
    live: live.size,
    expected: records.size,
    ...counts,
    examples,
    seconds: Math.round(performance.now() - started) / 1000,
  };
};
