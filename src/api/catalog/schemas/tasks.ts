import { z } from 'zod';
import * as c from './common.js';
import { DEF_NAME } from './jsonSchema.js';

/** Input and output schemas of the task operations (`../tasks.ts`). */

/** Long on purpose: over MAX_FIELD_DESCRIPTION, the MCP tools serve it without (the core set's budget), REST documents it. */
const discoveredFrom = c.id.describe('A task of the same project whose work turned this one up: recorded as a `discovered_from` link');

type TreeNodeInput = z.ZodObject<
  typeof c.taskFieldProperties & { discoveredFrom: z.ZodOptional<typeof discoveredFrom>; children: z.ZodOptional<z.ZodArray<TreeNodeInput>> },
  z.core.$strict
>;
const treeNodeInput: TreeNodeInput = z
  .strictObject({
    ...c.taskFieldProperties,
    discoveredFrom: discoveredFrom.optional(),
    get children() {
      return z.array(treeNodeInput).max(1000).optional();
    },
  })
  .meta({ [DEF_NAME]: 'node', description: 'A task with its `children`, nested to any depth' });

const treeNodeShape = {
  id: z.string(),
  title: z.string(),
  status: c.status,
  priority: c.priority.optional(),
  ready: z.boolean().optional(),
};
type TreeNode = z.ZodObject<typeof treeNodeShape & { children: z.ZodArray<TreeNode>; hiddenChildren: z.ZodInt }>;
const treeNode: TreeNode = z
  .object({
    ...treeNodeShape,
    get children() {
      return z.array(treeNode);
    },
    hiddenChildren: z.int(),
  })
  .meta({ [DEF_NAME]: 'node' });

export const tree = z.object({ roots: z.array(treeNode), nodes: z.int(), truncated: z.boolean(), maxDepth: z.int() });

const similar = z.object({ id: z.string(), title: z.string(), similarity: z.number() });

const dependencyListing = z.object({
  taskId: z.string(),
  direction: z.string(),
  items: z.array(
    z.object({
      id: z.string(),
      title: z.string().optional(),
      status: c.status.optional(),
      priority: c.priority.optional(),
      kind: c.kind,
      distance: z.int(),
    }),
  ),
  truncated: z.boolean(),
});

const historyEntry = z.object({
  position: z.int(),
  revision: z.int().optional(),
  type: z.string(),
  at: z.string(),
  actor: z.string(),
  role: z.string().nullable().optional(),
  tool: z.string(),
  changes: c.anyObject,
});

const statusList = z.array(c.status).max(6).describe('Any of these statuses');
const priorityList = z.array(c.priority).max(4).describe('Any of these priorities');
const sort = z
  .enum(['createdAt', '-createdAt', 'updatedAt', '-updatedAt', 'priority', '-priority', 'title', '-title'])
  .describe('Sort order; `-` reverses');

export const createTask = {
  input: z.strictObject({
    ...c.taskFieldProperties,
    projectId: c.projectId.optional(),
    parentId: c.id.optional(),
    discoveredFrom: discoveredFrom.optional(),
  }),
  /** A created task, with the duplicate warning when vectors are on. */
  output: c.taskView.extend({
    possibleDuplicates: z.array(similar).describe('Existing tasks of the project close in meaning (a warning; the task was created)').optional(),
    duplicateCheck: z
      .enum(['checked', 'skipped'])
      .describe('`skipped`: the vector store did not answer in time; the task was created without the check')
      .optional(),
    duplicateCheckReason: z.string().describe('Why the duplicate check was skipped').optional(),
  }),
};

export const createTaskTree = {
  input: z.strictObject({
    projectId: c.projectId.optional(),
    parentId: c.id.optional(),
    root: treeNodeInput,
    discoveredFrom: discoveredFrom.optional(),
  }),
  output: c.writeResult({ rootId: z.string(), taskIds: z.array(z.string()), tree }),
};

export const listTasks = {
  input: z.strictObject({
    projectId: c.projectId.optional(),
    status: statusList.optional(),
    priority: priorityList.optional(),
    parentId: c.id.optional(),
    topLevel: z.boolean().describe('Only tasks without a parent').optional(),
    role: z.string().max(64).describe('Assigned role').optional(),
    tag: z.string().max(64).describe('Has this tag').optional(),
    q: z.string().min(1).max(500).describe('Words in the title, description or tags').optional(),
    ready: z.boolean().describe('Ready (true) or not ready (false)').optional(),
    sort: sort.optional(),
    fields: c.fields.optional(),
    limit: c.limit,
    cursor: c.cursor.optional(),
    minPosition: c.minPosition.optional(),
  }),
  output: c.page(c.partialTaskView),
};

