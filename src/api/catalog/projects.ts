import { getProject, listProjects } from '../../queries/projects.js';
import { getTaskTree } from '../../queries/tasks.js';
import { badRequest } from '../../errors.js';
import * as s from '../schemas.js';
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
  defineOperation<{ id?: string; name: string; description?: string }, unknown>({
    name: 'createProject',
    tool: 'create_project',
    summary: 'Create a project; its id defaults to a slug of the name.',
    method: 'post',
    path: '/projects',
    capability: 'task_creation',
    kind: 'command',
    successStatus: 201,
    input: s.input({ id: s.projectId, name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' }, description: s.description }, ['name']),
    output: s.projectView,
    run: async ({ id, name, description }, ctx) => {
      const projectId = id ?? slugify(name);
      if (!/^[a-z0-9]/.test(projectId)) {
        throw badRequest('INVALID_PROJECT_ID', 'The project name gives no usable id; send an explicit `id` (a lower-case slug).', { name });
      }
      const result = await commands.createProject(
        { projectId, name, ...(description === undefined ? {} : { description }) },
        requestMeta(ctx),
      );
      await waitForReadModel(result.position);
      return { body: getProject(readDb, projectId), position: result.position };
    },
  }),

  defineOperation<{ limit?: number; cursor?: string; minPosition?: number }, unknown>({
    name: 'listProjects',
    tool: 'list_projects',
    summary: 'List projects with their task counts.',
    method: 'get',
    path: '/projects',
    capability: 'task_reading',
    kind: 'query',
    input: s.input({ limit: s.limit, cursor: s.cursor, minPosition: s.minPosition }),
    output: s.page(s.projectView),
    run: async ({ minPosition: _minPosition, ...input }) => {
      return { body: listProjects(readDb, input) };
    },
  }),

  defineOperation<{ projectId: string; minPosition?: number }, unknown>({
    name: 'getProject',
    tool: 'get_project',
    summary: 'Get one project.',
    method: 'get',
    path: '/projects/:projectId',
    capability: 'task_reading',
    kind: 'query',
    input: s.input({ projectId: s.projectId, minPosition: s.minPosition }, ['projectId']),
    output: s.projectView,
    run: async (input) => {
      return { body: getProject(readDb, input.projectId) };
    },
  }),

  defineOperation<{ projectId: string; depth?: number; minPosition?: number }, unknown>({
    name: 'getProjectTree',
    tool: 'get_project_tree',
    summary: "A project's task tree from its top-level tasks, `depth` levels deep.",
    method: 'get',
    path: '/projects/:projectId/tree',
    capability: 'task_reading',
    kind: 'query',
    input: s.input({ projectId: s.projectId, depth: { type: 'integer', minimum: 0, maximum: 10, default: 3 }, minPosition: s.minPosition }, [
      'projectId',
    ]),
    output: { type: 'object', required: ['roots', 'nodes', 'truncated', 'maxDepth'] },
    run: async (input) => {
      getProject(readDb, input.projectId);
      return { body: getTaskTree(readDb, { projectId: input.projectId, maxDepth: input.depth ?? 3 }) };
    },
  }),
];
