import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { DomainError } from '../../errors.js';

/**
 * What an agent should do next, per refusal code: one line, naming the tool to call where there is one; a list
 * holds alternatives from most to least specific, for sessions that are not served the tools the first names.
 * Codes whose error already carries a precise hint (INVALID_STATUS_TRANSITION lists the allowed moves) are left out.
 */
const HINTS: Readonly<Record<string, string | readonly string[]>> = {
  VALIDATION_ERROR: "Fix the named arguments to match the tool's inputSchema, then call again.",
  INPUT_TOO_DEEP: 'Send flatter arguments.',
  INVALID_CURSOR: 'Pass nextCursor from the previous page unchanged, or omit cursor to start over.',
  POSITION_NOT_REACHED: 'Pass a minPosition returned by an earlier write, or omit it.',
  TASK_NOT_FOUND: ['Check the id: list_tasks or search_tasks find tasks.', 'Check the id: list_tasks finds tasks.', 'Check the task id.'],
  PROJECT_NOT_FOUND: ['Omit projectId for the default project, or use an id from list_projects.', 'Omit projectId for the default project.'],
  ROLE_NOT_FOUND: ['Use a role name from list_roles.', 'Check the role name.'],
  UNKNOWN_ROLE: ['Use a role name from list_roles.', 'Check the role name.'],
  PLUGIN_NOT_FOUND: ['Use a plugin id from list_plugins.', 'Check the plugin id.'],
  TOKEN_NOT_FOUND: [
    'Check the token id: the jti that issue_token or who_am_i answered (the `jti` claim of the token).',
    'Check the token id: the `jti` claim of the token.',
  ],
  TOKEN_ALREADY_REVOKED: 'This token was already refreshed or revoked: use the token the winning refresh answered.',
  DEPENDENCY_NOT_FOUND: ['Nothing to remove: get_task shows the open dependencies.', 'Nothing to remove: the dependency is not there.'],
  DEPENDENCY_EXISTS: 'Nothing to do: the dependency is already there.',
  DEPENDENCY_CYCLE: 'Dependencies must not loop: drop or reverse one link of details.cycle.',
  SELF_DEPENDENCY: 'A task cannot depend on itself; name another task.',
  CROSS_PROJECT_DEPENDENCY: 'Both tasks must be in the same project.',
  CROSS_PROJECT_PARENT: 'Parent and child must be in the same project.',
  HIERARCHY_CYCLE: "Choose a parent outside the task's own subtree.",
  DEPTH_LIMIT_EXCEEDED: 'Attach the task higher up the tree.',
  TASK_TOO_DEEP: 'Attach the task higher up the tree.',
  TREE_TOO_LARGE: ['Split the tree over several create_task_tree calls.', 'Split the tree over several calls.'],
  TASK_HAS_CHILDREN: 'Delete with recursive=true, or move the subtasks away first.',
  TASK_EXISTS: 'Use the existing task, or another id.',
  PROJECT_EXISTS: 'Use the existing project, or another id.',
  ROLE_EXISTS: ['Use change_role to change it, or another name.', 'Use the existing role, or another name.'],
  PLUGIN_EXISTS: 'Use the existing plugin, or another id.',
  DEPENDENCIES_NOT_MET: ['Finish its hard dependencies first, or take a ready task (claim_next_task).', 'Finish its hard dependencies first.'],
  CONCURRENCY_CONFLICT: [
    'Read the task again (get_task) and retry with its current version as expectedVersion.',
    'Read the task again and retry with its current version as expectedVersion.',
  ],
  ROLE_VALIDATION_ERROR: ['See details.reasons; find_suitable_roles names roles that fit.', 'See details.reasons.'],
  ROLE_MISMATCH: 'Act as the role assigned to the task, or take another task.',
  ROLE_NOT_ASSIGNED: 'Nothing to remove: the role is not on this task.',
  ROLE_RETIRED: ['Pick an active role from list_roles.', 'Pick an active role.'],
  ROLE_READ_ONLY: 'Roles from YAML files change in their files, not through tools.',
  WORKLOAD_LIMIT: 'The role is at its concurrency limit: finish a task first or pick another role.',
  ALREADY_CLAIMED: ['Another agent holds this task: claim_next_task finds other work.', 'Another agent holds this task: take other work.'],
  TASK_NOT_CLAIMABLE: ['Take a ready task with claim_next_task.', 'Take a ready task.'],
  NO_READY_TASK: ['Nothing is ready now: get_task_dashboard shows what is blocked.', 'Nothing is ready now: try again later.'],
  NOT_CLAIMED: ['Claim the task first (claim_next_task).', 'Claim the task first.'],
  LEASE_NOT_HELD: 'Only the agent holding the lease may do this; claim your own work.',
  LEASE_EXPIRED: ['Your lease lapsed: claim the task again, and heartbeat_task while working.', 'Your lease lapsed: claim the task again.'],
  IDEMPOTENCY_KEY_REUSED: 'Send a new idempotencyKey for a new request; resend a key only with the same arguments.',
  INVALID_IDEMPOTENCY_KEY: 'Send a fresh UUID as idempotencyKey, or none.',
  INVALID_GLOB: 'Fix the file patterns named in the message.',
  INVALID_PROJECT_ID: 'Send an explicit id: a lower-case slug.',
  AUTHENTICATION_REQUIRED: 'Configure a plugin token: VESPERA_TOKEN (stdio) or Authorization: Bearer (HTTP).',
  TOKEN_MALFORMED: 'Configure a valid plugin token (vespera token create).',
  TOKEN_INVALID: 'Configure a valid plugin token (vespera token create).',
  TOKEN_EXPIRED: ['Get a fresh token (refresh_token before expiry, or vespera token create).', 'Get a fresh token (vespera token create).'],
  TOKEN_REVOKED: 'This token no longer works: ask an administrator for a new one.',
  MISSING_CAPABILITY: [
    'Ask an administrator for a token with details.required; who_am_i lists yours.',
    'Ask an administrator for a token with details.required.',
  ],
  GRAPH_QUERY_REFUSED: 'Send one read-only statement (MATCH … RETURN), values as params.',
  READ_MODEL_LAGGING: 'Retry in a moment.',
  VECTORS_UNAVAILABLE: ['Semantic tools are down: use search_tasks with mode=keyword meanwhile.', 'Semantic tools are down: retry later.'],
  SERVICE_NOT_FOUND: ['Use a service name from list_services.', 'Check the service name.'],
  RATE_LIMITED: 'Wait a minute before calling again.',
  SHUTTING_DOWN: 'Retry once the server is back.',
  INTERNAL_ERROR: 'Not caused by your arguments: retrying may help; report the correlationId if it persists.',
};

