import { getProject, listProjects } from '../../queries/projects.js';
import { getTaskTree } from '../../queries/taskGraph.js';
import { getUsage } from '../../queries/usage.js';
import { badRequest } from '../../errors.js';
import * as schemas from './schemas/projects.js';
import { defineOperation, requestMeta, type AnyOperation } from './operation.js';
import type { CatalogDeps } from './deps.js';

/** A readable project id from its name: "Web Site v2" → "web-site-v2". */
export const slugify = (name: string): string =>
  name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);

export const projectOperations = ({ commands, readDb, waitForReadModel }: CatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'createProject',
    tool: 'create_project',
    summary: 'Create a project; its id defaults to a slug of the name.',
    method: 'post',
    path: '/projects',
    capability: 'task_creation',
    kind: 'command',
    successStatus: 201,
    ...schemas.createProject,
    run: async ({ id, name, description }, ctx) => {
      const projectId = id ?? slugify(name);
      if (!/^[a-z0-9]/.test(projectId)) {
        throw badRequest('INVALID_PROJECT_ID', 'The project name gives no usable id; send an explicit `id` (a lower-case slug).', { name });
      }
      const result = await commands.createProject({ projectId, name, ...(description === undefined ? {} : { description }) }, requestMeta(ctx));
      await waitForReadModel(result.position);
      return { body: getProject(readDb, projectId), position: result.position };
    },
  }),

  defineOperation({
    name: 'listProjects',
    tool: 'list_projects',
    summary: 'List projects with their task counts.',
    method: 'get',
    path: '/projects',
    capability: 'task_reading',
    kind: 'query',
    ...schemas.listProjects,
    run: async ({ minPosition: _minPosition, ...input }) => {
      return { body: listProjects(readDb, input) };
    },
  }),

  defineOperation({
    name: 'getProject',
    tool: 'get_project',
    summary: 'Get one project.',
    method: 'get',
    path: '/projects/:projectId',
    capability: 'task_reading',
    kind: 'query',
    ...schemas.getProject,
    run: async (input) => {
      return { body: getProject(readDb, input.projectId) };
    },
  }),

  defineOperation({
    name: 'getProjectTree',
    tool: 'get_project_tree',
    summary: "A project's task tree from its top-level tasks, `depth` levels deep.",
    method: 'get',
    path: '/projects/:projectId/tree',
    capability: 'task_reading',
    kind: 'query',
    ...schemas.getProjectTree,
    run: async (input) => {
      getProject(readDb, input.projectId);
      return { body: getTaskTree(readDb, { projectId: input.projectId, maxDepth: input.depth ?? 3 }) };
    },
  }),

  defineOperation({
    name: 'getUsage',
    tool: 'get_usage',
    summary: "A project's reported usage (tokens, cost) and time in progress, in total and by task, agent, role or model.",
    method: 'get',
    path: '/projects/:projectId/usage',
    capability: 'task_reading',
    kind: 'query',
    ...schemas.getUsage,
    run: async ({ projectId, by, limit, cursor }) => {
      return { body: getUsage(readDb, projectId, { by: by ?? 'task', limit: limit ?? 50, ...(cursor === undefined ? {} : { cursor }) }) };
    },
  }),
];
