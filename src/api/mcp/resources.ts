import { randomUUID } from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';
import type { Caller } from '../auth/authorizer.js';
import type { AnyOperation } from '../catalog/operation.js';
import type { Invoke } from '../invoke.js';
import type { ResourceChanges } from './changes.js';
import { hintFor } from './results.js';
import { dashboardUri, readyUri } from './resourceUris.js';

/** What resources need besides the invoker: the whole catalog (the tool set may leave these operations out). */
export type ResourceDeps = Readonly<{
  operations: readonly AnyOperation[];
  /** Log-driven change notices; without them (stateless HTTP) the server offers no subscriptions. */
  changes?: ResourceChanges;
}>;

type Template = Readonly<{
  descriptor: ResourceTemplate;
  template: UriTemplate;
  /** The catalog operation whose answer is the resource's content, and its arguments. */
  operation: string;
  args: (vars: Record<string, string>) => Record<string, unknown>;
}>;

const template = (descriptor: ResourceTemplate, operation: string, args: Template['args']): Template => ({
  descriptor: { mimeType: 'application/json', ...descriptor },
  template: new UriTemplate(descriptor.uriTemplate),
  operation,
  args,
});

/** Each resource is the answer of one catalog operation, as REST and the tools give it. */
const TEMPLATES: readonly Template[] = [
  template(
    {
      uriTemplate: 'vespera://projects/{projectId}/ready',
      name: 'project-ready',
      title: 'Ready queue',
      description: "A project's ready tasks, highest priority first: the first page of GET /tasks/ready?projectId= (list_ready_tasks).",
    },
    'listReadyTasks',
    ({ projectId }) => ({ projectId }),
  ),
  template(
    {
      uriTemplate: 'vespera://projects/{projectId}/dashboard',
      name: 'project-dashboard',
      title: 'Project dashboard',
      description: 'Counts, ready and blocked tasks, critical path: GET /tasks/dashboard?projectId= (get_task_dashboard).',
    },
    'getTaskDashboard',
    ({ projectId }) => ({ projectId }),
  ),
  template(
    { uriTemplate: 'vespera://tasks/{id}', name: 'task', title: 'Task', description: 'One task as GET /tasks/:id (get_task) answers it.' },
    'getTask',
    ({ id }) => ({ id }),
  ),
];

/** Projects listed per resources/list page (two resources each). */
const PROJECTS_PER_PAGE = 50;
/** URIs one session may subscribe to at once. */
const MAX_SUBSCRIPTIONS = 1000;

const decode = (value: string | string[] | undefined): string | undefined => {
  if (typeof value !== 'string') return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
};

const unknownUri = (uri: string) =>
  new McpError(ErrorCode.InvalidParams, `Unknown resource ${uri.slice(0, 200)}: resources/templates/list names the URIs this server serves.`);

/** The template a URI matches, with its decoded variables. */
const resolve = (uri: string): { template: Template; vars: Record<string, string> } => {
  for (const candidate of TEMPLATES) {
    let matched: Record<string, string | string[]> | null;
    try {
      matched = candidate.template.match(uri);
    } catch {
      matched = null; // longer than the SDK matches
    }
    if (!matched) continue;
    const vars: Record<string, string> = {};
    for (const name of candidate.template.variableNames) {
      const value = decode(matched[name]);
      if (value === undefined || value === '') throw unknownUri(uri);
      vars[name] = value;
    }
    return { template: candidate, vars };
  }
  throw unknownUri(uri);
};

/** A refusal as a JSON-RPC error: the message reads `CODE: message Hint: …`, `data` carries the same fields. */
const mcpErrorOf = (error: DomainError): McpError => {
  const code =
    error.status === 404
      ? -32002
      : error.status === 400 || error.status === 422
        ? ErrorCode.InvalidParams
        : error.status >= 500
          ? ErrorCode.InternalError
          : ErrorCode.InvalidRequest;
  const hint = hintFor(error);
  return new McpError(code, `${error.code}: ${error.message} Hint: ${hint}`, {
    code: error.code,
    status: error.status,
    hint,
    details: error.details,
  });
};

