import { notFound } from '../../errors.js';
import {
  analyzeTaskDependencies,
  findBottlenecks,
  findDependencyPath,
  getCriticalPath,
  getTaskImpact,
  type AnalyticsDeps,
} from '../../queries/analytics/analytics.js';
import * as schemas from './schemas/analytics.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type AnalyticsCatalogDeps = Readonly<{
  analytics: AnalyticsDeps;
  projectExists: (projectId: string) => boolean;
}>;

export const analyticsOperations = ({ analytics, projectExists }: AnalyticsCatalogDeps): AnyOperation[] => {
  const requireProject = (projectId: string) => {
    if (!projectExists(projectId) && analytics.project(projectId).tasks.length === 0) {
      throw notFound('PROJECT_NOT_FOUND', `Project ${projectId} does not exist.`, { projectId });
    }
  };

  return [
    defineOperation({
      name: 'analyzeTaskDependencies',
      tool: 'analyze_task_dependencies',
      summary: "A task's direct and transitive dependencies and dependents, its open hard dependencies, readiness and the longest chain above it.",
      method: 'get',
      path: '/tasks/:id/analysis',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.analyzeTaskDependencies,
      run: async ({ id, depth, limit }) => {
        return { body: analyzeTaskDependencies(analytics, id, { depth: depth ?? 10, limit: limit ?? 50 }) };
      },
    }),

    defineOperation({
      name: 'getCriticalPath',
      tool: 'get_critical_path',
      summary:
        'Critical path (CPM) of a project or of the subtree under `rootTaskId`: expected hours, critical chains, and the `limit` open tasks with least slack.',
      method: 'get',
      path: '/projects/:projectId/critical-path',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getCriticalPath,
      run: async ({ projectId, rootTaskId, limit }) => {
        if (rootTaskId === undefined) requireProject(projectId);
        return { body: getCriticalPath(analytics, { projectId, ...(rootTaskId ? { rootTaskId } : {}), limit: limit ?? 20 }) };
      },
    }),

    defineOperation({
      name: 'getTaskImpact',
      tool: 'get_task_impact',
      summary: 'If this task takes `hours` more: which tasks move and by how much, and whether the project end moves.',
      method: 'get',
      path: '/tasks/:id/impact',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getTaskImpact,
      run: async ({ id, hours, limit }) => {
        return { body: getTaskImpact(analytics, id, hours, { limit: limit ?? 20 }) };
      },
    }),

    defineOperation({
      name: 'findBottlenecks',
      tool: 'find_bottlenecks',
      summary: "Open tasks ranked by how many open tasks transitively wait on them (hard dependencies), weighted by those tasks' priority.",
      method: 'get',
      path: '/projects/:projectId/bottlenecks',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.findBottlenecks,
      run: async ({ projectId, limit }) => {
        requireProject(projectId);
        return { body: findBottlenecks(analytics, projectId, limit ?? 10) };
      },
    }),

    defineOperation({
      name: 'findDependencyPath',
      tool: 'find_dependency_path',
      summary: 'The shortest dependency path between two tasks, in either direction, or `none`.',
      method: 'get',
      path: '/tasks/:id/path',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.findDependencyPath,
      run: async ({ id, to }) => {
        return { body: findDependencyPath(analytics, id, to) };
      },
    }),
  ];
};
