import type { Logger } from 'pino';
import type { StoredEvent } from '../../events/types.js';
import type { TaskTree, TreeNode } from '../../queries/taskGraph.js';
import { dashboardUri, readyUri, taskUri } from './resourceUris.js';

/** URIs of resources whose content may have changed, announced once the read model shows the change. */
export type ResourceChanges = Readonly<{
  /** Calls `listener` with each batch of changed URIs; returns the function that stops it. */
  listen: (listener: (uris: ReadonlySet<string>) => void) => () => void;
  close: () => void;
}>;

export type ResourceChangeDeps = Readonly<{
  /** The event store's append notice: events in log order when at hand, else only the new head position. */
  onAppended: (listener: (position: number, events?: readonly StoredEvent[]) => void) => () => void;
  /** The global log after a position (exclusive), for appends announced without their events. */
  readAll: (options: { fromPosition: number; maxCount: number }) => Promise<readonly StoredEvent[]>;
  /** Resolves once the read model the resources are read from has applied `position`. */
  applied: (position: number) => Promise<void>;
  /** Tasks with a dependency on this one: their `ready` and `openDependencies` follow its status (may throw for a gone task). */
  dependentsOf: (taskId: string) => readonly string[];
  /** The subtree under a task: a move changes the `depth` of every task in it (may throw for a gone task). */
  subtreeOf: (taskId: string) => TaskTree;
  logger: Logger;
  /** At most one notice per URI per this many milliseconds (100 by default): bursts of writes coalesce. */
  coalesceMs?: number;
}>;

/** Events after which the tasks depending on the event's task may become ready or blocked. */
const STATUS_EVENTS = new Set(['TaskStatusChanged', 'TaskCompleted', 'TaskDeleted', 'TaskClaimed', 'TaskReleased', 'LeaseExpired']);

const idsOf = (nodes: readonly TreeNode[]): string[] => nodes.flatMap((node) => [node.id, ...idsOf(node.children)]);

const projectOf = (event: StoredEvent): string | undefined => {
  const data = event.data as { projectId?: unknown };
  if (typeof data.projectId === 'string') return data.projectId;
  return event.streamId.startsWith('project-') ? event.streamId.slice('project-'.length) : undefined;
};

/**
 * Change notices for MCP resource subscriptions, driven by the log: an append names the task resources it touches
 * and its project's ready queue and dashboard. A batch is announced only once the read model has applied it, so a
 * read after the notice sees the change. Nothing is computed while nobody listens; replays and rebuilds append
 * nothing, so they announce nothing.
 */
export const resourceChanges = (deps: ResourceChangeDeps): ResourceChanges => {
  const coalesceMs = deps.coalesceMs ?? 100;
  const listeners = new Set<(uris: ReadonlySet<string>) => void>();
  let seen: number | undefined;
  let pending = new Set<string>();
  let pendingPosition = 0;
  let lastFlush = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let work = Promise.resolve();
  let closed = false;

  /** Tasks whose view follows this event's task, as the read model knows them (none when it does not know the task yet). */
  const relatedTo = (type: string, taskId: string): readonly string[] => {
    try {
      if (STATUS_EVENTS.has(type)) return deps.dependentsOf(taskId);
      if (type === 'TaskMoved') return idsOf(deps.subtreeOf(taskId).roots);
    } catch {
      // not in the read model yet, or deleted: nothing there depends on it or sits under it
    }
    return [];
  };

  const urisOf = (event: StoredEvent, into: Set<string>) => {
    const projectId = projectOf(event);
    if (projectId === undefined) return;
    into.add(readyUri(projectId)).add(dashboardUri(projectId));
    const { taskId, dependsOn } = event.data as { taskId?: unknown; dependsOn?: unknown };
    if (typeof taskId === 'string') {
      into.add(taskUri(taskId));
      for (const related of relatedTo(event.type, taskId)) into.add(taskUri(related));
    }
    if (typeof dependsOn === 'string') into.add(taskUri(dependsOn));
  };

  const flush = async () => {
    timer = undefined;
    const uris = pending;
    const position = pendingPosition;
    pending = new Set();
    lastFlush = performance.now();
    try {
      await deps.applied(position);
    } catch (error) {
      // Still announced: a reader then waits for the model itself, and a lost notice would leave it stale for good.
      deps.logger.warn({ err: error, position }, 'resource change announced before the read model reached it');
    }
    if (closed) return;
    for (const listener of listeners) listener(uris);
  };

  const collect = async (position: number, events: readonly StoredEvent[] | undefined) => {
    let fresh = events?.filter((e) => seen === undefined || e.position > seen);
    if (!fresh && seen !== undefined) {
      fresh = [];
      for (let from = seen; from < position;) {
        const batch = await deps.readAll({ fromPosition: from, maxCount: 500 });
        if (batch.length === 0) break;
        fresh.push(...batch);
        from = batch.at(-1)!.position;
      }
    }
    seen = Math.max(seen ?? 0, position);
    for (const event of fresh ?? []) urisOf(event, pending);
    pendingPosition = Math.max(pendingPosition, position);
    if (pending.size > 0 && !timer && !closed) {
      timer = setTimeout(() => void flush(), Math.max(0, lastFlush + coalesceMs - performance.now()));
    }
  };

  const stopStore = deps.onAppended((position, events) => {
    if (listeners.size === 0) {
      seen = Math.max(seen ?? 0, position);
      return;
    }
    work = work
      .then(() => collect(position, events))
      .catch((error: unknown) => deps.logger.warn({ err: error, position }, 'could not work out which resources changed'));
  });

  return {
    listen: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      listeners.clear();
      stopStore();
    },
  };
};
