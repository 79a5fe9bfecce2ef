import type Database from 'better-sqlite3';
import { clusterTasks } from '../../queries/search/clusters.js';
import { findDuplicates, searchTasks, similarTasks, type SemanticIndex } from '../../queries/search/search.js';
import * as schemas from './schemas/search.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type SearchCatalogDeps = Readonly<{
  readDb: Database.Database;
  /** The vector side of search; undefined when VESPERA_VECTORS=off. */
  semanticIndex?: SemanticIndex;
  duplicateThreshold: number;
}>;

export const searchOperations = ({ readDb, semanticIndex, duplicateThreshold }: SearchCatalogDeps): AnyOperation[] => {
  return [
    defineOperation({
      name: 'searchTasks',
      tool: 'search_tasks',
      summary: 'Search tasks by meaning and by words: `hybrid` (default) fuses keyword (BM25) and semantic ranks; `keyword` and `semantic` use one.',
      description: 'When the vector store is unreachable, hybrid answers from keywords alone with `degraded: true`.',
      method: 'get',
      path: '/search',
      capability: 'search',
      kind: 'query',
      ...schemas.searchTasks,
      run: async ({ minPosition: _minPosition, ...input }) => {
        return { body: await searchTasks(readDb, semanticIndex, input) };
      },
    }),

    defineOperation({
      name: 'findSimilarTasks',
      tool: 'find_similar_tasks',
      summary: 'Tasks of the same project closest in meaning to a task, most similar first.',
      method: 'get',
      path: '/search/similar/:taskId',
      capability: 'search',
      kind: 'query',
      ...schemas.findSimilarTasks,
      run: async ({ taskId, limit }) => {
        return { body: await similarTasks(readDb, semanticIndex, taskId, limit ?? 10) };
      },
    }),

    defineOperation({
      name: 'clusterTasks',
      tool: 'cluster_tasks',
      summary: "Groups a project's tasks by meaning (k-means over their vectors), each group labelled by its top keywords.",
      method: 'get',
      path: '/search/clusters',
      capability: 'search',
      kind: 'query',
      ...schemas.clusterTasks,
      run: async ({ projectId, k }) => {
        return { body: await clusterTasks(readDb, semanticIndex, projectId, k) };
      },
    }),

    defineOperation({
      name: 'checkDuplicates',
      tool: 'check_duplicates',
      summary: 'Before creating a task: existing tasks of the project whose meaning is close to this title (and description).',
      method: 'get',
      path: '/search/duplicates',
      capability: 'search',
      kind: 'query',
      ...schemas.checkDuplicates,
      run: async ({ threshold, ...input }) => ({
        body: await findDuplicates(readDb, semanticIndex, { ...input, threshold: threshold ?? duplicateThreshold }),
      }),
    }),
  ];
};
