import type Database from 'better-sqlite3';
import { clusterTasks } from '../../queries/search/clusters.js';
import { findDuplicates, searchTasks, similarTasks, type SearchParams, type SemanticIndex } from '../../queries/search/search.js';
import * as s from '../schemas.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type SearchCatalogDeps = Readonly<{
  readDb: Database.Database;
  /** The vector side of search; undefined when VESPERA_VECTORS=off. */
  semanticIndex?: SemanticIndex;
  duplicateThreshold: number;
}>;

const similarItem = {
  type: 'object',
  required: ['id', 'title', 'similarity'],
  properties: { id: { type: 'string' }, title: { type: 'string' }, status: s.status, priority: s.priority, projectId: { type: 'string' }, similarity: { type: 'number' } },
} as const;

const searchItem = {
  ...s.taskView,
  required: [...s.taskView.required, 'score', 'similarity', 'keywordScore'],
  properties: { ...s.taskView.properties, score: { type: 'number' }, similarity: { type: ['number', 'null'] }, keywordScore: { type: ['number', 'null'] } },
};

const query = { type: 'string', minLength: 1, maxLength: 1000, pattern: '\\S', description: 'What to look for (1–1,000 characters)' } as const;

export const searchOperations = ({ readDb, semanticIndex, duplicateThreshold }: SearchCatalogDeps): AnyOperation[] => {
  return [
    defineOperation<SearchParams & { minPosition?: number }, unknown>({
      name: 'searchTasks',
      tool: 'search_tasks',
      summary: 'Search tasks by meaning and by words: `hybrid` (default) fuses keyword (BM25) and semantic ranks; `keyword` and `semantic` use one.',
      description: 'When the vector store is unreachable, hybrid answers from keywords alone with `degraded: true`.',
      method: 'get',
      path: '/search',
      capability: 'search',
      kind: 'query',
      input: s.input(
        {
          q: query,
          mode: { type: 'string', enum: ['hybrid', 'keyword', 'semantic'], default: 'hybrid', description: 'Ranking: hybrid, keyword or semantic' },
          projectId: s.projectId,
          status: { type: 'array', maxItems: 6, items: s.status, description: 'Any of these statuses' },
          priority: { type: 'array', maxItems: 4, items: s.priority, description: 'Any of these priorities' },
          role: { type: 'string', maxLength: 64, description: 'Assigned role' },
          tags: { type: 'array', maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 64 }, description: 'Has every one of these tags' },
          limit: { ...s.limit, maximum: 100 },
          cursor: s.cursor,
          minPosition: s.minPosition,
        },
        ['q'],
      ),
      output: {
        type: 'object',
        required: ['mode', 'items', 'nextCursor', 'degraded'],
        properties: { mode: { type: 'string' }, items: { type: 'array', items: searchItem }, nextCursor: { type: ['string', 'null'] }, degraded: { type: 'boolean' }, reason: { type: 'string' } },
      },
      run: async ({ minPosition: _minPosition, ...input }) => {
        return { body: await searchTasks(readDb, semanticIndex, input) };
      },
    }),

    defineOperation<{ taskId: string; limit?: number; minPosition?: number }, unknown>({
      name: 'findSimilarTasks',
      tool: 'find_similar_tasks',
      summary: 'Tasks of the same project closest in meaning to a task, most similar first.',
      method: 'get',
      path: '/search/similar/:taskId',
      capability: 'search',
      kind: 'query',
      input: s.input({ taskId: s.id, limit: { type: 'integer', minimum: 1, maximum: 50, default: 10 }, minPosition: s.minPosition }, ['taskId']),
      output: { type: 'object', required: ['taskId', 'items'], properties: { taskId: { type: 'string' }, items: { type: 'array', items: similarItem } } },
      run: async ({ taskId, limit }) => {
        return { body: await similarTasks(readDb, semanticIndex, taskId, limit ?? 10) };
      },
    }),

    defineOperation<{ projectId: string; k?: number; minPosition?: number }, unknown>({
      name: 'clusterTasks',
      tool: 'cluster_tasks',
      summary: "Groups a project's tasks by meaning (k-means over their vectors), each group labelled by its top keywords.",
      method: 'get',
      path: '/search/clusters',
      capability: 'search',
      kind: 'query',
      input: s.input({ projectId: s.projectId, k: { type: 'integer', minimum: 1, maximum: 20, description: 'Number of clusters (default √(n/2))' }, minPosition: s.minPosition }, ['projectId']),
      output: {
        type: 'object',
        required: ['projectId', 'tasks', 'k', 'clusters'],
        properties: {
          projectId: { type: 'string' },
          tasks: { type: 'integer' },
          k: { type: 'integer' },
          clusters: {
            type: 'array',
            items: {
              type: 'object',
              required: ['label', 'keywords', 'size', 'taskIds'],
              properties: { label: { type: 'string' }, keywords: { type: 'array' }, size: { type: 'integer' }, taskIds: { type: 'array' }, titles: { type: 'array' } },
            },
          },
        },
      },
      run: async ({ projectId, k }) => {
        return { body: await clusterTasks(readDb, semanticIndex, projectId, k) };
      },
    }),

    defineOperation<{ title: string; description?: string; projectId?: string; threshold?: number }, unknown>({
      name: 'checkDuplicates',
      tool: 'check_duplicates',
      summary: 'Before creating a task: existing tasks of the project whose meaning is close to this title (and description).',
      method: 'get',
      path: '/search/duplicates',
      capability: 'search',
      kind: 'query',
      input: s.input({ title: s.title, description: { ...s.description, maxLength: 5000 }, projectId: s.projectId, threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'Similarity from which a task counts (default from the server)' } }, ['title']),
      output: {
        type: 'object',
        required: ['items', 'threshold', 'degraded'],
        properties: { items: { type: 'array', items: similarItem }, threshold: { type: 'number' }, degraded: { type: 'boolean' }, reason: { type: 'string' } },
      },
      run: async ({ threshold, ...input }) => ({ body: await findDuplicates(readDb, semanticIndex, { ...input, threshold: threshold ?? duplicateThreshold }) }),
    }),
  ];
};
