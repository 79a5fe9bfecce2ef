import { DEPENDENCY_KINDS, PRIORITIES, TASK_STATUSES, TOOL_GROUPS } from '../events/vocabulary.js';

/** JSON Schema fragments shared by every operation (and so by ajv, OpenAPI and the MCP tools). */
export type JsonSchema = Record<string, unknown>;

export const id = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Task id' } as const;
export const projectId = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9][a-z0-9_-]*$',
  description: 'Project id (lower-case slug); `default` when omitted',
} as const;
export const title = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S', description: 'Short title (1–200 chars)' } as const;
export const description = { type: 'string', maxLength: 20000, description: 'Longer description (Markdown)' } as const;
export const priority = { type: 'string', enum: PRIORITIES, description: 'Priority' } as const;
export const status = { type: 'string', enum: TASK_STATUSES, description: 'Task status' } as const;
export const kind = { type: 'string', enum: DEPENDENCY_KINDS, description: '`hard` blocks the task, `soft` only warns' } as const;
export const tags = {
  type: 'array',
  maxItems: 50,
  items: { type: 'string', minLength: 1, maxLength: 64 },
  description: 'Tags',
} as const;
export const estimate = { type: ['number', 'null'], minimum: 0, maximum: 100000, description: 'Estimate in hours' } as const;
export const files = {
  type: 'array',
  maxItems: 500,
  items: { type: 'string', minLength: 1, maxLength: 1024 },
  description: 'Paths or globs the work touches',
} as const;
export const requiredCapabilities = {
  type: 'array',
  maxItems: TOOL_GROUPS.length,
  items: { type: 'string', enum: TOOL_GROUPS },
  description: 'Tool groups a role needs to do the task',
} as const;
export const metadata = { type: 'object', maxProperties: 100, description: 'Free-form JSON metadata' } as const;
export const limit = { type: 'integer', minimum: 1, maximum: 200, default: 20, description: 'Page size' } as const;
export const cursor = { type: 'string', maxLength: 512, description: 'Cursor from the previous page' } as const;
export const fields = {
  type: 'array',
  maxItems: 30,
  items: { type: 'string', maxLength: 64 },
  description: 'Only return these task fields (comma-separated in a query string)',
} as const;
export const minPosition = {
  type: 'integer',
  minimum: 0,
  description: 'Wait until the read model has applied this log position (read-your-writes)',
} as const;
export const expectedVersion = {
  type: 'integer',
  minimum: 0,
  description: "The task's version (ETag) the change is based on; refused with 412 when stale",
} as const;

export const taskFieldProperties = { title, description, priority, tags, estimate, files, requiredCapabilities, metadata } as const;

export const taskView = {
  type: 'object',
  required: ['id', 'projectId', 'parentId', 'title', 'status', 'priority', 'version'],
  properties: {
    id: { type: 'string' },
    projectId: { type: 'string' },
    parentId: { type: ['string', 'null'] },
    title: { type: 'string' },
    description: { type: 'string' },
    status,
    priority,
    role: { type: ['string', 'null'] },
    tags: { type: 'array', items: { type: 'string' } },
    estimate: { type: ['number', 'null'] },
    files: { type: 'array', items: { type: 'string' } },
    requiredCapabilities: { type: 'array', items: { type: 'string' } },
    metadata: { type: 'object' },
    depth: { type: 'integer' },
    ready: { type: 'boolean' },
    openDependencies: { type: 'integer' },
    claimedBy: { type: ['string', 'null'] },
    leaseExpiresAt: { type: ['string', 'null'] },
    result: { type: ['object', 'null'] },
    version: { type: 'integer' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

/** A task with only some fields (list answers honour `fields`). */
export const partialTaskView = { ...taskView, required: ['id'] } as const;

export const page = (item: JsonSchema): JsonSchema => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: { items: { type: 'array', items: item }, nextCursor: { type: ['string', 'null'] } },
});

export const projectView = {
  type: 'object',
  required: ['id', 'name', 'description', 'taskCount', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    taskCount: { type: 'integer' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

/** An object schema that refuses unknown properties. */
export const input = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...(required.length > 0 ? { required } : {}),
});
