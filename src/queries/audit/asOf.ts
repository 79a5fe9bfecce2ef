import { notFound } from '../../errors.js';
import { projectIdFromStream, projectStreamId } from '../../events/project.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { diffTasks, type TaskDiff } from './diff.js';
import { emptyFold, foldEvents, projectSummary, taskView, type ProjectFold, type ProjectSummary, type TaskAsOf } from './fold.js';
import { parsePoint, resolvePoint, type AuditLog, type LogPoint } from './log.js';
import type { FoldSnapshots } from './snapshots.js';

/**
 * State as of a point and diffs between two points, folded from the log alone (never from a read model).
 * A point is a position or an ISO time (see log.ts); the answer always says which position it reflects.
 */

const BATCH = 5000;

export type TaskAsOfAnswer = { asOf: LogPoint; task: TaskAsOf };
export type ProjectAsOfAnswer = {
  asOf: LogPoint;
  /** False when the project was created after this point: the empty state. */
  exists: boolean;
  project: ProjectSummary;
  items: TaskAsOf[];
  nextCursor: string | null;
};
export type DiffAnswer = {
  projectId: string;
  from: LogPoint;
  to: LogPoint;
  counts: { created: number; deleted: number; changed: number };
  items: TaskDiff[];
  nextCursor: string | null;
};

type PageInput = { limit: number; cursor?: string | undefined };

const describePoint = (point: LogPoint) => `position ${point.position}${point.time ? ` (${point.time})` : ''}`;

export const auditState = (log: AuditLog, snapshots?: FoldSnapshots) => {
  /** The project's stream folded up to `position`, starting from the nearest snapshot when there is one. */
  const foldTo = async (projectId: string, position: number, fold?: ProjectFold): Promise<ProjectFold> => {
    const streamId = projectStreamId(projectId);
    let state = fold ?? snapshots?.nearest(streamId, position) ?? emptyFold(projectId);
    for (;;) {
      const events = await log.readStream(streamId, { fromRevision: state.revision + 1, maxCount: BATCH });
      const done = events.length < BATCH || events.at(-1)!.position > position;
      state = foldEvents(state, events, position);
      snapshots?.offer(streamId, state);
      if (done) return state;
    }
  };

  const projectExists = async (projectId: string) => (await log.readStream(projectStreamId(projectId), { maxCount: 1 })).length > 0;

  const projectNotFound = (projectId: string) => notFound('PROJECT_NOT_FOUND', `Project ${projectId} does not exist.`, { projectId });

  const views = (fold: ProjectFold): Map<string, TaskAsOf> => new Map([...fold.tasks.values()].map((t) => [t.id, taskView(fold, t)]));

  return {
    getTaskAsOf: async (taskId: string, at?: string): Promise<TaskAsOfAnswer> => {
      const point = await resolvePoint(log, parsePoint(at));
      const first = (await log.queryEvents({ taskId }, { limit: 1 }))[0];
      if (!first || !first.streamId.startsWith('project-')) {
        throw notFound('TASK_NOT_FOUND', `Task ${taskId} never existed: no event of the log names it.`, { taskId, asOf: point });
      }
      if (first.position > point.position) {
        throw notFound(
          'TASK_NOT_FOUND',
          `Task ${taskId} did not exist at ${describePoint(point)}: it was created later, at position ${first.position} (${first.recordedAt}).`,
          { taskId, asOf: point, createdAt: { position: first.position, time: first.recordedAt } },
        );
      }
      const fold = await foldTo(projectIdFromStream(first.streamId), point.position);
      const task = fold.tasks.get(taskId);
      if (!task) {
        const tomb = fold.deleted.get(taskId);
        throw notFound(
          'TASK_NOT_FOUND',
          `Task ${taskId} did not exist at ${describePoint(point)}: it was deleted before, at position ${tomb?.position ?? '?'}${tomb ? ` (${tomb.recordedAt})` : ''}.`,
          { taskId, asOf: point, ...(tomb ? { deletedAt: { position: tomb.position, time: tomb.recordedAt } } : {}) },
        );
      }
      return { asOf: point, task: taskView(fold, task) };
    },

    getProjectAsOf: async (projectId: string, at: string | undefined, page: PageInput): Promise<ProjectAsOfAnswer> => {
      const point = await resolvePoint(log, parsePoint(at));
      if (!(await projectExists(projectId))) throw projectNotFound(projectId);
      const fold = await foldTo(projectId, point.position);
      const after = page.cursor === undefined ? 0 : Number(decodeCursor(page.cursor, 1)[0]);
      const items: TaskAsOf[] = [];
      let last = 0;
      let more = false;
      for (const task of fold.tasks.values()) {
        if (task.createdPosition <= after) continue;
        if (items.length === page.limit) {
          more = true;
          break;
        }
        items.push(taskView(fold, task));
        last = task.createdPosition;
      }
      return { asOf: point, exists: fold.exists, project: projectSummary(fold), items, nextCursor: more ? encodeCursor([last]) : null };
    },

    diffProject: async (projectId: string, from: string | undefined, to: string | undefined, page: PageInput): Promise<DiffAnswer> => {
      const head = await log.headPosition();
      const [a, b] = [await resolvePoint(log, parsePoint(from ?? '0', 'from'), 'from'), await resolvePoint(log, parsePoint(to, 'to'), 'to')];
      if (head === 0 || !(await projectExists(projectId))) throw projectNotFound(projectId);
      // One pass: fold to the earlier point, take its views (plain copies), fold on to the later one.
      const [early, late] = a.position <= b.position ? [a, b] : [b, a];
      const fold = await foldTo(projectId, early.position);
      const first = views(fold);
      const second = views(await foldTo(projectId, late.position, fold));
      const all = a.position <= b.position ? diffTasks(first, second) : diffTasks(second, first);
      const counts = { created: 0, deleted: 0, changed: 0 };
      for (const item of all) counts[item.change] += 1;
      const after = page.cursor === undefined ? undefined : String(decodeCursor(page.cursor, 1)[0]);
      const rest = after === undefined ? all : all.filter((d) => d.taskId > after);
      const items = rest.slice(0, page.limit);
      const nextCursor = rest.length > page.limit ? encodeCursor([items.at(-1)!.taskId]) : null;
      return { projectId, from: a, to: b, counts, items, nextCursor };
    },
  };
};

/** A copy deep enough to fold on without touching the original (snapshots share nothing with a live fold). */
export const cloneFold = (fold: ProjectFold): ProjectFold => ({
  ...fold,
  tasks: new Map([...fold.tasks].map(([id, t]) => [id, { ...t, deps: new Map(t.deps) }])),
  deleted: new Map(fold.deleted),
});

export type AuditState = ReturnType<typeof auditState>;
