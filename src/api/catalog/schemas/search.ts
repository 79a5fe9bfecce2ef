import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of search (`../search.ts`). */

const similarItem = z.object({
  id: z.string(),
  title: z.string(),
  status: c.status.optional(),
  priority: c.priority.optional(),
  projectId: z.string().optional(),
  similarity: z.number(),
});

const searchItem = c.taskView.extend({ score: z.number(), similarity: z.number().nullable(), keywordScore: z.number().nullable() });

const query = z.string().min(1).max(1000).regex(/\S/).describe('What to look for');

export const searchTasks = {
  input: z.strictObject({
    q: query,
    mode: z.enum(['hybrid', 'keyword', 'semantic']).default('hybrid').describe('Ranking: hybrid, keyword or semantic'),
    projectId: c.projectId.optional(),
    status: z.array(c.status).max(6).describe('Any of these statuses').optional(),
    priority: z.array(c.priority).max(4).describe('Any of these priorities').optional(),
    role: z.string().max(64).describe('Assigned role').optional(),
    tags: z.array(z.string().min(1).max(64)).max(10).describe('Has every one of these tags').optional(),
    limit: c.pageSize(100),
    cursor: c.cursor.optional(),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    mode: z.string(),
    items: z.array(searchItem),
    nextCursor: z.string().nullable(),
    degraded: z.boolean(),
    reason: z.string().optional(),
  }),
};

export const findSimilarTasks = {
  input: z.strictObject({
    taskId: c.id,
    limit: z.int().min(1).max(50).default(10).describe('How many similar tasks at most'),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({ taskId: z.string(), items: z.array(similarItem) }),
};

export const clusterTasks = {
  input: z.strictObject({
    projectId: c.projectId,
    k: z.int().min(1).max(20).describe('Number of clusters (default √(n/2))').optional(),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    projectId: z.string(),
    tasks: z.int(),
    k: z.int(),
    clusters: z.array(
      z.object({
        label: z.string(),
        keywords: z.array(z.unknown()),
        size: z.int(),
        taskIds: z.array(z.unknown()),
        titles: z.array(z.unknown()).optional(),
      }),
    ),
  }),
};

export const checkDuplicates = {
  input: z.strictObject({
    title: c.title,
    description: c.description.max(5000).optional(),
    projectId: c.projectId.optional(),
    threshold: z.number().gt(0).max(1).describe('Similarity from which a task counts (default from the server)').optional(),
  }),
  output: z.object({ items: z.array(similarItem), threshold: z.number(), degraded: z.boolean(), reason: z.string().optional() }),
};
