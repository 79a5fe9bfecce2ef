import type Database from 'better-sqlite3';
import { notFound } from '../../errors.js';
import type { AnalyticsDeps } from '../../queries/analytics/analytics.js';
import { projectHealth } from '../../queries/analytics/health.js';
import { recommend } from '../../queries/analytics/recommendations.js';
import { taskTitles } from '../../queries/analytics/source.js';
import type { AuditLog } from '../../queries/audit/log.js';
import * as schemas from './schemas/projectHealth.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type ProjectHealthCatalogDeps = Readonly<{
  analytics: AnalyticsDeps;
  projectExists: (projectId: string) => boolean;
  readDb: Database.Database;
  /** The event log: slack as it was a day ago is folded from it. */
  store: AuditLog;
  now: () => string;
}>;

export const projectHealthOperations = ({ analytics, projectExists, readDb, store, now }: ProjectHealthCatalogDeps): AnyOperation[] => {
  const load = (projectId: string) => {
    const project = analytics.project(projectId);
    if (project.tasks.length === 0 && !projectExists(projectId))
      throw notFound('PROJECT_NOT_FOUND', `Project ${projectId} does not exist.`, { projectId });
    return project;
  };
  return [
    defineOperation({
      name: 'getProjectHealth',
      tool: 'get_project_health',
      summary: 'Stale claims, expired leases, blocked chains, unestimated critical tasks, slack used.',
      description:
        'Each finding is defined in docs/graph.md#project-health; every section counts all findings and lists the first ten. Send `X-Vespera-Min-Position` to wait for a write.',
      method: 'get',
      path: '/projects/:projectId/health',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getProjectHealth,
      run: async ({ projectId, staleAfterMinutes }) => {
        const project = load(projectId);
        const deps = { db: readDb, log: store, defaultEstimate: analytics.defaultEstimate };
        return { body: await projectHealth(deps, project, { now: now(), staleAfterMinutes: staleAfterMinutes ?? 30, sinceHours: 24, limit: 10 }) };
      },
    }),

    defineOperation({
      name: 'getRecommendations',
      tool: 'get_recommendations',
      summary: 'What to do next and why, per role.',
      method: 'get',
      path: '/projects/:projectId/recommendations',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.getRecommendations,
      run: async ({ projectId, role, limit }) => {
        const project = load(projectId);
        return {
          body: recommend(project, taskTitles(readDb)(projectId), {
            defaultEstimate: analytics.defaultEstimate,
            limit: limit ?? 10,
            ...(role ? { role } : {}),
          }),
        };
      },
    }),
  ];
};
