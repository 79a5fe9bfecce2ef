import { notFound } from '../../errors.js';
import {
  analyzeTaskDependencies,
  findBottlenecks,
  findDependencyPath,
  getCriticalPath,
  getTaskImpact,
  MAX_SLIP_HOURS,
  type AnalyticsDeps,
} from '../../queries/analytics/analytics.js';
import * as s from '../schemas.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type AnalyticsCatalogDeps = Readonly<{
  analytics: AnalyticsDeps;
  projectExists: (projectId: string) => boolean;
}>;

const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const str = { type: 'string' } as const;
const ids = { type: 'array', items: str } as const;
const object = (properties: Record<string, s.JsonSchema>): s.JsonSchema => ({ type: 'object', required: Object.keys(properties), properties });
const limitOf = (max: number, fallback: number) => ({ type: 'integer', minimum: 1, maximum: max, default: fallback, description: 'How many rows to return' });

const related = object({ id: str, distance: int, kind: s.kind, status: str });
const side = object({ direct: int, transitive: int, items: { type: 'array', items: related }, truncated: { type: 'boolean' } });

export const analyticsOperations = ({ analytics, projectExists }: AnalyticsCatalogDeps): AnyOperation[] => {
  const requireProject = (projectId: string) => {
    if (!projectExists(projectId) && analytics.project(projectId).tasks.length === 0) {
      throw notFound('PROJECT_NOT_FOUND', `Project ${projectId} does not exist.`, { projectId });
    }
  };

  return [
    defineOperation<{ id: string; depth?: number; limit?: number }, unknown>({
      name: 'analyzeTaskDependencies',
      tool: 'analyze_task_dependencies',
      summary: 'A task\'s direct and transitive dependencies and dependents, its open hard dependencies, readiness and the longest chain above it.',
      method: 'get',
      path: '/tasks/:id/analysis',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ id: s.id, depth: { type: 'integer', minimum: 1, maximum: 100, default: 10 }, limit: limitOf(200, 50), minPosition: s.minPosition }, ['id']),
      output: object({
        taskId: str,
        status: str,
        ready: { type: 'boolean' },
        openHardDependencies: ids,
        dependencies: side,
        dependents: side,
        longestChainAbove: object({ tasks: ids, hours: num }),
      }),
      run: async ({ id, depth, limit }) => {
        return { body: analyzeTaskDependencies(analytics, id, { depth: depth ?? 10, limit: limit ?? 50 }) };
      },
    }),

    defineOperation<{ projectId: string; rootTaskId?: string; limit?: number }, unknown>({
      name: 'getCriticalPath',
      tool: 'get_critical_path',
      summary: 'Critical path (CPM) of a project or of the subtree under `rootTaskId`: expected hours, critical chains, and the `limit` open tasks with least slack.',
      method: 'get',
      path: '/projects/:projectId/critical-path',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ projectId: s.projectId, rootTaskId: s.id, limit: limitOf(200, 20), minPosition: s.minPosition }, ['projectId']),
      output: object({
        projectId: str,
        rootTaskId: { type: ['string', 'null'] },
        duration: num,
        tasks: int,
        openTasks: int,
        criticalTasks: int,
        criticalChains: { type: 'array', maxItems: 10, items: ids },
        missingEstimates: object({ count: int, defaultEstimate: num, sample: ids }),
        timings: {
          type: 'array',
          items: object({ id: str, es: num, ef: num, ls: num, lf: num, slack: num, hours: num, estimated: { type: 'boolean' }, critical: { type: 'boolean' } }),
        },
      }),
      run: async ({ projectId, rootTaskId, limit }) => {
        if (rootTaskId === undefined) requireProject(projectId);
        return { body: getCriticalPath(analytics, { projectId, ...(rootTaskId ? { rootTaskId } : {}), limit: limit ?? 20 }) };
      },
    }),

    defineOperation<{ id: string; hours: number; limit?: number }, unknown>({
      name: 'getTaskImpact',
      tool: 'get_task_impact',
      summary: 'If this task takes `hours` more: which tasks move and by how much, and whether the project end moves.',
      method: 'get',
      path: '/tasks/:id/impact',
      capability: 'task_reading',
      kind: 'query',
      input: s.input(
        {
          id: s.id,
          hours: { type: 'number', exclusiveMinimum: 0, maximum: MAX_SLIP_HOURS, description: 'Extra hours (more than 0, at most 10,000)' },
          limit: limitOf(200, 20),
          minPosition: s.minPosition,
        },
        ['id', 'hours'],
      ),
      output: object({
        taskId: str,
        hours: num,
        absorbed: num,
        durationBefore: num,
        durationAfter: num,
        projectEndMoves: { type: 'boolean' },
        moved: { type: 'array', items: object({ id: str, shift: num, slackBefore: num }) },
        movedCount: int,
      }),
      run: async ({ id, hours, limit }) => {
        return { body: getTaskImpact(analytics, id, hours, { limit: limit ?? 20 }) };
      },
    }),

    defineOperation<{ projectId: string; limit?: number }, unknown>({
      name: 'findBottlenecks',
      tool: 'find_bottlenecks',
      summary: 'Open tasks ranked by how many open tasks transitively wait on them (hard dependencies), weighted by those tasks\' priority.',
      method: 'get',
      path: '/projects/:projectId/bottlenecks',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ projectId: s.projectId, limit: limitOf(100, 10), minPosition: s.minPosition }, ['projectId']),
      output: object({
        projectId: str,
        openTasks: int,
        items: { type: 'array', items: object({ id: str, status: str, priority: str, waiting: int, score: num }) },
      }),
      run: async ({ projectId, limit }) => {
        requireProject(projectId);
        return { body: findBottlenecks(analytics, projectId, limit ?? 10) };
      },
    }),

    defineOperation<{ id: string; to: string }, unknown>({
      name: 'findDependencyPath',
      tool: 'find_dependency_path',
      summary: 'The shortest dependency path between two tasks, in either direction, or `none`.',
      method: 'get',
      path: '/tasks/:id/path',
      capability: 'task_reading',
      kind: 'query',
      input: s.input({ id: s.id, to: s.id, minPosition: s.minPosition }, ['id', 'to']),
      output: object({ from: str, to: str, direction: { type: 'string', enum: ['dependsOn', 'dependedOnBy', 'none'] }, path: ids, hops: int }),
      run: async ({ id, to }) => {
        return { body: findDependencyPath(analytics, id, to) };
      },
    }),
  ];
};
