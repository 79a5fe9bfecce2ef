import type { TaskFields } from '../../events/project.js';
import type { DependencyKind, TaskStatus } from '../../events/vocabulary.js';
import type { TreeInput } from '../../commands/project/commands.js';
import { getDependencies, getTask, getTaskTree, listReadyTasks, listTasks, pickFields, type TaskFilter } from '../../queries/tasks.js';
import { getDashboard, getTaskHistory } from '../../queries/projects.js';
import * as s from '../schemas.js';
import { defineOperation, requestMeta, type AnyOperation } from './operation.js';
import type { CatalogDeps } from './deps.js';
import { taskAnswerer } from './taskAnswer.js';

const treeNodeSchema: s.JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title'],
  properties: { ...s.taskFieldProperties, children: { type: 'array', maxItems: 1000, items: { $ref: '#/$defs/node' } } },
};

const treeOutput: s.JsonSchema = {
  type: 'object',
  required: ['roots', 'nodes', 'truncated', 'maxDepth'],
  properties: {
    roots: { type: 'array', items: { $ref: '#/$defs/node' } },
    nodes: { type: 'integer' },
    truncated: { type: 'boolean' },
    maxDepth: { type: 'integer' },
  },
  $defs: {
    node: {
      type: 'object',
      required: ['id', 'title', 'status', 'children', 'hiddenChildren'],
      properties: {
        id: { type: 'string' },
        title: { type: 'string' },
        status: s.status,
        priority: s.priority,
        ready: { type: 'boolean' },
        children: { type: 'array', items: { $ref: '#/$defs/node' } },
        hiddenChildren: { type: 'integer' },
      },
    },
  },
};

const dependencyListing: s.JsonSchema = {
  type: 'object',
  required: ['taskId', 'direction', 'items', 'truncated'],
  properties: {
    taskId: { type: 'string' },
    direction: { type: 'string' },
    truncated: { type: 'boolean' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'kind', 'distance'],
        properties: { id: { type: 'string' }, title: { type: 'string' }, status: s.status, priority: s.priority, kind: s.kind, distance: { type: 'integer' } },
      },
    },
  },
};

const writeResult = (extra: Record<string, s.JsonSchema>, required: string[]): s.JsonSchema => ({
  type: 'object',
  required: ['position', ...required],
  properties: { position: { type: 'integer' }, ...extra },
});

/** A created task, with the duplicate warning when vectors are on. */
const createdTask: s.JsonSchema = {
  ...s.taskView,
  properties: {
    ...s.taskView.properties,
    possibleDuplicates: {
      type: 'array',
      description: 'Existing tasks of the project close in meaning (a warning; the task was created)',
      items: { type: 'object', required: ['id', 'title', 'similarity'], properties: { id: { type: 'string' }, title: { type: 'string' }, similarity: { type: 'number' } } },
    },
    duplicateCheck: { type: 'string', enum: ['checked', 'skipped'], description: '`skipped`: the vector store did not answer in time; the task was created without the check' },
    duplicateCheckReason: { type: 'string', description: 'Why the duplicate check was skipped' },
  },
};

