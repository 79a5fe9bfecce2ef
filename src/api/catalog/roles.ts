import type Database from 'better-sqlite3';
import type { ProjectCommands } from '../../commands/project/commands.js';
import type { RoleCommands } from '../../commands/roles/commands.js';
import { rankSuitableRoles, type AssignableRole, type AssignmentReason } from '../../commands/roles/assignment.js';
import { filePatternProblems } from '../../commands/roles/roleSchema.js';
import { DomainError } from '../../errors.js';
import type { RoleSpec } from '../../events/roles.js';
import { getRole, inProgressByRole, listRoles, roleWorkload } from '../../queries/roles.js';
import * as schemas from './schemas/roles.js';
import { defineOperation, requestMeta, type AnyOperation } from './operation.js';
import { taskAnswerer } from './taskAnswer.js';

export type RoleCatalogDeps = Readonly<{
  roles: RoleCommands;
  commands: ProjectCommands;
  readDb: Database.Database;
  waitForReadModel: (position: number) => Promise<void>;
}>;

/** ajv checks the shape; roleSchema decides whether the patterns are globs of the dialect the matcher runs. */
const requireGlobs = (role: RoleSpec): void => {
  const problems = filePatternProblems(role.filePatterns);
  if (problems.length === 0) return;
  const field = (index?: number) => (index === undefined ? 'filePatterns' : `filePatterns.${index}`);
  const errors = problems.map(({ index, pattern, problem }) => ({
    field: field(index),
    message: index === undefined ? `\`filePatterns\` ${problem}` : `\`${field(index)}\` "${pattern}" ${problem}`,
  }));
  throw new DomainError(
    'INVALID_GLOB',
    400,
    `${errors.map((e) => e.message).join('; ')}.`,
    {
      patterns: problems.flatMap(({ pattern }) => (pattern === undefined ? [] : [pattern])),
      errors,
    },
    'Patterns are globs: `*`, `**`, `?`, `[a-z]` and `{a,b}`, relative to the project root; no regular-expression syntax.',
  );
};

export const roleOperations = ({ roles, commands, readDb, waitForReadModel }: RoleCatalogDeps): AnyOperation[] => {
  const roleAnswer = async (name: string, position: number) => {
    await waitForReadModel(position);
    return { body: getRole(readDb, name), position };
  };
  const taskAnswer = taskAnswerer({ readDb, waitForReadModel });
  const assignable = (): AssignableRole[] => listRoles(readDb).map((r) => r as unknown as AssignableRole);

  return [
    defineOperation({
      name: 'listRoles',
      tool: 'list_roles',
      summary: 'Roles agents can act as: capabilities, file patterns, limits and restrictions.',
      method: 'get',
      path: '/roles',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.listRoles,
      run: async (input) => ({ body: { items: listRoles(readDb, { includeRetired: input.includeRetired ?? false }) } }),
    }),

    defineOperation({
      name: 'findSuitableRoles',
      tool: 'find_suitable_roles',
      summary: 'Roles ranked by how well they fit required capabilities and files, and by free capacity.',
      method: 'get',
      path: '/roles/suitable',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.findSuitableRoles,
      run: async (input) => {
        const ranked = rankSuitableRoles(assignable(), input.capabilities ?? [], input.files ?? [], inProgressByRole(readDb));
        return { body: { items: ranked.slice(0, input.limit ?? 5) } };
      },
    }),

    defineOperation({
      name: 'getRoleWorkload',
      tool: 'get_role_workload',
      summary: 'Per role: open tasks assigned, tasks in progress, the concurrency limit and utilisation.',
      method: 'get',
      path: '/roles/workload',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getRoleWorkload,
      run: async (input) => ({ body: { items: roleWorkload(readDb, input.role) } }),
    }),

    defineOperation({
      name: 'getRole',
      tool: 'get_role',
      summary: 'Get one role.',
      method: 'get',
      path: '/roles/:name',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getRole,
      run: async (input) => ({ body: getRole(readDb, input.name) }),
    }),

    defineOperation({
      name: 'defineRole',
      tool: 'define_role',
      summary: 'Define a custom role (roles from the YAML files are changed in their files).',
      method: 'post',
      path: '/roles',
      capability: 'role_management',
      kind: 'command',
      successStatus: 201,
      ...schemas.defineRole,
      run: async (input, ctx) => {
        requireGlobs(input);
        return roleAnswer(input.name, (await roles.define(input, requestMeta(ctx))).position);
      },
    }),

    defineOperation({
      name: 'changeRole',
      tool: 'change_role',
      summary: 'Replace the definition of a custom role.',
      method: 'put',
      path: '/roles/:name',
      capability: 'role_management',
      kind: 'command',
      ...schemas.changeRole,
      run: async (input, ctx) => {
        requireGlobs(input);
        return roleAnswer(input.name, (await roles.change(input, requestMeta(ctx))).position);
      },
    }),

    defineOperation({
      name: 'retireRole',
      tool: 'retire_role',
      summary: 'Retire a custom role: it can no longer be assigned; past assignments stay in history.',
      method: 'delete',
      path: '/roles/:name',
      capability: 'role_management',
      kind: 'command',
      ...schemas.retireRole,
      run: async (input, ctx) => roleAnswer(input.name, (await roles.retire(input.name, requestMeta(ctx))).position),
    }),

    defineOperation({
      name: 'validateRoleAssignment',
      tool: 'validate_role_assignment',
      summary: 'Dry run of assign_role_to_task: every reason the role may not take the task, without changing anything.',
      method: 'post',
      path: '/roles/:name/validate',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.validateRoleAssignment,
      run: async (input, ctx) => {
        try {
          await commands.assignRole(input.taskId, input.name, requestMeta(ctx), true);
          return { body: { valid: true, role: input.name, taskId: input.taskId, reasons: [] } };
        } catch (error) {
          if (error instanceof DomainError && error.code === 'ROLE_VALIDATION_ERROR') {
            return { body: { valid: false, role: input.name, taskId: input.taskId, reasons: error.details.reasons as AssignmentReason[] } };
          }
          throw error;
        }
      },
    }),

    defineOperation({
      name: 'assignRole',
      tool: 'assign_role_to_task',
      summary: 'Assign a role to a task; refused with every reason when the role does not fit.',
      method: 'post',
      path: '/roles/:name/assign',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.assignRole,
      run: async ({ name, taskId, expectedVersion }, ctx) => {
        const result = await commands.assignRole(taskId, name, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        return taskAnswer(taskId, result.position);
      },
    }),

    defineOperation({
      name: 'unassignRole',
      tool: 'unassign_role',
      summary: 'Take a role off a task.',
      method: 'post',
      path: '/roles/:name/unassign',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.unassignRole,
      run: async ({ name, taskId, expectedVersion }, ctx) => {
        const result = await commands.unassignRole(taskId, name, requestMeta({ ...ctx, expectedVersion: ctx.expectedVersion ?? expectedVersion }));
        return taskAnswer(taskId, result.position);
      },
    }),
  ];
};
