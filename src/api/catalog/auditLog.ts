import type { EventLogReader, EventQuery, StoredEvent } from '../../events/types.js';
import { DomainError, badRequest } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../queries/cursor.js';
import * as schemas from './schemas/auditLog.js';
import { defineOperation, type AnyOperation } from './operation.js';

/** What the event browser reads: one bounded page of the log at a time. */
export type LogReader = Pick<EventLogReader, 'queryPage'>;

export type AuditLogCatalogDeps = Readonly<{ store: LogReader }>;

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** Date.parse rolls 2026-02-30 over into March: the calendar day must exist as written. */
const realTime = (value: string): number => {
  const match = ISO_TIME.exec(value);
  if (!match) return NaN;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? Date.parse(value) : NaN;
};

/** An ISO-8601 instant with `Z` or an offset, as the store records times: UTC with milliseconds. */
export const utcTime = (field: string, value: string): string => {
  const ms = realTime(value);
  if (Number.isNaN(ms)) {
    throw new DomainError(
      'INVALID_TIME',
      400,
      `\`${field}\` must be an ISO-8601 time with a zone, such as 2026-01-31T09:30:00Z or 2026-01-31T10:30:00+01:00 (got "${value}").`,
      { field, value },
      'Give the date, the time and `Z` (UTC) or an offset like +02:00.',
    );
  }
  return new Date(ms).toISOString();
};

type Filters = Readonly<{
  streamId?: string;
  projectId?: string;
  taskId?: string;
  type?: string[];
  actor?: string;
  role?: string;
  tool?: string;
  correlationId?: string;
  from?: string;
  to?: string;
  fromPosition?: number;
  toPosition?: number;
}>;

/** The API's filters as the store's query: projectId names its stream, times become UTC, ranges must not be reversed. */
export const logQueryOf = (input: Filters): EventQuery => {
  const projectStream = input.projectId === undefined ? undefined : `project-${input.projectId}`;
  if (projectStream && input.streamId !== undefined && input.streamId !== projectStream) {
    throw badRequest(
      'CONFLICTING_FILTERS',
      `projectId ${input.projectId} names stream ${projectStream}, but streamId is ${input.streamId}: give one of them.`,
      {
        projectId: input.projectId,
        streamId: input.streamId,
      },
    );
  }
  const fromTime = input.from === undefined ? undefined : utcTime('from', input.from);
  const toTime = input.to === undefined ? undefined : utcTime('to', input.to);
  if (fromTime && toTime && fromTime > toTime)
    throw badRequest('INVALID_RANGE', `\`from\` (${fromTime}) is after \`to\` (${toTime}).`, { from: fromTime, to: toTime });
  if (input.fromPosition !== undefined && input.toPosition !== undefined && input.fromPosition > input.toPosition) {
    throw badRequest('INVALID_RANGE', `\`fromPosition\` (${input.fromPosition}) is after \`toPosition\` (${input.toPosition}).`, {
      fromPosition: input.fromPosition,
      toPosition: input.toPosition,
    });
  }
  const streamId = projectStream ?? input.streamId;
  const entries = {
    streamId,
    taskId: input.taskId,
    types: input.type && input.type.length > 0 ? input.type : undefined,
    actor: input.actor,
    role: input.role,
    tool: input.tool,
    correlationId: input.correlationId,
    fromTime,
    toTime,
    fromPosition: input.fromPosition,
    toPosition: input.toPosition,
  };
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as EventQuery;
};

/** The cursor is the position to go on after: opaque to the caller, checked on the way back. */
const afterOf = (cursor: string | undefined): number => {
  if (cursor === undefined) return 0;
  const [after] = decodeCursor(cursor, 1);
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
    throw badRequest('INVALID_CURSOR', 'The cursor is not one this endpoint handed out; start again without it.', { cursor });
  }
  return after;
};

const item = (e: StoredEvent) => ({
  position: e.position,
  id: e.id,
  streamId: e.streamId,
  revision: e.revision,
  type: e.type,
  data: e.data as Record<string, unknown>,
  metadata: e.metadata as Record<string, unknown>,
  recordedAt: e.recordedAt,
});

const readPage = async (store: LogReader, query: EventQuery, limit: number, cursor: string | undefined) => {
  const page = await store.queryPage(query, { afterPosition: afterOf(cursor), limit });
  return { items: page.events.map(item), nextCursor: page.nextAfter === null ? null : encodeCursor([page.nextAfter]) };
};

/** The raw event log for audit replay: every event as stored, filtered, in position order. */
export const auditLogOperations = ({ store }: AuditLogCatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'listEvents',
    tool: 'list_events',
    summary: 'The raw event log, oldest first, filtered by stream, project, task, type, actor, role, tool, correlation, time or position.',
    description: 'Every filter given must match; bounds are inclusive. Follow nextCursor until it is null: a page may be short.',
    method: 'get',
    path: '/audit/events',
    capability: 'audit_reading',
    kind: 'query',
    ...schemas.listEvents,
    run: async ({ limit, cursor, ...filters }) => ({ body: await readPage(store, logQueryOf(filters), limit, cursor) }),
  }),

  defineOperation({
    name: 'getCorrelation',
    tool: 'get_correlation',
    summary: 'Every event one request caused (its correlation id), in log order.',
    method: 'get',
    path: '/audit/correlations/:correlationId',
    capability: 'audit_reading',
    kind: 'query',
    ...schemas.getCorrelation,
    run: async ({ correlationId, limit, cursor }) => {
      const page = await readPage(store, { correlationId }, limit, cursor);
      if (cursor === undefined && page.items.length === 0 && page.nextCursor === null) {
        throw new DomainError('CORRELATION_NOT_FOUND', 404, `No event in the log carries correlation id ${correlationId}.`, { correlationId });
      }
      return { body: { correlationId, ...page } };
    },
  }),
];
