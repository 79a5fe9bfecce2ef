import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of the event browser (`../auditLog.ts`): the raw log, filtered and paged by position. */

const text = (description: string) => z.string().min(1).max(200).describe(description);
const position = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
/** Parsed and normalised to UTC by the operation, so a bad time gets its own code (INVALID_TIME). */
const time = (description: string) => z.string().min(1).max(40).describe(description);

export const correlationId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/)
  .describe('Correlation id of one request (REST: its X-Correlation-Id; otherwise the command id)');

export const MAX_TYPES = 20;

const filters = {
  streamId: text('Only this stream (`project-<id>`, `roles`, `plugin-<id>`)').optional(),
  projectId: c.projectId.describe('Only the stream of this project (the same as streamId `project-<id>`)').optional(),
  taskId: c.id.describe('Only events about this task (`data.taskId`)').optional(),
  type: z
    .array(
      z
        .string()
        .min(1)
        .max(100)
        .regex(/^[A-Za-z][A-Za-z0-9]*$/),
    )
    .max(MAX_TYPES)
    .describe(`Any of these event types (repeat \`type=\` or give a comma list; at most ${MAX_TYPES})`)
    .optional(),
  actor: text('Only events caused by this actor (plugin id, `admin`, `cli`, `system`)').optional(),
  role: text('Only events of callers acting for this role').optional(),
  tool: text('Only events that came through this surface (`rest`, `mcp:<tool>`, `cli`, …)').optional(),
  correlationId: correlationId.optional(),
  from: time('Recorded at or after this ISO-8601 time (with `Z` or an offset)').optional(),
  to: time('Recorded at or before this ISO-8601 time (with `Z` or an offset)').optional(),
  fromPosition: position.describe('Log position to start at (inclusive)').optional(),
  toPosition: position.describe('Log position to stop at (inclusive)').optional(),
};

const page = { limit: c.pageSize(500, 100), cursor: c.cursor.optional() };

export const loggedEvent = z.object({
  position: z.int(),
  id: z.string(),
  streamId: z.string(),
  revision: z.int(),
  type: z.string(),
  data: c.anyObject,
  metadata: c.anyObject,
  recordedAt: z.string(),
});

export const listEvents = { input: z.strictObject({ ...filters, ...page }), output: c.page(loggedEvent) };

export const getCorrelation = {
  input: z.strictObject({ correlationId, ...page }),
  output: z.object({ correlationId: z.string(), items: z.array(loggedEvent), nextCursor: z.string().nullable() }),
};
