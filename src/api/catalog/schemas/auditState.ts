import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of state as of a point, diffs and undo (`../auditState.ts`). */

export const point = z
  .string()
  .min(1)
  .max(40)
  .describe('A log position (whole number) or an ISO-8601 time (normalised to UTC); omitted: the head of the log');

const logPoint = z.object({
  position: z.int().describe('The state is the log folded up to this position (inclusive)'),
  time: z.string().nullable().describe('When the event at that position was recorded; null before the first event'),
});

const taskAsOf = c.taskView.extend({
  dependencies: z.array(z.object({ dependsOn: z.string(), kind: c.kind })).describe('What the task depended on then'),
});

const summary = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  taskCount: z.int(),
  byStatus: c.countByStatus,
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});

export const getTaskAsOf = {
  input: z.strictObject({ id: c.id, at: point.optional() }),
  output: z.object({ asOf: logPoint, task: taskAsOf }),
};

export const getProjectAsOf = {
  input: z.strictObject({ projectId: c.projectId, at: point.optional(), limit: c.pageSize(500, 100), cursor: c.cursor.optional() }),
  output: z.object({
    asOf: logPoint,
    exists: z.boolean().describe('False when the project was created after this point (the empty state)'),
    project: summary,
    items: z.array(taskAsOf),
    nextCursor: z.string().nullable(),
  }),
};

const edge = z.object({ dependsOn: z.string(), kind: c.kind });

const taskDiff = z.object({
  taskId: z.string(),
  title: z.string(),
  change: z.enum(['created', 'deleted', 'changed']),
  before: taskAsOf.optional().describe('The task at `from` (a deleted task)'),
  after: taskAsOf.optional().describe('The task at `to` (a created task)'),
  changes: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() })).describe('Fields that differ (a changed task)'),
  dependencies: z.object({
    added: z.array(edge),
    removed: z.array(edge),
    kindChanged: z.array(z.object({ dependsOn: z.string(), before: c.kind, after: c.kind })),
  }),
});

export const diffProject = {
  input: z.strictObject({
    projectId: c.projectId,
    from: point.optional().describe('The earlier point (position or ISO time); omitted: before the first event'),
    to: point.optional().describe('The later point; omitted: the head of the log'),
    limit: c.pageSize(500, 100),
    cursor: c.cursor.optional(),
  }),
  output: z.object({
    projectId: z.string(),
    from: logPoint,
    to: logPoint,
    counts: z.object({ created: z.int(), deleted: z.int(), changed: z.int() }),
    items: z.array(taskDiff),
    nextCursor: z.string().nullable(),
  }),
};

const eventRef = z.object({ position: z.int(), type: z.string(), taskId: z.string().nullable() });

export const undoRequest = {
  input: z.strictObject({
    correlationId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.:-]+$/)
      .describe("The request to undo: its correlation id (an event's `metadata.correlationId`, a reply's X-Correlation-Id)"),
    dryRun: z.boolean().default(false).describe('Answer the events the undo would append, and append nothing'),
  }),
  output: z.object({
    correlationId: z.string(),
    projectId: z.string(),
    dryRun: z.boolean(),
    undone: z.array(eventRef).describe("The request's events that are reversed"),
    events: z
      .array(z.object({ type: z.string(), taskId: z.string().nullable(), data: c.anyObject }))
      .describe('Compensating events appended (or, dry run, that would be)'),
    position: z.int().describe('Log position of the last compensating event (dry run: of the log as read)'),
  }),
};
