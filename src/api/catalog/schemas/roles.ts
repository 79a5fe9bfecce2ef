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
  restrictions: c.anyObject,
  source: c.anyObject,
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
  output: z.object({ items: z.array(c.keysOnly(['role', 'suitable', 'missingCapabilities', 'filesOutside', 'freeCapacity'])) }),
};

export const getRoleWorkload = {
  input: z.strictObject({ role: roleName.optional() }),
  output: z.object({ items: z.array(c.keysOnly(['role', 'assigned', 'inProgress', 'limit', 'utilisation'])) }),
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
