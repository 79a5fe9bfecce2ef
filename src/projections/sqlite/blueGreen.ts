import fs from 'node:fs';
import type { EventStoreSpec } from '../../eventstore/spec.js';
import type { Projector } from '../projector.js';
import { SqliteProjection } from './projection.js';
import { openReadModel } from './readModel.js';
import { buildReadModelInWorker, type RebuildProgress, type RebuildResult } from './rebuild.js';
import type { SwappableDatabase } from './swappable.js';

export type BlueGreenDeps = Readonly<{
  projector: Projector;
  /** The handle every reader holds; it is pointed at the new connection at the swap. */
  handle: SwappableDatabase;
  /** The live read model's file: the new model takes its place. */
  file: string;
  spec: EventStoreSpec;
}>;

export type BlueGreenResult = RebuildResult & Readonly<{ swappedAt: number; tail: number }>;

/**
 * Rebuilds the SQLite read model of a running server without an empty window: the bulk is built beside the live
 * file in a worker thread while the live model keeps answering and applying; the new model then catches up the
 * tail, and in one synchronous step (no request runs in between) the live connection is closed, the new file
 * renamed over it, reopened and handed to every reader. Nothing is re-sent: it reads the log, never listeners.
 */
export const rebuildSqliteBlueGreen = async (
  { projector, handle, file, spec }: BlueGreenDeps,
  { onProgress = () => {}, signal }: { onProgress?: (p: RebuildProgress & { phase: string }) => void; signal?: AbortSignal } = {},
): Promise<BlueGreenResult> => {
  const aside = `${file}.rebuild`;
  const built = await buildReadModelInWorker(spec, aside, {
    onProgress: (p) => onProgress({ ...p, phase: 'sqlite: building aside' }),
    ...(signal ? { signal } : {}),
  });
  signal?.throwIfAborted();
  const nextDb = openReadModel(aside);
  const next = new SqliteProjection(nextDb);
  onProgress({ position: built.position, head: built.position, events: built.events, phase: 'sqlite: catching up and swapping' });
  try {
    let failure: unknown;
    const { position } = await projector.replaceProjection(next, () => {
      nextDb.close();
      handle.current().close();
      try {
        for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
        fs.renameSync(aside, file);
      } catch (error) {
        failure = error;
      }
      // After a failed rename the old file is still in place: the readers get one back either way.
      handle.swap(openReadModel(file));
      return new SqliteProjection(handle.db);
    });
    if (failure) throw failure;
    return { ...built, swappedAt: position, tail: position - built.position };
  } catch (error) {
    if (nextDb.open) nextDb.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${aside}${suffix}`, { force: true });
    throw error;
  }
};
