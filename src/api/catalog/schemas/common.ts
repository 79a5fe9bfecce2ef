import { z } from 'zod';
import { DEPENDENCY_KINDS, LINK_KINDS, PRIORITIES, TASK_STATUSES, TOOL_GROUPS } from '../../../events/vocabulary.js';

/** Schema fragments shared by every operation (and so by ajv, OpenAPI and the MCP tools). */

export const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/)
  .describe('Task id');
export const projectId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/)
  .describe('`default` when omitted');
export const title = z.string().min(1).max(200).regex(/\S/).describe('Short title (1–200 chars)');
export const description = z.string().max(20000).describe('Longer description (Markdown)');
export const priority = z.enum(PRIORITIES).describe('Priority');
export const status = z.enum(TASK_STATUSES).describe('Task status');
export const kind = z.enum(DEPENDENCY_KINDS).describe('`hard` blocks the task, `soft` only warns');
export const linkKind = z.enum(LINK_KINDS).describe('`discovered_from`, `duplicates` or `related`; links never block');
export const tags = z.array(z.string().min(1).max(64)).max(50).describe('Tags');
export const estimate = z.number().min(0).max(100000).nullable().describe('Estimate in hours');
export const files = z.array(z.string().min(1).max(1024)).max(500).describe('Paths or globs the work touches');
export const requiredCapabilities = z.array(z.enum(TOOL_GROUPS)).max(TOOL_GROUPS.length).describe('Tool groups a role needs to do the task');
/** Any JSON object. */
export const anyObject = z.record(z.string(), z.unknown());
/** A count per name (of a role, an agent…): the keys are data. */
export const counts = z.record(z.string(), z.int());
/** A count for every task status, zeros included. */
export const countByStatus = z.object(Object.fromEntries(TASK_STATUSES.map((s) => [s, z.int()])) as Record<(typeof TASK_STATUSES)[number], z.ZodInt>);
/** A count for every priority, zeros included. */
export const countByPriority = z.object(Object.fromEntries(PRIORITIES.map((p) => [p, z.int()])) as Record<(typeof PRIORITIES)[number], z.ZodInt>);
export const metadata = anyObject.meta({ maxProperties: 100, description: 'Free-form JSON metadata' });
/** A page size of at most `max` rows, `fallback` when not asked. */
export const pageSize = (max = 200, fallback = 20) => z.int().min(1).max(max).default(fallback).describe('Page size');
export const limit = pageSize();
export const cursor = z.string().max(512).describe('Cursor from the previous page');
export const fields = z.array(z.string().max(64)).max(30).describe('Only return these task fields (comma-separated in a query string)');
export const minPosition = z.int().min(0).describe('Wait until the read model has applied this log position (read-your-writes)');
export const expectedVersion = z.int().min(0).describe("The task's version (ETag) the change is based on; refused with 412 when stale");

export const taskFieldProperties = {
  title,
  description: description.optional(),
  priority: priority.optional(),
  tags: tags.optional(),
  estimate: estimate.optional(),
  files: files.optional(),
  requiredCapabilities: requiredCapabilities.optional(),
  metadata: metadata.optional(),
};

const taskViewShape = {
  id: z.string(),
  projectId: z.string(),
  parentId: z.string().nullable(),
  title: z.string(),
  description: z.string().optional(),
  status,
  priority,
  role: z.string().nullable().optional(),
  tags: z.array(z.string()).optional(),
  estimate: z.number().nullable().optional(),
  files: z.array(z.string()).optional(),
  requiredCapabilities: z.array(z.string()).optional(),
  metadata: anyObject.optional(),
  depth: z.int().optional(),
  ready: z.boolean().optional(),
  openDependencies: z.int().optional(),
  claimedBy: z.string().nullable().optional(),
  leaseExpiresAt: z.string().nullable().optional(),
  statusNote: z
    .object({ note: z.string(), at: z.string() })
    .nullable()
    .describe("The claiming agent's last heartbeat note, while the claim lives")
    .optional(),
  result: anyObject.nullable().optional(),
  version: z.int(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
  links: z
    .array(z.object({ kind: linkKind, taskId: z.string(), direction: z.enum(['out', 'in']), createdAt: z.string() }))
    .describe('Typed links: `out` from this task to `taskId`, `in` from `taskId` to this one (single-task answers only)')
    .optional(),
};

export const taskView = z.object(taskViewShape);

/** A task with only some fields (list answers honour `fields`). */
export const partialTaskView = z.object({ ...taskView.partial().shape, id: z.string() });

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const projectView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  taskCount: z.int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** An answer to a write: the log position of its last event, and what it changed. */
export const writeResult = <T extends z.ZodRawShape>(shape: T) => z.object({ position: z.int(), ...shape });
