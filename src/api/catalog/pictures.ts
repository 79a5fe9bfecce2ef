import { notFound } from '../../errors.js';
import type { AnalyticsDeps } from '../../queries/analytics/analytics.js';
import { projectPicture, toDot, toMermaid } from '../../queries/analytics/picture.js';
import type { SvgRenderer } from '../../queries/analytics/svg.js';
import * as schemas from './schemas/pictures.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type PictureCatalogDeps = Readonly<{
  analytics: AnalyticsDeps;
  projectExists: (projectId: string) => boolean;
  /** Title of every task of a project, from the read model. */
  taskTitles: (projectId: string) => ReadonlyMap<string, string>;
  /** Log position the SQLite read model has applied. */
  readPosition: () => number;
  renderSvg: SvgRenderer;
}>;

const MEDIA = { mermaid: 'text/plain; charset=utf-8', dot: 'text/vnd.graphviz; charset=utf-8', svg: 'image/svg+xml; charset=utf-8' } as const;

export const pictureOperations = ({ analytics, projectExists, taskTitles, readPosition, renderSvg }: PictureCatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'getProjectGraph',
    tool: 'get_project_graph',
    summary: 'Dependency graph, critical path marked: Mermaid (MCP default), json, dot or svg.',
    description:
      'REST answers `format=json` (the default there) as JSON; `mermaid` as text/plain, `dot` as text/vnd.graphviz, `svg` as image/svg+xml. ' +
      'Arrows run from a dependency to the task that waits on it. At most 5,000 tasks (422 GRAPH_TOO_LARGE).',
    method: 'get',
    path: '/projects/:projectId/graph',
    capability: 'task_reading',
    kind: 'query',
    documents: [MEDIA.mermaid, MEDIA.dot, MEDIA.svg],
    ...schemas.getProjectGraph,
    run: async ({ projectId, format }, ctx) => {
      const position = readPosition();
      const project = analytics.project(projectId);
      if (project.tasks.length === 0 && !projectExists(projectId)) {
        throw notFound('PROJECT_NOT_FOUND', `Project ${projectId} does not exist.`, { projectId });
      }
      const picture = projectPicture(project, taskTitles(projectId), { defaultEstimate: analytics.defaultEstimate, position });
      const chosen = format ?? (ctx.tool.startsWith('mcp:') ? 'mermaid' : 'json');
      if (chosen === 'json') return { body: picture };
      const text =
        chosen === 'mermaid' ? toMermaid(picture) : chosen === 'dot' ? toDot(picture) : await renderSvg(toDot(picture), picture.nodes.length);
      return {
        body: { projectId, criticalPath: picture.criticalPath, position, format: chosen, text },
        document: { contentType: MEDIA[chosen], text },
      };
    },
  }),
];