export const listReadyTasks = {
  input: z.strictObject({
    projectId: c.projectId.optional(),
    role: z.string().max(64).describe('Assigned to this role').optional(),
    limit: c.limit,
    cursor: c.cursor.optional(),
    minPosition: c.minPosition.optional(),
  }),
  output: c.page(c.taskView),
};

export const getTaskDashboard = {
  input: z.strictObject({ projectId: c.projectId.optional(), minPosition: c.minPosition.optional() }),
  output: z.object({
    projectId: z.string().nullable(),
    total: z.int(),
    byStatus: c.countByStatus.describe('Tasks per status'),
    byPriority: c.countByPriority.describe('Tasks per priority'),
    ready: z.int(),
    dependencyBlocked: z.int(),
    dependencies: z.int(),
    completion: z.number(),
    topReady: z.array(z.unknown()),
    criticalPathHours: z.number().describe('With a projectId: expected remaining duration by CPM').optional(),
    criticalPathTasks: z.int().optional(),
    readyByRole: c.counts.describe('Ready tasks per assigned role').optional(),
    topBottlenecks: z.array(z.unknown()).optional(),
    usage: z
      .object({ inputTokens: z.int(), outputTokens: z.int(), costUsd: z.number(), seconds: z.number(), reports: z.int() })
      .describe('Reported usage and time in progress, summed (the project, or every project without projectId)'),
  }),
};

export const getTask = { input: z.strictObject({ id: c.id, minPosition: c.minPosition.optional() }), output: c.taskView };

const taskFieldChanges = z.strictObject({
  id: c.id,
  ...c.taskFieldProperties,
  title: c.title.optional(),
  expectedVersion: c.expectedVersion.optional(),
});
export const updateTask = { input: taskFieldChanges.meta({ minProperties: 2 }), output: c.taskView };

export const deleteTask = {
  input: z.strictObject({
    id: c.id,
    recursive: z.boolean().default(true).describe('Also delete subtasks (default true)'),
    expectedVersion: c.expectedVersion.optional(),
  }),
  output: c.writeResult({ deleted: z.array(z.string()), removedDependencies: z.int().optional() }),
};

export const moveTask = {
  input: z.strictObject({ id: c.id, parentId: c.id.nullable().describe('New parent, or null'), expectedVersion: c.expectedVersion.optional() }),
  output: c.taskView,
};

export const changeTaskStatus = {
  input: z.strictObject({
    id: c.id,
    status: c.status,
    reason: z.string().max(2000).describe('Why, kept in the history').optional(),
    expectedVersion: c.expectedVersion.optional(),
  }),
  output: c.taskView.extend({ unblocked: z.array(z.string()).optional() }),
};

export const getTaskTree = {
  input: z.strictObject({
    id: c.id,
    depth: z.int().min(0).max(10).default(3).describe('Levels of subtasks (0 = the task alone)'),
    minPosition: c.minPosition.optional(),
  }),
  output: tree,
};

export const addDependency = {
  input: z.strictObject({ id: c.id, dependsOn: c.id, kind: c.kind.default('hard'), expectedVersion: c.expectedVersion.optional() }),
  output: c.writeResult({ taskId: z.string(), dependsOn: z.string(), kind: c.kind, ready: z.boolean().optional() }),
};

export const removeDependency = {
  input: z.strictObject({ id: c.id, dependsOn: c.id, expectedVersion: c.expectedVersion.optional() }),
  output: c.writeResult({ taskId: z.string(), dependsOn: z.string(), ready: z.boolean().optional() }),
};

const linkAnswer = c.writeResult({ taskId: z.string(), kind: c.linkKind, target: z.string(), links: z.array(z.unknown()) });

export const linkTasks = {
  input: z.strictObject({
    id: c.id,
    kind: c.linkKind,
    target: c.id.describe('The task linked to (same project)'),
    expectedVersion: c.expectedVersion.optional(),
  }),
  output: linkAnswer,
};

export const unlinkTasks = {
  input: z.strictObject({ id: c.id, kind: c.linkKind, target: c.id.describe('The task linked to'), expectedVersion: c.expectedVersion.optional() }),
  output: linkAnswer,
};

export const listDependencies = {
  input: z.strictObject({
    id: c.id,
    direction: z.enum(['dependencies', 'dependents']).default('dependencies').describe('What it waits for, or what waits for it'),
    depth: z.int().min(1).max(100).default(1).describe('1 = direct only'),
    minPosition: c.minPosition.optional(),
  }),
  output: dependencyListing,
};

export const getTaskHistory = {
  input: z.strictObject({ id: c.id, limit: c.limit, cursor: c.cursor.optional(), minPosition: c.minPosition.optional() }),
  output: z.object({ taskId: z.string(), items: z.array(historyEntry), nextCursor: z.string().nullable() }),
};
