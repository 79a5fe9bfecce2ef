import { getDependencies, getTaskTree } from '../../queries/taskGraph.js';
import { getTask, listReadyTasks, listTasks, pickFields, type TaskView } from '../../queries/tasks.js';
import { usageTotals } from '../../queries/usage.js';
import { getDashboard, getTaskHistory } from '../../queries/projects.js';
import type { z } from 'zod';
import * as schemas from './schemas/tasks.js';
import { defineOperation, requestMeta, type AnyOperation } from './operation.js';
import type { CatalogDeps } from './deps.js';
import { roleFitsTask } from '../../commands/roles/assignment.js';
import type { RoleCommands } from '../../commands/roles/commands.js';
import { taskAnswerer } from './taskAnswer.js';

type DuplicateWarning = Pick<z.input<typeof schemas.createTask.output>, 'possibleDuplicates' | 'duplicateCheck' | 'duplicateCheckReason'>;

/** `roles`: the role definitions `GET /tasks/ready?role=` checks unassigned tasks against (the rule claim-next applies). */
export const taskOperations = ({
  commands,
  readDb,
  waitForReadModel,
  dashboardExtras,
  duplicates,
  roles,
}: CatalogDeps & { roles?: Pick<RoleCommands, 'definition'> }): AnyOperation[] => {
  /** Read-your-writes: a write answers only once the SQLite model shows it. */
  const settled = async (position: number) => {
    await waitForReadModel(position);
    return position;
  };
  const taskAnswer = taskAnswerer({ readDb, waitForReadModel });

  return [
    defineOperation({
      name: 'createTask',
      tool: 'create_task',
      summary: 'Create a task (in `projectId`, under `parentId`, or in the default project).',
      method: 'post',
      path: '/tasks',
      capability: 'task_creation',
      kind: 'command',
      etag: true,
      successStatus: 201,
      ...schemas.createTask,
      run: async (input, ctx) => {
        // The duplicate check warns, never refuses: it runs beside the create, bounded, and its answer rides along.
        const [result, similar] = await Promise.all([commands.createTask(input, requestMeta(ctx)), duplicates?.(input)]);
        const answer = await taskAnswer(result.taskId, result.position);
        if (!similar) return answer;
        // Typed here: beside `return answer`, TypeScript would reduce this answer to that one's type and check nothing.
        const warning: DuplicateWarning = {
          possibleDuplicates: similar.items.filter((d) => d.id !== answer.body.id),
          duplicateCheck: similar.skipped === undefined ? 'checked' : 'skipped',
          ...(similar.skipped === undefined ? {} : { duplicateCheckReason: similar.skipped }),
        };
        return { ...answer, body: { ...answer.body, ...warning } };
      },
    }),

    defineOperation({
      name: 'createTaskTree',
      tool: 'create_task_tree',
      summary: 'Create a root task with nested subtasks in one atomic step (all or nothing, at most 1,000 tasks).',
      method: 'post',
      path: '/tasks/tree',
      capability: 'task_creation',
      kind: 'command',
      successStatus: 201,
      ...schemas.createTaskTree,
      run: async (input, ctx) => {
        const result = await commands.createTaskTree(input, requestMeta(ctx));
        const { rootId, taskIds } = result;
        const position = await settled(result.position);
        const tree = getTaskTree(readDb, { taskId: rootId, maxDepth: 2 });
        return { body: { rootId, taskIds: [...taskIds], tree, position }, position };
      },
    }),

    defineOperation({
      name: 'listTasks',
      tool: 'list_tasks',
      summary: 'List tasks with filters (project, status, priority, parent, role, tag, text), sorted and paginated.',
      method: 'get',
      path: '/tasks',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.listTasks,
      run: async (input) => {
        const { fields, topLevel, minPosition: _minPosition, ...filter } = input;
        const page = listTasks(readDb, { ...filter, ...(topLevel ? { parentId: null } : {}) });
        return { body: { items: page.items.map((t) => pickFields(t, fields)), nextCursor: page.nextCursor } };
      },
    }),

    defineOperation({
      name: 'listReadyTasks',
      tool: 'list_ready_tasks',
      summary:
        'Tasks ready to start (pending, hard dependencies completed, no open child), highest priority first; `role`: those claim_next_task could hand it.',
      method: 'get',
      path: '/tasks/ready',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.listReadyTasks,
      run: async ({ minPosition: _minPosition, ...input }) => {
        const definition = input.role === undefined ? undefined : await roles?.definition(input.role);
        const fits = (task: TaskView) => roleFitsTask(definition, input.role!, task);
        return { body: listReadyTasks(readDb, { ...input, ...(roles ? { fits } : {}) }) };
      },
    }),

    defineOperation({
      name: 'getTaskDashboard',
      tool: 'get_task_dashboard',
      summary: 'Counts by status and priority, ready and dependency-blocked tasks, and the top ready tasks.',
      method: 'get',
      path: '/tasks/dashboard',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getTaskDashboard,
      run: async (input) => {
        const dashboard = { ...getDashboard(readDb, input.projectId), usage: usageTotals(readDb, input.projectId) };
        const extras = input.projectId !== undefined && dashboardExtras ? dashboardExtras(input.projectId) : undefined;
        return { body: extras ? { ...dashboard, ...extras } : dashboard };
      },
    }),

    defineOperation({
      name: 'getTask',
      tool: 'get_task',
      summary: 'Get one task by id (its `version` is the ETag for conditional updates).',
      method: 'get',
      path: '/tasks/:id',
      capability: 'task_reading',
      kind: 'query',
      etag: true,
      ...schemas.getTask,
      run: async (input) => {
        const task = getTask(readDb, input.id);
        return { body: task, version: task.version };
      },
    }),

    defineOperation({
      name: 'updateTask',
      tool: 'update_task',
      summary: "Change a task's fields; send `expectedVersion` (or If-Match) to refuse lost updates.",
      method: 'patch',
      path: '/tasks/:id',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.updateTask,
      run: async ({ id, expectedVersion, ...changes }, ctx) => {
        const result = await commands.updateTask(id, changes, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        return taskAnswer(id, result.position);
      },
    }),

    defineOperation({
      name: 'deleteTask',
      tool: 'delete_task',
      summary: 'Delete a task and (by default) its subtasks; dependencies on them are removed too.',
      method: 'delete',
      path: '/tasks/:id',
      capability: 'task_deletion',
      kind: 'command',
      ...schemas.deleteTask,
      run: async ({ id, recursive, expectedVersion }, ctx) => {
        const result = await commands.deleteTask(
          id,
          recursive ?? true,
          requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }),
        );
        const deleted = result.events.filter((e) => e.type === 'TaskDeleted').map((e) => (e.data as { taskId: string }).taskId);
        const removedDependencies = result.events.filter((e) => e.type === 'DependencyRemoved').length;
        const position = await settled(result.position);
        return { body: { deleted, removedDependencies, position }, position };
      },
    }),

    defineOperation({
      name: 'moveTask',
      tool: 'move_task',
      summary: 'Move a task (with its subtasks) under another parent, or to the top level with `parentId: null`.',
      method: 'post',
      path: '/tasks/:id/move',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.moveTask,
      run: async ({ id, parentId, expectedVersion }, ctx) => {
        const result = await commands.moveTask(id, parentId, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        return taskAnswer(id, result.position);
      },
    }),

    defineOperation({
      name: 'changeTaskStatus',
      tool: 'change_task_status',
      summary: "Change a task's status along the transition table (refusals list the allowed moves).",
      method: 'post',
      path: '/tasks/:id/status',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.changeTaskStatus,
      run: async ({ id, status, reason, expectedVersion }, ctx) => {
        const before = status === 'completed' ? getDependencies(readDb, id, { direction: 'dependents' }).items.filter((d) => d.kind === 'hard') : [];
        const result = await commands.changeTaskStatus(
          id,
          status,
          reason,
          requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }),
        );
        const answer = await taskAnswer(id, result.position);
        const unblocked = before
          .map((d) => getTask(readDb, d.id))
          .filter((t) => t.ready)
          .map((t) => t.id);
        return { ...answer, body: { ...answer.body, unblocked } };
      },
    }),

    defineOperation({
      name: 'getTaskTree',
      tool: 'get_task_tree',
      summary: 'The subtree under a task, `depth` levels deep, with counts of what the limit left out.',
      method: 'get',
      path: '/tasks/:id/tree',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getTaskTree,
      run: async (input) => {
        return { body: getTaskTree(readDb, { taskId: input.id, maxDepth: input.depth ?? 3 }) };
      },
    }),

    defineOperation({
      name: 'addDependency',
      tool: 'add_task_dependency',
      summary: 'Make a task depend on another of the same project (`hard` blocks, `soft` warns); cycles are refused.',
      method: 'post',
      path: '/tasks/:id/dependencies',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      successStatus: 201,
      ...schemas.addDependency,
      run: async ({ id, dependsOn, kind, expectedVersion }, ctx) => {
        const result = await commands.addDependency(
          id,
          dependsOn,
          kind ?? 'hard',
          requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }),
        );
        const { body: task, position, version } = await taskAnswer(id, result.position);
        return { body: { taskId: id, dependsOn, kind: kind ?? 'hard', ready: task.ready, position }, position, version };
      },
    }),

    defineOperation({
      name: 'removeDependency',
      tool: 'remove_task_dependency',
      summary: 'Remove a dependency between two tasks.',
      method: 'delete',
      path: '/tasks/:id/dependencies/:dependsOn',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.removeDependency,
      run: async ({ id, dependsOn, expectedVersion }, ctx) => {
        const result = await commands.removeDependency(
          id,
          dependsOn,
          requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }),
        );
        const { body: task, position, version } = await taskAnswer(id, result.position);
        return { body: { taskId: id, dependsOn, ready: task.ready, position }, position, version };
      },
    }),

    defineOperation({
      name: 'linkTasks',
      tool: 'link_tasks',
      summary: 'Link a task to another of its project: `discovered_from`, `duplicates` or `related` (never blocking); linking again changes nothing.',
      method: 'post',
      path: '/tasks/:id/links',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.linkTasks,
      run: async ({ id, kind, target, expectedVersion }, ctx) => {
        const result = await commands.linkTasks(id, kind, target, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        const { body: task, position, version } = await taskAnswer(id, result.position);
        return { body: { taskId: id, kind, target, links: task.links ?? [], position }, position, version };
      },
    }),

    defineOperation({
      name: 'unlinkTasks',
      tool: 'unlink_tasks',
      summary: 'Remove a typed link between two tasks.',
      method: 'delete',
      path: '/tasks/:id/links/:kind/:target',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.unlinkTasks,
      run: async ({ id, kind, target, expectedVersion }, ctx) => {
        const result = await commands.unlinkTasks(id, kind, target, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        const { body: task, position, version } = await taskAnswer(id, result.position);
        return { body: { taskId: id, kind, target, links: task.links ?? [], position }, position, version };
      },
    }),

    defineOperation({
      name: 'listDependencies',
      tool: 'list_task_dependencies',
      summary: 'What a task depends on (or what depends on it), directly or transitively up to `depth` steps.',
      method: 'get',
      path: '/tasks/:id/dependencies',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.listDependencies,
      run: async (input) => {
        return { body: getDependencies(readDb, input.id, { direction: input.direction ?? 'dependencies', maxDepth: input.depth ?? 1 }) };
      },
    }),

    defineOperation({
      name: 'getTaskHistory',
      tool: 'get_task_history',
      summary: 'Everything that happened to a task: event, time, actor, role, tool and changed fields.',
      method: 'get',
      path: '/tasks/:id/history',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getTaskHistory,
      run: async ({ id, limit, cursor }) => {
        return { body: getTaskHistory(readDb, id, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }) };
      },
    }),
  ];
};
