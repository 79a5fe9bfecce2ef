import { STATUS_AFTER_EVENT } from '../../events/project.js';
import type { StoredEvent } from '../../events/types.js';
import type { EventStore } from '../../eventstore/eventStore.js';
import type { Projection } from '../projector.js';
import { withMove, type GraphStatusMove, type GraphStore, type GraphTask, type GraphWriter } from './graphStore.js';
import { MemoryGraph } from './memoryGraph.js';

export const GRAPH_PROJECTOR = 'graph';
/** 2: tasks carry title, files and claimedBy; typed links are LINKED relationships. */
export const GRAPH_PROJECTION_VERSION = 2;

type Data = Readonly<Record<string, unknown>>;

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/**
 * Applies one event to the graph. Every write is an upsert or delete of absolute values keyed by id, so
 * applying an event twice leaves the same graph. Event types the graph does not need are ignored. Typed links
 * (TaskLinked, TaskUnlinked) are LINKED relationships, apart from the dependency edges. `claimedBy` follows the
 * claim as the SQLite model does: set by TaskClaimed, cleared by a release, lease expiry, completion or a status
 * change away from in_progress.
 */
export const applyGraphEvent = (graph: GraphWriter, event: StoredEvent): void => {
  const d = event.data as Data;
  const taskId = str(d.taskId);
  if (taskId === null) return;
  switch (event.type) {
    case 'TaskCreated': {
      const { parentId, ...task } = newTask(event)!;
      graph.upsertTask(task);
      if (parentId !== null) graph.setParent(taskId, parentId);
      return;
    }
    case 'TaskUpdated': {
      const changes = (d.changes ?? {}) as Data;
      const task = graph.getTask(taskId);
      if (!task || !['title', 'priority', 'estimate', 'files'].some((field) => field in changes)) return;
      graph.upsertTask({
        ...task,
        ...(typeof changes.title === 'string' ? { title: changes.title } : {}),
        ...(typeof changes.priority === 'string' ? { priority: changes.priority } : {}),
        ...('files' in changes ? { files: strings(changes.files) } : {}),
        ...('estimate' in changes ? { estimate: typeof changes.estimate === 'number' ? changes.estimate : null } : {}),
      });
      return;
    }
    case 'TaskMoved':
      if (graph.getTask(taskId)) graph.setParent(taskId, str(d.toParentId));
      return;
    case 'TaskDeleted':
      graph.deleteTask(taskId);
      return;
    case 'DependencyAdded': {
      const dependsOn = str(d.dependsOn);
      if (dependsOn !== null) graph.upsertEdge({ taskId, dependsOn, kind: d.kind === 'soft' ? 'soft' : 'hard' });
      return;
    }
    case 'DependencyRemoved': {
      const dependsOn = str(d.dependsOn);
      if (dependsOn !== null) graph.deleteEdge(taskId, dependsOn);
      return;
    }
    case 'TaskLinked':
    case 'TaskUnlinked': {
      const target = str(d.target);
      const kind = str(d.kind);
      if (target === null || kind === null) return;
      if (event.type === 'TaskLinked') graph.upsertLink({ taskId, kind, target });
      else graph.deleteLink({ taskId, kind, target });
      return;
    }
    default: {
      const move = statusMoveOf(event);
      if (move) graph.moveTasks([move]);
    }
  }
};

/**
 * What a claim, release, lease expiry, completion, status change or role assignment sets on its task; undefined for
 * every other event (and for one that names no new value).
 */
const statusMoveOf = (event: StoredEvent): GraphStatusMove | undefined => {
  const d = event.data as Data;
  const id = str(d.taskId);
  if (id === null) return undefined;
  switch (event.type) {
    case 'RoleAssigned':
    case 'RoleUnassigned':
      return { id, role: event.type === 'RoleAssigned' ? str(d.role) : null };
    case 'TaskStatusChanged':
      return str(d.to) === null ? undefined : { id, status: str(d.to)!, ...(d.from === 'in_progress' ? { claimedBy: null } : {}) };
    default: {
      const status = STATUS_AFTER_EVENT[event.type];
      if (status === undefined) return undefined;
      // TaskCompleted may land in review; a claim may assign the claiming role.
      const to = event.type === 'TaskCompleted' && str(d.status) !== null ? str(d.status)! : status;
      const claimed = event.type === 'TaskClaimed';
      return { id, status: to, claimedBy: claimed ? str(d.agent) : null, ...(claimed && str(d.role) !== null ? { role: str(d.role) } : {}) };
    }
  }
};

/** Moves of one batch, one per task: a later move's values over an earlier one's (a claim then its completion is one). */
class PendingMoves {
  private readonly moves = new Map<string, GraphStatusMove>();

  add(move: GraphStatusMove): void {
    this.moves.set(move.id, withMove(this.moves.get(move.id) ?? { id: move.id }, move));
  }

