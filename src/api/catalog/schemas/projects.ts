import { z } from 'zod';
import * as c from './common.js';

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
  output: c.keysOnly(['roots', 'nodes', 'truncated', 'maxDepth']),
};
