import { z } from 'zod';
import * as c from './common.js';
import { tree } from './tasks.js';
import { USAGE_GROUPS } from '../../../queries/usage.js';

/** Input and output schemas of the project operations (`../projects.ts`). */

export const createProject = {
  input: z.strictObject({
    id: c.projectId.optional(),
    name: z.string().min(1).max(200).regex(/\S/).describe('Display name'),
    description: c.description.optional(),
  }),
  output: c.projectView,
};

export const listProjects = {
  input: z.strictObject({ limit: c.limit, cursor: c.cursor.optional(), minPosition: c.minPosition.optional() }),
  output: c.page(c.projectView),
};

export const getProject = { input: z.strictObject({ projectId: c.projectId, minPosition: c.minPosition.optional() }), output: c.projectView };

export const getProjectTree = {
  input: z.strictObject({
    projectId: c.projectId,
    depth: z.int().min(0).max(10).default(3).describe('Levels of the tree below the top-level tasks'),
    minPosition: c.minPosition.optional(),
  }),
  output: tree,
};

const usageTotals = z.object({
  inputTokens: z.int(),
  outputTokens: z.int(),
  costUsd: z.number(),
  seconds: z.number().describe('Time in progress: claim to completion, release or expiry'),
  reports: z.int(),
});

export const getUsage = {
  input: z.strictObject({
    projectId: c.projectId,
    by: z.enum(USAGE_GROUPS).default('task').describe('Break the totals down by task, agent, role or model'),
    limit: c.pageSize(200, 50),
    cursor: c.cursor.optional(),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    projectId: z.string(),
    totals: usageTotals,
    by: z.enum(USAGE_GROUPS),
    items: z.array(usageTotals.extend({ key: z.string().nullable() })),
    nextCursor: z.string().nullable(),
  }),
};
