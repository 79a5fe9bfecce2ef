import { badRequest } from '../../errors.js';
import type { EventLogReader, StoredEvent } from '../../events/types.js';

/** The part of the event log the audit reads. */
export type AuditLog = Pick<EventLogReader, 'readStream' | 'readAll' | 'queryEvents' | 'headPosition'>;

/** A point of the log: right after the event at `position`, recorded at `time` (null before the first event). */
export type LogPoint = Readonly<{ position: number; time: string | null }>;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `at` as the caller wrote it: a position (digits) or an ISO-8601 time (normalised to UTC); undefined is the head. */
export type PointSpec = { position: number } | { time: string } | { head: true };

export const parsePoint = (at: string | undefined, name = 'at'): PointSpec => {
  if (at === undefined || at === '' || at === 'head') return { head: true };
  if (/^\d+$/.test(at)) {
    const position = Number(at);
    if (Number.isSafeInteger(position)) return { position };
  } else if (ISO_TIME.test(at)) {
    const ms = Date.parse(at);
    if (Number.isFinite(ms)) return { time: new Date(ms).toISOString() };
  }
  throw badRequest('INVALID_POINT', `\`${name}\` must be a log position (a whole number) or an ISO-8601 time, not ${JSON.stringify(at)}.`, {
    [name]: at,
  });
};

const eventAtOrAfter = async (log: AuditLog, position: number): Promise<StoredEvent | undefined> =>
  (await log.readAll({ fromPosition: Math.max(0, position - 1), maxCount: 1 }))[0];

/**
 * The last position recorded at or before `time`: a binary search over the log, whose `recordedAt` grows with
 * its position (each store stamps an append when it commits it). 0 when the time is before the first event.
 */
const positionAtTime = async (log: AuditLog, time: string, head: number): Promise<number> => {
  let lo = 0;
  let hi = head;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const event = await eventAtOrAfter(log, mid);
    if (event && event.position <= hi && event.recordedAt <= time) lo = event.position;
    else hi = mid - 1;
  }
  return lo;
};

/** Resolves a point against the log as it is now; a position past the head is refused. */
export const resolvePoint = async (log: AuditLog, spec: PointSpec, name = 'at'): Promise<LogPoint> => {
  const head = await log.headPosition();
  let position: number;
  if ('head' in spec) position = head;
  else if ('time' in spec) position = await positionAtTime(log, spec.time, head);
  else if (spec.position > head) {
    throw badRequest('POSITION_NOT_REACHED', `The log has not reached position ${spec.position} yet: its head is at ${head}.`, {
      [name]: spec.position,
      headPosition: head,
    });
  } else position = spec.position;
  if (position === 0) return { position: 0, time: null };
  const event = await eventAtOrAfter(log, position);
  return { position, time: event?.position === position ? event.recordedAt : null };
};
