import { notFound, unprocessable } from '../../errors.js';
import type { ProjectEvent } from '../../events/project.js';
import type { StoredEvent } from '../../events/types.js';
import type { EventStore } from '../../eventstore/eventStore.js';
import { evolve, initialState, type ProjectState } from './project.js';
import { snapshotOf, type EventRef, type TaskSnapshot, type UndoRequest } from './undo.js';

/** What undo reads of the store. */
export type UndoLog = Pick<EventStore, 'readStream' | 'queryEvents'>;

/**
 * Claims, leases and completions record an agent's work and a lease another process holds: reversing them would
 * rewrite what an agent did, so an undo refuses them (an administrator changes the status, or releases with force).
 */
export const UNDO_UNSUPPORTED_TYPES: ReadonlySet<string> = new Set(['TaskClaimed', 'LeaseExtended', 'TaskReleased', 'LeaseExpired', 'TaskCompleted']);

const PAGE = 1000;

const names = (event: StoredEvent): string[] => {
  const data = event.data as Record<string, unknown>;
  return ['taskId', 'dependsOn', 'target', 'parentId', 'fromParentId', 'toParentId']
    .map((k) => data[k])
    .filter((v): v is string => typeof v === 'string');
};

const refOf = (event: StoredEvent): EventRef => {
  const taskId = (event.data as { taskId?: unknown }).taskId;
  return {
    position: event.position,
    revision: event.revision,
    type: event.type,
    ...(typeof taskId === 'string' ? { taskId } : {}),
    names: names(event),
    correlationId: event.metadata.correlationId,
    ...(event.metadata.causationId ? { causationId: event.metadata.causationId } : {}),
  };
};

const requestEvents = async (log: UndoLog, correlationId: string): Promise<StoredEvent[]> => {
  const found: StoredEvent[] = [];
  for (let afterPosition = 0; ;) {
    const page = await log.queryEvents({ correlationId }, { afterPosition, limit: PAGE });
    found.push(...page);
    if (page.length < PAGE) return found;
    afterPosition = page.at(-1)!.position;
  }
};

export type PreparedUndo = Readonly<{
  projectId: string;
  data: UndoRequest['data'];
  /** The request's own events. */
  undone: readonly StoredEvent[];
  /** The project folded up to `data.readUpTo` (what a dry run plans against), and the log position of that event. */
  state: ProjectState;
  position: number;
}>;

/** Reads what an undo of `correlationId` needs, refusing requests it cannot reverse before anything is decided. */
export const prepareUndo = async (log: UndoLog, correlationId: string): Promise<PreparedUndo> => {
  const mine = await requestEvents(log, correlationId);
  if (mine.length === 0) {
    throw notFound('REQUEST_NOT_FOUND', `No event of the log carries correlation id ${correlationId}.`, { correlationId });
  }
  const streams = [...new Set(mine.map((e) => e.streamId))];
  const foreign = streams.filter((s) => !s.startsWith('project-'));
  if (foreign.length > 0) {
    throw unprocessable(
      'UNDO_UNSUPPORTED_STREAM',
      `Request ${correlationId} changed ${foreign.join(', ')}: only changes to the tasks of a project can be undone.`,
      { correlationId, streams: foreign },
      'Roles come from the role files (edit them and restart); plugins and tokens change through their own operations.',
    );
  }
  if (streams.length > 1) {
    throw unprocessable('UNDO_SPANS_PROJECTS', `Request ${correlationId} changed ${streams.length} projects; an undo reverses one.`, {
      correlationId,
      streams,
    });
  }
  const unsupported = [...new Set(mine.map((e) => e.type).filter((t) => UNDO_UNSUPPORTED_TYPES.has(t)))];
  const reversible = mine.filter((e) => e.type !== 'ProjectCreated');
  if (unsupported.length > 0 || reversible.length === 0) {
    const types = unsupported.length > 0 ? unsupported : ['ProjectCreated'];
    throw unprocessable(
      'UNDO_UNSUPPORTED',
      `Request ${correlationId} recorded ${types.join(', ')}, which an undo does not reverse.`,
      { correlationId, types },
      unsupported.length > 0
        ? 'Claims, leases and completions record an agent’s work: change the status or release the task with force instead.'
        : 'There is no event that deletes a project.',
    );
  }
  const streamId = streams[0]!;
  const ids = new Set(mine.map((e) => e.id));
  const firstRevision = mine[0]!.revision;
  const lastRevision = mine.at(-1)!.revision;
  const touched = [
    ...new Set(
      reversible.flatMap((e) => {
        const data = e.data as { taskId?: unknown; dependsOn?: unknown };
        return [data.taskId, data.dependsOn].filter((v): v is string => typeof v === 'string');
      }),
    ),
  ];
  const snapshot = (state: ProjectState): TaskSnapshot[] =>
    touched.flatMap((id) => {
      const task = state.tasks.get(id);
      return task ? [snapshotOf(task)] : [];
    });
  const state = initialState();
  const later: EventRef[] = [];
  let before: TaskSnapshot[] = [];
  let after: TaskSnapshot[] = [];
  let position = 0;
  for (let fromRevision = 0; ;) {
    const batch = await log.readStream(streamId, { fromRevision, maxCount: 5000 });
    for (const event of batch) {
      if (event.revision === firstRevision) before = snapshot(state);
      if (event.revision >= firstRevision && !ids.has(event.id)) later.push(refOf(event));
      evolve(state, event as StoredEvent<ProjectEvent>);
      if (event.revision === lastRevision) after = snapshot(state);
      position = event.position;
    }
    if (batch.length < 5000) break;
    fromRevision = batch.at(-1)!.revision + 1;
  }
  return {
    projectId: state.projectId,
    undone: mine,
    state,
    position,
    data: { correlationId, undone: mine.map(refOf), touched, before, after, later, readUpTo: state.revision },
  };
};