  flush(graph: GraphWriter): void {
    if (this.moves.size === 0) return;
    graph.moveTasks([...this.moves.values()]);
    this.moves.clear();
  }
}

/** The graph task a TaskCreated describes (depth filled in by the caller). */
const newTask = (event: StoredEvent): (GraphTask & { parentId: string | null }) | undefined => {
  const d = event.data as Data;
  const id = str(d.taskId);
  if (id === null) return undefined;
  return {
    id,
    project: str(d.projectId) ?? '',
    title: str(d.title) ?? '',
    status: str(d.status) ?? 'pending',
    priority: str(d.priority) ?? 'normal',
    estimate: typeof d.estimate === 'number' ? d.estimate : null,
    role: null,
    files: strings(d.files),
    claimedBy: null,
    depth: 0,
    createdSeq: event.position,
    parentId: str(d.parentId),
  };
};

/**
 * The graph read model as a Projection. Kuzu cannot share the SQLite transaction, so the graph keeps its own
 * checkpoint, written in the same kuzu transaction as the batch; events at or below it are skipped.
 */
export class GraphProjection implements Projection {
  readonly name = GRAPH_PROJECTOR;
  readonly version = GRAPH_PROJECTION_VERSION;

  constructor(readonly graph: GraphStore) {}

  checkpoint(): number {
    const saved = this.graph.checkpoint();
    if (!saved) return 0;
    return saved.version === this.version ? saved.position : -1;
  }

  applyBatch(events: readonly StoredEvent[]): void {
    const last = events.at(-1);
    if (!last) return;
    this.graph.transaction(() => {
      const done = this.graph.checkpoint()?.position ?? 0;
      // Runs of new tasks (a whole task tree) go in as one statement, runs of status moves (a swarm's claims and
      // completions) as another; everything else event by event, after what came before it.
      let created: (GraphTask & { parentId: string | null })[] = [];
      const depthOf = new Map<string, number>();
      const moves = new PendingMoves();
      const flush = () => {
        this.graph.insertTasks(created);
        created = [];
        depthOf.clear();
      };
      for (const event of events) {
        if (event.position <= done) continue;
        const task = event.type === 'TaskCreated' ? newTask(event) : undefined;
        const move = task ? undefined : statusMoveOf(event);
        if (move) {
          flush();
          moves.add(move);
          continue;
        }
        if (!task) {
          flush();
          moves.flush(this.graph);
          applyGraphEvent(this.graph, event);
          continue;
        }
        const parentDepth = task.parentId === null ? -1 : (depthOf.get(task.parentId) ?? this.graph.getTask(task.parentId)?.depth ?? -1);
        if (parentDepth < 0) task.parentId = null;
        task.depth = parentDepth + 1;
        depthOf.set(task.id, task.depth);
        created.push(task);
      }
      flush();
      moves.flush(this.graph);
      if (last.position > done) this.graph.setCheckpoint({ position: last.position, version: this.version });
    });
  }

  reset(): void {
    this.graph.clear();
  }
}

export type GraphRebuildResult = Readonly<{
  events: number;
  seconds: number;
  eventsPerSecond: number;
  position: number;
  tasks: number;
  edges: number;
  links: number;
}>;

export type GraphRebuildOptions = Readonly<{
  batchSize?: number;
  /** Called after each batch folded: the position reached and the events read so far. */
  onProgress?: (position: number, events: number) => void;
  /** Checked between batches: a rebuild asked to stop throws before it touches the store. */
  signal?: AbortSignal;
}>;

/** Folds the whole log in memory, then loads the graph in bulk (COPY) into a cleared store. */
export const rebuildGraph = async (
  store: EventStore,
  graph: GraphStore,
  { batchSize = 10_000, onProgress, signal }: GraphRebuildOptions = {},
): Promise<GraphRebuildResult> => {
  const started = process.hrtime.bigint();
  const memory = new MemoryGraph();
  let position = 0;
  let events = 0;
  for (;;) {
    signal?.throwIfAborted();
    const batch = await store.readAll({ fromPosition: position, maxCount: batchSize });
    if (batch.length === 0) break;
    for (const event of batch) applyGraphEvent(memory, event);
    position = batch.at(-1)!.position;
    events += batch.length;
    onProgress?.(position, events);
  }
  signal?.throwIfAborted();
  const snapshot = memory.snapshot();
  graph.clear();
  graph.bulkLoad(snapshot);
  graph.setCheckpoint({ position, version: GRAPH_PROJECTION_VERSION });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    events,
    seconds,
    eventsPerSecond: Math.round(events / Math.max(seconds, 1e-9)),
    position,
    tasks: snapshot.tasks.length,
    edges: snapshot.edges.length,
    links: snapshot.links.length,
  };
};