export const taskOperations = ({ commands, readDb, waitForReadModel, dashboardExtras, duplicates }: CatalogDeps): AnyOperation[] => {
  /** Read-your-writes: a write answers only once the SQLite model shows it. */
  const settled = async (position: number) => {
    await waitForReadModel(position);
    return position;
  };
  const taskAnswer = taskAnswerer({ readDb, waitForReadModel });

  return [
    defineOperation<TaskFields & { projectId?: string; parentId?: string }, unknown>({
      name: 'createTask',
      tool: 'create_task',
      summary: 'Create a task (in `projectId`, under `parentId`, or in the default project).',
      method: 'post',
      path: '/tasks',
      capability: 'task_creation',
      kind: 'command',
      successStatus: 201,
      input: s.input({ ...s.taskFieldProperties, projectId: s.projectId, parentId: s.id }, ['title']),
      output: createdTask,
      run: async (input, ctx) => {
        // The duplicate check warns, never refuses: it runs beside the create, bounded, and its answer rides along.
        const [result, similar] = await Promise.all([commands.createTask(input, requestMeta(ctx)), duplicates?.(input)]);
        const answer = await taskAnswer(result.taskId, result.position);
        if (!similar) return answer;
        const warning = {
          possibleDuplicates: similar.items.filter((d) => d.id !== answer.body.id),
          duplicateCheck: similar.skipped === undefined ? 'checked' : 'skipped',
          ...(similar.skipped === undefined ? {} : { duplicateCheckReason: similar.skipped }),
        };
        return { ...answer, body: { ...answer.body, ...warning } };
      },
    }),

    defineOperation<{ projectId?: string; parentId?: string; root: TreeInput }, unknown>({
      name: 'createTaskTree',
      tool: 'create_task_tree',
      summary: 'Create a root task with nested subtasks in one atomic step (all or nothing, at most 1,000 tasks).',
      method: 'post',
      path: '/tasks/tree',
      capability: 'task_creation',
      kind: 'command',
      successStatus: 201,
      input: { ...s.input({ projectId: s.projectId, parentId: s.id, root: { $ref: '#/$defs/node' } }, ['root']), $defs: { node: treeNodeSchema } },
      output: {
        ...writeResult({ rootId: { type: 'string' }, taskIds: { type: 'array', items: { type: 'string' } }, tree: { ...treeOutput, $defs: undefined } }, [
          'rootId',
          'taskIds',
          'tree',
        ]),
        $defs: treeOutput.$defs,
      },
      run: async (input, ctx) => {
        const result = await commands.createTaskTree(input, requestMeta(ctx));
        const { rootId, taskIds } = result;
        const position = await settled(result.position);
        const tree = getTaskTree(readDb, { taskId: rootId, maxDepth: 2 });
        return { body: { rootId, taskIds, tree, position }, position };
      },
    }),

    defineOperation<TaskFilter & { fields?: string[]; topLevel?: boolean; minPosition?: number }, unknown>({
      name: 'listTasks',
      tool: 'list_tasks',
      summary: 'List tasks with filters (project, status, priority, parent, role, tag, text), sorted and paginated.',
      method: 'get',
      path: '/tasks',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({
        projectId: s.projectId,
        status: { type: 'array', maxItems: 6, items: s.status, description: 'Any of these statuses' },
        priority: { type: 'array', maxItems: 4, items: s.priority, description: 'Any of these priorities' },
        parentId: s.id,
        topLevel: { type: 'boolean', description: 'Only tasks without a parent' },
        role: { type: 'string', maxLength: 64, description: 'Assigned role' },
        tag: { type: 'string', maxLength: 64, description: 'Has this tag' },
        q: { type: 'string', minLength: 1, maxLength: 500, description: 'Full-text search over title, description and tags' },
        ready: { type: 'boolean', description: 'Only ready (true) or only not-ready (false) tasks' },
        sort: {
          type: 'string',
          enum: ['createdAt', '-createdAt', 'updatedAt', '-updatedAt', 'priority', '-priority', 'title', '-title'],
          description: 'Sort order; `-` reverses',
        },
        fields: s.fields,
        limit: s.limit,
        cursor: s.cursor,
        minPosition: s.minPosition,
      }),
      output: s.page(s.partialTaskView),
      run: async (input) => {
        const { fields, topLevel, minPosition: _minPosition, ...filter } = input;
        const page = listTasks(readDb, { ...filter, ...(topLevel ? { parentId: null } : {}) });
        return { body: { items: page.items.map((t) => pickFields(t, fields)), nextCursor: page.nextCursor } };
      },
    }),

    defineOperation<{ projectId?: string; role?: string; limit?: number; cursor?: string; minPosition?: number }, unknown>({
      name: 'listReadyTasks',
      tool: 'list_ready_tasks',
      summary: 'Tasks ready to start: pending with every hard dependency completed, highest priority first.',
      method: 'get',
      path: '/tasks/ready',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ projectId: s.projectId, role: { type: 'string', maxLength: 64 }, limit: s.limit, cursor: s.cursor, minPosition: s.minPosition }),
      output: s.page(s.taskView),
      run: async ({ minPosition: _minPosition, ...input }) => {
        return { body: listReadyTasks(readDb, input) };
      },
    }),

    defineOperation<{ projectId?: string; minPosition?: number }, unknown>({
      name: 'getTaskDashboard',
      tool: 'get_task_dashboard',
      summary: 'Counts by status and priority, ready and dependency-blocked tasks, and the top ready tasks.',
      method: 'get',
      path: '/tasks/dashboard',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ projectId: s.projectId, minPosition: s.minPosition }),
      output: {
        type: 'object',
        required: ['projectId', 'total', 'byStatus', 'byPriority', 'ready', 'dependencyBlocked', 'dependencies', 'completion', 'topReady'],
        properties: {
          projectId: { type: ['string', 'null'] },
          total: { type: 'integer' },
          byStatus: { type: 'object' },
          byPriority: { type: 'object' },
          ready: { type: 'integer' },
          dependencyBlocked: { type: 'integer' },
          dependencies: { type: 'integer' },
          completion: { type: 'number' },
          topReady: { type: 'array' },
          criticalPathHours: { type: 'number', description: 'With a projectId: expected remaining duration by CPM' },
          criticalPathTasks: { type: 'integer' },
          readyByRole: { type: 'object' },
          topBottlenecks: { type: 'array' },
        },
      },
      run: async (input) => {
        const dashboard = getDashboard(readDb, input.projectId);
        const extras = input.projectId !== undefined && dashboardExtras ? dashboardExtras(input.projectId) : undefined;
        return { body: extras ? { ...dashboard, ...extras } : dashboard };
      },
    }),

    defineOperation<{ id: string; minPosition?: number }, unknown>({
      name: 'getTask',
      tool: 'get_task',
      summary: 'Get one task by id (its `version` is the ETag for conditional updates).',
      method: 'get',
      path: '/tasks/:id',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ id: s.id, minPosition: s.minPosition }, ['id']),
      output: s.taskView,
      run: async (input) => {
        const task = getTask(readDb, input.id);
        return { body: task, version: task.version };
      },
    }),

    defineOperation<Partial<TaskFields> & { id: string; expectedVersion?: number }, unknown>({
      name: 'updateTask',
      tool: 'update_task',
      summary: 'Change a task\'s fields; send `expectedVersion` (or If-Match) to refuse lost updates.',
      method: 'patch',
      path: '/tasks/:id',
      capability: 'task_modification',
      kind: 'command',
      input: { ...s.input({ id: s.id, ...s.taskFieldProperties, expectedVersion: s.expectedVersion }, ['id']), minProperties: 2 },
      output: s.taskView,
      run: async ({ id, expectedVersion, ...changes }, ctx) => {
        const result = await commands.updateTask(id, changes, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        return taskAnswer(id, result.position);
      },
    }),

    defineOperation<{ id: string; recursive?: boolean; expectedVersion?: number }, unknown>({
      name: 'deleteTask',
      tool: 'delete_task',
      summary: 'Delete a task and (by default) its subtasks; dependencies on them are removed too.',
      method: 'delete',
      path: '/tasks/:id',
      capability: 'task_deletion',
      kind: 'command',
      input: s.input(
        { id: s.id, recursive: { type: 'boolean', default: true, description: 'Also delete subtasks (default true)' }, expectedVersion: s.expectedVersion },
        ['id'],
      ),
      output: writeResult({ deleted: { type: 'array', items: { type: 'string' } }, removedDependencies: { type: 'integer' } }, ['deleted']),
      run: async ({ id, recursive, expectedVersion }, ctx) => {
        const result = await commands.deleteTask(id, recursive ?? true, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        const deleted = result.events.filter((e) => e.type === 'TaskDeleted').map((e) => (e.data as { taskId: string }).taskId);
        const removedDependencies = result.events.filter((e) => e.type === 'DependencyRemoved').length;
        const position = await settled(result.position);
        return { body: { deleted, removedDependencies, position }, position };
      },
    }),

    defineOperation<{ id: string; parentId: string | null; expectedVersion?: number }, unknown>({
      name: 'moveTask',
      tool: 'move_task',
      summary: 'Move a task (with its subtasks) under another parent, or to the top level with `parentId: null`.',
      method: 'post',
      path: '/tasks/:id/move',
      capability: 'task_modification',
      kind: 'command',
      input: s.input({ id: s.id, parentId: { ...s.id, type: ['string', 'null'], description: 'New parent, or null' }, expectedVersion: s.expectedVersion }, [
        'id',
        'parentId',
      ]),
      output: s.taskView,
      run: async ({ id, parentId, expectedVersion }, ctx) => {
        const result = await commands.moveTask(id, parentId, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        return taskAnswer(id, result.position);
      },
    }),

    defineOperation<{ id: string; status: TaskStatus; reason?: string; expectedVersion?: number }, unknown>({
      name: 'changeTaskStatus',
      tool: 'change_task_status',
      summary: 'Change a task\'s status along the transition table (refusals list the allowed moves).',
      method: 'post',
      path: '/tasks/:id/status',
      capability: 'task_modification',
      kind: 'command',
      input: s.input({ id: s.id, status: s.status, reason: { type: 'string', maxLength: 2000 }, expectedVersion: s.expectedVersion }, ['id', 'status']),
      output: { ...s.taskView, properties: { ...s.taskView.properties, unblocked: { type: 'array', items: { type: 'string' } } } },
      run: async ({ id, status, reason, expectedVersion }, ctx) => {
        const before = status === 'completed' ? getDependencies(readDb, id, { direction: 'dependents' }).items.filter((d) => d.kind === 'hard') : [];
        const result = await commands.changeTaskStatus(id, status, reason, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        const answer = await taskAnswer(id, result.position);
        const unblocked = before.map((d) => getTask(readDb, d.id)).filter((t) => t.ready).map((t) => t.id);
        return { ...answer, body: { ...answer.body, unblocked } };
      },
    }),

    defineOperation<{ id: string; depth?: number; minPosition?: number }, unknown>({
      name: 'getTaskTree',
      tool: 'get_task_tree',
      summary: 'The subtree under a task, `depth` levels deep, with counts of what the limit left out.',
      method: 'get',
      path: '/tasks/:id/tree',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ id: s.id, depth: { type: 'integer', minimum: 0, maximum: 10, default: 3 }, minPosition: s.minPosition }, ['id']),
      output: treeOutput,
      run: async (input) => {
        return { body: getTaskTree(readDb, { taskId: input.id, maxDepth: input.depth ?? 3 }) };
      },
    }),

    defineOperation<{ id: string; dependsOn: string; kind?: DependencyKind; expectedVersion?: number }, unknown>({
      name: 'addDependency',
      tool: 'add_task_dependency',
      summary: 'Make a task depend on another of the same project (`hard` blocks, `soft` warns); cycles are refused.',
      method: 'post',
      path: '/tasks/:id/dependencies',
      capability: 'task_modification',
      kind: 'command',
      successStatus: 201,
      input: s.input({ id: s.id, dependsOn: s.id, kind: { ...s.kind, default: 'hard' }, expectedVersion: s.expectedVersion }, ['id', 'dependsOn']),
      output: writeResult({ taskId: { type: 'string' }, dependsOn: { type: 'string' }, kind: s.kind, ready: { type: 'boolean' } }, ['taskId', 'dependsOn', 'kind']),
      run: async ({ id, dependsOn, kind, expectedVersion }, ctx) => {
        const result = await commands.addDependency(id, dependsOn, kind ?? 'hard', requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        const { body: task, position, version } = await taskAnswer(id, result.position);
        return { body: { taskId: id, dependsOn, kind: kind ?? 'hard', ready: task.ready, position }, position, version };
      },
    }),

    defineOperation<{ id: string; dependsOn: string; expectedVersion?: number }, unknown>({
      name: 'removeDependency',
      tool: 'remove_task_dependency',
      summary: 'Remove a dependency between two tasks.',
      method: 'delete',
      path: '/tasks/:id/dependencies/:dependsOn',
      capability: 'task_modification',
      kind: 'command',
      input: s.input({ id: s.id, dependsOn: s.id, expectedVersion: s.expectedVersion }, ['id', 'dependsOn']),
      output: writeResult({ taskId: { type: 'string' }, dependsOn: { type: 'string' }, ready: { type: 'boolean' } }, ['taskId', 'dependsOn']),
      run: async ({ id, dependsOn, expectedVersion }, ctx) => {
        const result = await commands.removeDependency(id, dependsOn, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        const { body: task, position, version } = await taskAnswer(id, result.position);
        return { body: { taskId: id, dependsOn, ready: task.ready, position }, position, version };
      },
    }),

    defineOperation<{ id: string; direction?: 'dependencies' | 'dependents'; depth?: number; minPosition?: number }, unknown>({
      name: 'listDependencies',
      tool: 'list_task_dependencies',
      summary: 'What a task depends on (or what depends on it), directly or transitively up to `depth` steps.',
      method: 'get',
      path: '/tasks/:id/dependencies',
      capability: 'task_reading',
      kind: 'query',
      input: s.input(
        {
          id: s.id,
          direction: { type: 'string', enum: ['dependencies', 'dependents'], default: 'dependencies' },
          depth: { type: 'integer', minimum: 1, maximum: 100, default: 1, description: '1 = direct only' },
          minPosition: s.minPosition,
        },
        ['id'],
      ),
      output: dependencyListing,
      run: async (input) => {
        return { body: getDependencies(readDb, input.id, { direction: input.direction ?? 'dependencies', maxDepth: input.depth ?? 1 }) };
      },
    }),

    defineOperation<{ id: string; limit?: number; cursor?: string; minPosition?: number }, unknown>({
      name: 'getTaskHistory',
      tool: 'get_task_history',
      summary: 'Everything that happened to a task: event, time, actor, role, tool and changed fields.',
      method: 'get',
      path: '/tasks/:id/history',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ id: s.id, limit: s.limit, cursor: s.cursor, minPosition: s.minPosition }, ['id']),
      output: {
        type: 'object',
        required: ['taskId', 'items', 'nextCursor'],
        properties: {
          taskId: { type: 'string' },
          nextCursor: { type: ['string', 'null'] },
          items: {
            type: 'array',
            items: {
              type: 'object',
              required: ['position', 'type', 'at', 'actor', 'tool', 'changes'],
              properties: {
                position: { type: 'integer' },
                revision: { type: 'integer' },
                type: { type: 'string' },
                at: { type: 'string' },
                actor: { type: 'string' },
                role: { type: ['string', 'null'] },
                tool: { type: 'string' },
                changes: { type: 'object' },
              },
            },
          },
        },
      },
      run: async ({ id, limit, cursor }) => {
        return { body: getTaskHistory(readDb, id, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }) };
      },
    }),
  ];
};
