import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type JSONRPCRequest, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';
import type { Authorizer, Caller } from '../auth/authorizer.js';
import type { AnyOperation, OperationResult } from '../catalog/operation.js';
import { checkedIdempotencyKey, type IdempotencyKeys } from '../idempotency.js';
import { invoker, type Call } from '../invoke.js';
import type { Validators } from '../validation.js';
import { errorResult, renderLine } from './results.js';
import { registerResources, resourceCapabilities, type ResourceDeps } from './resources.js';
import { answersObject, CONVENTIONS, IDEMPOTENCY_ARGUMENT } from './schemas.js';
import type { McpTools } from './tools.js';

export type McpDeps = Readonly<{
  tools: McpTools;
  validators: ReadonlyMap<string, Validators>;
  authorizer: Authorizer;
  /**
   * Who calls: resolved per call over stdio (a token can be revoked meanwhile), once per request over HTTP. `extra`
   * is the SDK's request context: in an HTTP session each request brings its own caller in `extra.authInfo`.
   */
  caller: (extra?: unknown) => Promise<Caller | undefined>;
  /**
   * The HTTP request a call came in (its X-Correlation-Id and the traceparent its events carry), so an MCP call's log
   * line, events and undo name the same request as a REST call's; absent over stdio, where each call gets its own id.
   */
  requestContext?: (extra?: unknown) => RequestContext | undefined;
  /** Resources (and, with change notices, subscriptions) over the catalog; without them the server offers tools only. */
  resources?: ResourceDeps;
  /** Where idempotency keys are remembered (the same store as REST's); without it a key is used as the command id as sent. */
  idempotency?: IdempotencyKeys;
  logger: Logger;
  version: string;
  /** The SDK builds an ajv instance per server unless given one: share it when servers are built per request. */
  jsonSchemaValidator?: jsonSchemaValidator;
}>;

export type RequestContext = Readonly<{ correlationId?: string; traceparent?: string }>;

const INSTRUCTIONS =
  'Vespera: tasks for teams of agents. Find work with claim_next_task or list_tasks, keep it with heartbeat_task, finish with complete_task. ' +
  'Refusals are isError results starting with a CODE and a Hint. ' +
  `${CONVENTIONS} ` +
  'Every write takes an optional idempotencyKey (8-128 of A-Z a-z 0-9 _ . : -, e.g. a UUID): resend the same call with the same key to retry it safely.';

/**
 * The structured answer of a tool: the operation's object as it is, anything else under `result`. An answer that
 * is a document of its own (a Mermaid picture) is the text itself, so an agent can paste it.
 */
const toolResult = (op: AnyOperation, { body: answer, document }: OperationResult<unknown>): CallToolResult => {
  const body = (answersObject(op) ? answer : { result: answer }) as Record<string, unknown>;
  return { content: [{ type: 'text', text: document && !document.filename ? document.text : renderLine(body) }], structuredContent: body };
};

/**
 * A write's `idempotencyKey` is no argument of its operation: it goes where REST's Idempotency-Key header goes, so
 * one key means one request on both surfaces. A query keeps it among its arguments, which refuse it as unknown.
 */
const argsAndFacts = (op: AnyOperation, args: Record<string, unknown>): Pick<Call, 'args' | 'facts'> => {
  if (op.kind !== 'command' || !(IDEMPOTENCY_ARGUMENT in args)) return { args: () => args };
  const { [IDEMPOTENCY_ARGUMENT]: key, ...rest } = args;
  return {
    args: () => rest,
    facts: () => {
      const idempotencyKey = checkedIdempotencyKey(key, IDEMPOTENCY_ARGUMENT);
      return idempotencyKey === undefined ? {} : { idempotencyKey };
    },
  };
};

const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

/** The tool name and arguments of a `tools/call`, or -32602 with one line saying what is wrong. */
const callParams = (params: JSONRPCRequest['params']): { name: string; args: Record<string, unknown> } => {
  const { name, arguments: args } = (params ?? {}) as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string' || name === '') {
    throw new McpError(ErrorCode.InvalidParams, 'tools/call needs params.name, the name of a tool from tools/list.');
  }
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
    throw new McpError(ErrorCode.InvalidParams, `tools/call params.arguments must be an object of named arguments, not ${kindOf(args)}.`);
  }
  return { name, args: { ...(args as Record<string, unknown> | undefined) } };
};

/**
 * An MCP server over the operation catalog, on the SDK's low-level `Server`: the catalog's JSON Schemas are
 * served as they are and checked by the same ajv validators as REST, and refusals keep their stable codes.
 */
export const buildMcpServer = (deps: McpDeps): Server => {
  const invoke = invoker(deps);
  const server = new Server(
    { name: 'vespera', version: deps.version },
    {
      capabilities: { tools: {}, ...(deps.resources ? { resources: resourceCapabilities(deps.resources) } : {}) },
      instructions: INSTRUCTIONS,
      ...(deps.jsonSchemaValidator ? { jsonSchemaValidator: deps.jsonSchemaValidator } : {}),
    },
  );
  // A caller is listed only the tools its token may call: a read-only agent is not offered create_task.
  const allowed = (caller: Caller | undefined) => (name: string) => deps.authorizer.allows(caller, deps.tools.byName.get(name)!.capability);
  // Which tools a token may call follows from its capabilities alone: each set's list is filtered once per server.
  const listed = new Map<string, Tool[]>();
  const toolsFor = (caller: Caller | undefined): Tool[] => {
    const key = caller ? [...caller.capabilities].sort().join(' ') : '';
    let tools = caller ? listed.get(key) : [];
    if (!tools) listed.set(key, (tools = deps.tools.list.filter((tool) => allowed(caller)(tool.name))));
    return tools;
  };
  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({ tools: toolsFor(await deps.caller(extra)) }));
  if (deps.resources) {
    const authorize = deps.authorizer.authorize.bind(deps.authorizer);
    registerResources(server, { ...deps.resources, invoke, caller: deps.caller, authorize, logger: deps.logger });
  }
  // tools/call is served by the fallback handler, which sees the request unparsed: a handler registered for it
  // is preceded by the SDK's own parse, which answers a malformed call with -32603 and the whole Zod report.
  server.fallbackRequestHandler = async (request, extra): Promise<CallToolResult> => {
    if (request.method !== 'tools/call') throw new McpError(ErrorCode.MethodNotFound, 'Method not found');
    const { name, args } = callParams(request.params);
    const op = deps.tools.byName.get(name);
    if (!op)
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool: ${name.slice(0, 100).replace(/\s+/g, ' ')}. tools/list names the tools this server offers.`,
      );
    const from = deps.requestContext?.(extra);
    const correlationId = from?.correlationId ?? randomUUID();
    const trace = from?.traceparent ? { traceparent: from.traceparent } : {};
    let caller: Caller | undefined;
    // Hints name only tools this caller is listed; before its token is known, tools of the session's set.
    const tools = () => ({ served: new Set([...deps.tools.byName.keys()].filter(caller ? allowed(caller) : () => true)), known: deps.tools.known });
    try {
      caller = await deps.caller(extra);
      const result = await invoke(op, {
        caller,
        tool: `mcp:${op.tool}`,
        correlationId,
        ...trace,
        ...argsAndFacts(op, args),
      });
      return toolResult(op, result);
    } catch (error) {
      if (error instanceof DomainError) return errorResult(error, undefined, tools());
      deps.logger.error({ err: error, tool: name, correlationId }, 'tool call failed');
      return errorResult(new DomainError('INTERNAL_ERROR', 500, 'Something went wrong on our side.'), correlationId, tools());
    }
  };
  return server;
};
