import type { StoredEvent } from '../../events/types.js';
import type { EventStore } from '../../eventstore/eventStore.js';
import { boundedStore } from '../boundedStore.js';
import { compareText, type VerifyProgress } from '../verifyReport.js';
import {
  sortSnapshot,
  type GraphCheckpoint,
  type GraphChild,
  type GraphEdge,
  type GraphLink,
  type GraphSnapshot,
  type GraphTask,
} from './graphStore.js';
import { MemoryGraph } from './memoryGraph.js';
import { applyGraphEvent, GRAPH_PROJECTION_VERSION } from './projection.js';

/** The live graph as one consistent cut: its checkpoint and everything it held at that checkpoint. */
export type LiveGraph = Readonly<{ checkpoint: GraphCheckpoint | null; graph: GraphSnapshot }>;

export type Difference<T> = Readonly<{ live: number; expected: number; missing: number; extra: number; differing: number; examples: readonly T[] }>;

export type NodeExample =
  | Readonly<{ kind: 'missing'; id: string; expected: GraphTask }>
  | Readonly<{ kind: 'extra'; id: string; live: GraphTask }>
  | Readonly<{ kind: 'differing'; id: string; fields: ReadonlyArray<{ field: string; live: unknown; expected: unknown }> }>;

export type EdgeExample = Readonly<{ kind: 'missing' | 'extra' | 'differing'; taskId: string; dependsOn: string; live?: string; expected?: string }>;
export type ChildExample = Readonly<{ kind: 'missing' | 'extra'; taskId: string; parentId: string }>;
export type LinkExample = Readonly<{ kind: 'missing' | 'extra'; taskId: string; linkKind: string; target: string }>;

export type GraphVerifyReport = Readonly<{
  model: 'graph';
  equal: boolean;
  /** The live graph's checkpoint: the expected graph folds the log up to here. */
  position: number;
  note?: string;
  nodes: Difference<NodeExample>;
  /** DEPENDS_ON relationships. */
  edges: Difference<EdgeExample>;
  /** CHILD_OF relationships (the task tree). */
  children: Difference<ChildExample>;
  /** LINKED relationships (typed links). */
  links: Difference<LinkExample>;
  seconds: number;
}>;

/**
 * The graph the log says there should be at `until`: the same fold a graph rebuild loads in bulk. `take` may be
 * fed the batches another reader of the log sees (the SQLite rebuild), so the log is read once for both.
 */
export class GraphFold {
  readonly memory = new MemoryGraph();
  /** Every event up to here has been seen. */
  at = 0;

  constructor(readonly until: number) {}

  take(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (event.position <= this.at) continue;
      if (event.position > this.until) return;
      applyGraphEvent(this.memory, event);
      this.at = event.position;
    }
  }

  /** Reads what the fold has not seen yet, up to `until`. */
  async finish(store: EventStore, onProgress?: (progress: VerifyProgress) => void, signal?: AbortSignal): Promise<GraphSnapshot> {
    const log = boundedStore(store, this.until, signal);
    for (;;) {
      const batch = await log.readAll({ fromPosition: this.at, maxCount: 10_000 });
      if (batch.length === 0) break;
      this.take(batch);
      this.at = batch.at(-1)!.position;
      onProgress?.({ phase: 'graph: folding the log', eventsDone: this.at, eventsTotal: this.until });
    }
    return sortSnapshot(this.memory.snapshot());
  }
}

const TASK_FIELDS = ['project', 'title', 'status', 'priority', 'estimate', 'role', 'files', 'claimedBy', 'depth', 'createdSeq'] as const;
const sameField = (a: GraphTask, b: GraphTask, field: (typeof TASK_FIELDS)[number]) =>
  field === 'files' ? a.files.length === b.files.length && a.files.every((f, i) => f === b.files[i]) : a[field] === b[field];

/** Walks two lists sorted by the same key and reports what only one side has and what differs. */
const merge = <T, E>(
  live: readonly T[],
  expected: readonly T[],
  order: (a: T, b: T) => number,
  example: { missing: (t: T) => E; extra: (t: T) => E; differing: (l: T, e: T) => E | undefined },
  limit: number,
): Difference<E> => {
  const out = { live: live.length, expected: expected.length, missing: 0, extra: 0, differing: 0 };
  const examples: E[] = [];
  const note = (e: E) => examples.length < limit && examples.push(e);
  let i = 0;
  let j = 0;
  while (i < live.length || j < expected.length) {
    const c = i >= live.length ? 1 : j >= expected.length ? -1 : order(live[i]!, expected[j]!);
    if (c < 0) {
      out.extra += 1;
      note(example.extra(live[i++]!));
    } else if (c > 0) {
      out.missing += 1;
      note(example.missing(expected[j++]!));
    } else {
      const differs = example.differing(live[i++]!, expected[j++]!);
      if (differs) {
        out.differing += 1;
        note(differs);
      }
    }
  }
  return { ...out, examples };
};