/** Stateless HTTP builds a server per request: the index of the catalog is made once per catalog. */
const indexes = new WeakMap<readonly AnyOperation[], ReadonlyMap<string, AnyOperation>>();
const operationsByName = (operations: readonly AnyOperation[]): ReadonlyMap<string, AnyOperation> => {
  let index = indexes.get(operations);
  if (!index) indexes.set(operations, (index = new Map(operations.map((op) => [op.name, op]))));
  return index;
};

type ResourceServerDeps = ResourceDeps &
  Readonly<{
    invoke: Invoke;
    caller: (extra: unknown) => Promise<Caller | undefined>;
    authorize: (caller: Caller | undefined, capability: AnyOperation['capability']) => Caller;
    logger: Logger;
  }>;

/** The capabilities to declare for these resources. */
export const resourceCapabilities = (deps: ResourceDeps) => ({ subscribe: deps.changes !== undefined, listChanged: false });

/**
 * Serves the resource templates, resources/list (each project's ready queue and dashboard, a page of projects at a
 * time), resources/read through the catalog operations (capability checked as for the tools) and, with change
 * notices at hand, resources/subscribe: `notifications/resources/updated` follows each change of a subscribed URI.
 */
export const registerResources = (server: Server, deps: ResourceServerDeps): void => {
  const byName = operationsByName(deps.operations);
  const run = async (operation: string, args: Record<string, unknown>, extra: unknown) => {
    const op = byName.get(operation);
    if (!op) throw new McpError(ErrorCode.InternalError, `This server does not serve ${operation}.`);
    const correlationId = randomUUID();
    try {
      return (await deps.invoke(op, { caller: await deps.caller(extra), tool: 'mcp:resources', correlationId, args: () => args })).body;
    } catch (error) {
      if (error instanceof DomainError) throw mcpErrorOf(error);
      if (error instanceof McpError) throw error;
      deps.logger.error({ err: error, operation, correlationId }, 'resource read failed');
      throw new McpError(ErrorCode.InternalError, `INTERNAL_ERROR: Something went wrong on our side (correlationId ${correlationId}).`);
    }
  };

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: TEMPLATES.map((t) => t.descriptor) }));

  server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
    const cursor = request.params?.cursor;
    const page = (await run('listProjects', { limit: PROJECTS_PER_PAGE, ...(cursor ? { cursor } : {}) }, extra)) as {
      items: Array<{ id: string; name: string }>;
      nextCursor: string | null;
    };
    const resources: Resource[] = page.items.flatMap((project) => [
      { uri: readyUri(project.id), name: `${project.id}-ready`, title: `Ready queue of ${project.name}`, mimeType: 'application/json' },
      { uri: dashboardUri(project.id), name: `${project.id}-dashboard`, title: `Dashboard of ${project.name}`, mimeType: 'application/json' },
    ]);
    return { resources, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { uri } = request.params;
    const { template: found, vars } = resolve(uri);
    const body = await run(found.operation, found.args(vars), extra);
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(body) }] };
  });

  const changes = deps.changes;
  if (!changes) return;
  const subscribed = new Set<string>();
  let stopListening: (() => void) | undefined;
  const onChange = (uris: ReadonlySet<string>) => {
    for (const uri of subscribed) {
      if (!uris.has(uri)) continue;
      server.sendResourceUpdated({ uri }).catch((error: unknown) => deps.logger.debug({ err: error, uri }, 'resource notice not delivered'));
    }
  };
  const stop = () => {
    stopListening?.();
    stopListening = undefined;
  };

  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    const { uri } = request.params;
    const { template: found } = resolve(uri);
    const op = byName.get(found.operation);
    try {
      deps.authorize(await deps.caller(extra), op?.capability ?? 'task_reading');
    } catch (error) {
      if (error instanceof DomainError) throw mcpErrorOf(error);
      throw error;
    }
    if (!subscribed.has(uri) && subscribed.size >= MAX_SUBSCRIPTIONS) {
      throw new McpError(ErrorCode.InvalidParams, `A session may subscribe to at most ${MAX_SUBSCRIPTIONS} resources; unsubscribe from some first.`);
    }
    subscribed.add(uri);
    stopListening ??= changes.listen(onChange);
    return {};
  });

  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri);
    if (subscribed.size === 0) stop();
    return {};
  });

  const previous = server.onclose;
  server.onclose = () => {
    previous?.();
    subscribed.clear();
    stop();
  };
};