const BY_STATUS: Readonly<Record<number, string>> = {
  400: 'Fix the arguments and call again.',
  404: 'Check the id.',
  409: 'Read the current state again, then decide.',
  412: 'Read the resource again and retry with its current version.',
  422: 'The request is well-formed but breaks a rule: change it as the message says.',
};

/** The tools a session serves, and every tool name of the catalog (to tell a tool name in a hint from other words). */
export type ToolNames = Readonly<{ served: ReadonlySet<string>; known: ReadonlySet<string> }>;

const GENERIC_HINT = 'Read the message, adjust the call and try again.';
const SNAKE_WORD = /\b[a-z]+(?:_[a-z]+)+\b/g;

/** No tool the hint names is missing from the session: an agent is never pointed at a tool it cannot call. */
const namesServed = (hint: string, tools: ToolNames): boolean =>
  (hint.match(SNAKE_WORD) ?? []).every((word) => !tools.known.has(word) || tools.served.has(word));

/** The most specific hint for this refusal that names only tools of `tools.served` (any hint without `tools`). */
export const hintFor = (error: DomainError, tools?: ToolNames): string => {
  const own = HINTS[error.code];
  const candidates = [...(typeof own === 'string' ? [own] : (own ?? [])), error.hint, BY_STATUS[error.status], GENERIC_HINT];
  return candidates.find((hint): hint is string => hint !== undefined && (!tools || namesServed(hint, tools))) ?? GENERIC_HINT;
};

const MAX_DETAILS = 400;

/**
 * A refusal as an `isError` result: one line `CODE: message Hint: …` (with the details when short), and the
 * same fields under `_meta`. No `structuredContent`: clients check it against the tool's outputSchema.
 */
export const errorResult = (error: DomainError, correlationId?: string, tools?: ToolNames): CallToolResult => {
  const hint = hintFor(error, tools);
  const details = Object.keys(error.details).length > 0 ? JSON.stringify(error.details) : '';
  const shown = details && details.length <= MAX_DETAILS ? ` Details: ${details}` : '';
  const id = correlationId ? ` (correlationId ${correlationId})` : '';
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.code}: ${error.message}${id} Hint: ${hint}${shown}` }],
    _meta: {
      'vespera/error': {
        code: error.code,
        status: error.status,
        message: error.message,
        hint,
        details: error.details,
        ...(correlationId ? { correlationId } : {}),
      },
    },
  };
};

/** Up to this many bytes of JSON, a result's text is the compact JSON itself (what MCP says a client may rely on). */
export const MAX_JSON_TEXT = 8 * 1024;
const MAX_SUMMARY = MAX_JSON_TEXT;
const clip = (text: string, max = MAX_SUMMARY): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

type Item = { id?: unknown; name?: unknown };
const idOf = (item: unknown): unknown => (typeof item === 'object' && item !== null ? ((item as Item).id ?? (item as Item).name) : undefined);

/** `task.id="…"` for a nested object with an id, `n item(s): a, b` for a list of them, `k=v` for a scalar. */
const factsOf = (body: Record<string, unknown>): string[] =>
  Object.entries(body).flatMap(([key, value]) => {
    if (value === null || typeof value !== 'object') return [`${key}=${JSON.stringify(value)}`];
    if (Array.isArray(value)) {
      const ids = value.map(idOf).filter((id) => id !== undefined);
      return [`${key}: ${value.length} item(s)${ids.length > 0 ? ` (${ids.map(String).join(', ')})` : ''}`];
    }
    const id = idOf(value);
    return id === undefined ? [] : [`${key}.id=${JSON.stringify(id)}`];
  });

/**
 * The text of a result: the compact JSON when it is at most MAX_JSON_TEXT bytes, else a one-line summary that
 * names every id at the top level or one level down (`task.id`, the items' ids), with the whole answer in structuredContent.
 */
export const renderLine = (body: Record<string, unknown>): string => {
  const json = JSON.stringify(body);
  if (Buffer.byteLength(json) <= MAX_JSON_TEXT) return json;
  const more = typeof body.nextCursor === 'string' ? ` Next page: cursor "${body.nextCursor}".` : '';
  const headline =
    typeof body.id === 'string' && typeof body.title === 'string'
      ? `${body.id} "${clip(body.title, 200)}" (${[body.status, body.priority, body.version === undefined ? undefined : `version ${String(body.version)}`].filter(Boolean).join(', ')})`
      : clip(factsOf(body).join(', ') || Object.keys(body).join(', '));
  return `${headline}.${more} Full answer in structuredContent (${json.length} characters).`;
};
