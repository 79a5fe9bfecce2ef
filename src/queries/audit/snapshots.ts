import type { ProjectFold } from './fold.js';

/**
 * Disposable snapshots of folded project streams, in memory: the state right after some revision, so a fold
 * "as of" a late point starts from the nearest earlier snapshot instead of the stream's first event. History
 * never changes below a position, so a snapshot never goes stale; it is keyed by the fold's version too, so a
 * changed fold never starts from a state an older one built. Losing them (a restart) only costs time.
 */

/** Bump when fold.ts changes what a fold holds. */
export const FOLD_VERSION = 1;

export type SnapshotOptions = Readonly<{
  /** Stream revisions between two snapshots of one stream. */
  every?: number;
  /** Snapshots kept per stream (the oldest beyond it go). */
  perStream?: number;
  /** Streams kept (least recently used beyond it go). */
  streams?: number;
  /** Copies a fold; the fold code provides it (snapshots must share nothing with a fold that goes on). */
  clone: (fold: ProjectFold) => ProjectFold;
}>;

export class FoldSnapshots {
  private readonly byStream = new Map<string, ProjectFold[]>();
  private readonly every: number;
  private readonly perStream: number;
  private readonly streams: number;

  constructor(private readonly options: SnapshotOptions) {
    this.every = options.every ?? 5000;
    this.perStream = options.perStream ?? 8;
    this.streams = options.streams ?? 8;
  }

  private key = (streamId: string) => `${FOLD_VERSION}:${streamId}`;

  /** A copy of the latest snapshot at or before `position`, or undefined. */
  nearest(streamId: string, position: number): ProjectFold | undefined {
    const key = this.key(streamId);
    const list = this.byStream.get(key);
    if (!list) return undefined;
    this.byStream.delete(key);
    this.byStream.set(key, list);
    let best: ProjectFold | undefined;
    for (const snap of list) if (snap.position <= position && (!best || snap.position > best.position)) best = snap;
    return best && this.options.clone(best);
  }

  /** Keeps a copy of `fold` when it is `every` revisions past this stream's latest snapshot. */
  offer(streamId: string, fold: ProjectFold): void {
    const key = this.key(streamId);
    const list = this.byStream.get(key) ?? [];
    const latest = list.reduce((max, s) => Math.max(max, s.revision), -1);
    if (fold.revision < 0 || fold.revision - latest < this.every || list.some((s) => s.revision === fold.revision)) return;
    list.push(this.options.clone(fold));
    list.sort((x, y) => x.revision - y.revision);
    while (list.length > this.perStream) list.splice(1, 1);
    this.byStream.set(key, list);
    for (const k of this.byStream.keys()) {
      if (this.byStream.size <= this.streams) break;
      this.byStream.delete(k);
    }
  }

  get size(): number {
    let n = 0;
    for (const list of this.byStream.values()) n += list.length;
    return n;
  }
}
