import { z } from 'zod';
import { roleDefinitionSchema, type RoleDefinition } from '../../../commands/roles/roleSchema.js';
import * as c from './common.js';
import { fromJsonSchema } from './jsonSchema.js';

/** Input and output schemas of the role operations (`../roles.ts`). */

const roleName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,63}$/)
  .describe('Role name');

/** The role file format owns this schema (`commands/roles/roleSchema.ts`); the API takes it camelCase. */
const roleDefinition = fromJsonSchema<RoleDefinition>(roleDefinitionSchema);

const roleView = z.object({
  name: z.string(),
  description: z.string(),
  capabilities: z.array(z.string()),
  filePatterns: z.array(z.string()),
  tools: z.array(z.string()),
  maxConcurrentTasks: z.int().nullable().describe('Role-wide cap on tasks in progress (null: none)'),
  maxConcurrentTasksPerAgent: z.int().nullable().describe('Cap on tasks in progress per agent (null: none)'),
  restrictions: z.object({
    maxFileChanges: z.number().optional(),
    maxTaskDepth: z.number().optional(),
    requireApproval: z.boolean().optional(),
    timeLimitMinutes: z.number().optional(),
  }),
  source: z.union([z.object({ kind: z.literal('yaml'), file: z.string() }), z.object({ kind: z.literal('custom') })]),
  retired: z.boolean(),
  version: z.int().optional(),
  updatedAt: z.string().optional(),
});

const reasons = z.array(z.object({ code: z.string(), message: z.string() }));

export const listRoles = {
  input: z.strictObject({ includeRetired: z.boolean().default(false).describe('List retired roles too') }),
  output: z.object({ items: z.array(roleView) }),
};

export const findSuitableRoles = {
  input: z.strictObject({ capabilities: c.requiredCapabilities.optional(), files: c.files.optional(), limit: c.pageSize(200, 5) }),
  output: z.object({
    items: z.array(
      z.object({
        role: z.string(),
        suitable: z.boolean(),
        missingCapabilities: z.array(z.string()),
        filesOutside: z.array(z.string()),
        extraCapabilities: z.int(),
        inProgress: z.int(),
        limit: z.int().nullable().describe('Role-wide cap on tasks in progress (null: none)'),
        freeCapacity: z.int().nullable().describe('Slots left under the role-wide cap (null: no cap)'),
        score: z.number(),
      }),
    ),
  }),
};

export const getRoleWorkload = {
  input: z.strictObject({ role: roleName.optional() }),
  output: z.object({
    items: z.array(
      z.object({
        role: z.string(),
        assigned: z.int(),
        inProgress: z.int(),
        limit: z.int().nullable().describe('Role-wide cap on tasks in progress (null: none)'),
        perAgentLimit: z.int().nullable().describe('Cap on tasks in progress per agent (null: none)'),
        utilisation: z.number().nullable().describe('inProgress / limit (null without a limit)'),
      }),
    ),
  }),
};

export const getRole = { input: z.strictObject({ name: roleName }), output: roleView };
export const defineRole = { input: roleDefinition, output: roleView };
export const changeRole = { input: roleDefinition, output: roleView };
export const retireRole = { input: z.strictObject({ name: roleName }), output: roleView };

export const validateRoleAssignment = {
  input: z.strictObject({ name: roleName, taskId: c.id }),
  output: z.object({ valid: z.boolean(), role: z.unknown(), taskId: z.unknown(), reasons }),
};

const assignment = z.strictObject({ name: roleName, taskId: c.id, expectedVersion: c.expectedVersion.optional() });
export const assignRole = { input: assignment, output: c.taskView };
export const unassignRole = { input: assignment, output: c.taskView };