const byPair = (a1: string, a2: string, b1: string, b2: string) => compareText(a1, b1) || compareText(a2, b2);
const byLink = (a: GraphLink, b: GraphLink) => byPair(a.taskId, a.target, b.taskId, b.target) || compareText(a.kind, b.kind);
const linkExample = (kind: 'missing' | 'extra', l: GraphLink): LinkExample => ({ kind, taskId: l.taskId, linkKind: l.kind, target: l.target });

/** Nodes, dependency edges, tree links and typed links of the live graph against the expected one. */
export const compareGraphs = (live: GraphSnapshot, expected: GraphSnapshot, limit = 10) => {
  // Sorted again in code-point order: Kuzu's answer and the fold's map come in no order of their own.
  const sort = (s: GraphSnapshot) => ({
    tasks: [...s.tasks].sort((a, b) => compareText(a.id, b.id)),
    edges: [...s.edges].sort((a, b) => byPair(a.taskId, a.dependsOn, b.taskId, b.dependsOn)),
    children: [...s.children].sort((a, b) => byPair(a.taskId, a.parentId, b.taskId, b.parentId)),
    links: [...s.links].sort(byLink),
  });
  const l = sort(live);
  const e = sort(expected);
  const nodes = merge<GraphTask, NodeExample>(
    l.tasks,
    e.tasks,
    (a, b) => compareText(a.id, b.id),
    {
      missing: (t) => ({ kind: 'missing', id: t.id, expected: t }),
      extra: (t) => ({ kind: 'extra', id: t.id, live: t }),
      differing: (a, b) => {
        const fields = TASK_FIELDS.filter((f) => !sameField(a, b, f)).map((field) => ({ field, live: a[field], expected: b[field] }));
        return fields.length > 0 ? { kind: 'differing', id: a.id, fields } : undefined;
      },
    },
    limit,
  );
  const edges = merge<GraphEdge, EdgeExample>(
    l.edges,
    e.edges,
    (a, b) => byPair(a.taskId, a.dependsOn, b.taskId, b.dependsOn),
    {
      missing: (t) => ({ kind: 'missing', taskId: t.taskId, dependsOn: t.dependsOn, expected: t.kind }),
      extra: (t) => ({ kind: 'extra', taskId: t.taskId, dependsOn: t.dependsOn, live: t.kind }),
      differing: (a, b) =>
        a.kind === b.kind ? undefined : { kind: 'differing', taskId: a.taskId, dependsOn: a.dependsOn, live: a.kind, expected: b.kind },
    },
    limit,
  );
  const children = merge<GraphChild, ChildExample>(
    l.children,
    e.children,
    (a, b) => byPair(a.taskId, a.parentId, b.taskId, b.parentId),
    { missing: (t) => ({ kind: 'missing', ...t }), extra: (t) => ({ kind: 'extra', ...t }), differing: () => undefined },
    limit,
  );
  const links = merge<GraphLink, LinkExample>(
    l.links,
    e.links,
    byLink,
    { missing: (t) => linkExample('missing', t), extra: (t) => linkExample('extra', t), differing: () => undefined },
    limit,
  );
  return { nodes, edges, children, links };
};

const clean = (d: Difference<unknown>) => d.missing + d.extra + d.differing === 0;

/**
 * Takes the live graph's cut (`live`), folds the log up to its checkpoint and compares. `fold` is a fold of
 * that cut's position already fed by another reader of the log; it is finished here.
 */
export const verifyGraph = async (opts: {
  store: EventStore;
  live: () => Promise<LiveGraph>;
  fold?: GraphFold;
  examples?: number;
  onProgress?: (progress: VerifyProgress) => void;
  signal?: AbortSignal;
}): Promise<GraphVerifyReport> => {
  const started = performance.now();
  opts.onProgress?.({ phase: 'graph: reading the live graph', eventsDone: 0, eventsTotal: 0 });
  const live = await opts.live();
  const position = live.checkpoint?.position ?? 0;
  const note =
    live.checkpoint && live.checkpoint.version !== GRAPH_PROJECTION_VERSION
      ? `The live graph was built by projector version ${live.checkpoint.version}, this one is ${GRAPH_PROJECTION_VERSION}: it is rebuilt at the next start.`
      : undefined;
  const fold = opts.fold?.until === position ? opts.fold : new GraphFold(position);
  const expected = await fold.finish(opts.store, opts.onProgress, opts.signal);
  opts.onProgress?.({ phase: 'graph: comparing', eventsDone: position, eventsTotal: position });
  const diff = compareGraphs(live.graph, expected, opts.examples ?? 10);
  const equal = !note && clean(diff.nodes) && clean(diff.edges) && clean(diff.children) && clean(diff.links);
  return { model: 'graph', equal, position, ...(note ? { note } : {}), ...diff, seconds: Math.round(performance.now() - started) / 1000 };
};
