import type { AnyOperation } from '../catalog/operation.js';
import type { JsonSchema } from '../schemas.js';

/**
 * Every served schema sits in the agent's context, so descriptions are rationed: top-level fields keep theirs
 * up to this length (the long ones explain REST mechanics such as read-your-writes), nested fields lose them,
 * and terse tools keep none. Validating keywords are never touched: MCP and REST accept the same arguments.
 */
export const MAX_FIELD_DESCRIPTION = 60;

/** Keywords that only annotate a schema: removing them never changes which values it accepts. */
const ANNOTATIONS = new Set(['description', 'title', 'examples', '$comment', 'default', 'readOnly', 'writeOnly', 'deprecated']);
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions', 'patternProperties', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems']);
const SCHEMAS = new Set(['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames']);

const isObject = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Walks a schema keyword by keyword (never into `enum`, `const` or `default` values), rebuilding it with `keep`. */
const mapSchema = (schema: JsonSchema, keep: (keyword: string, value: unknown, depth: number) => boolean, depth = 0): JsonSchema => {
  const out: JsonSchema = {};
  const sub = (value: unknown) => (isObject(value) ? mapSchema(value, keep, depth + 1) : value);
  for (const [keyword, value] of Object.entries(schema)) {
    if (value === undefined || !keep(keyword, value, depth)) continue;
    if (SCHEMA_MAPS.has(keyword) && isObject(value)) {
      out[keyword] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, sub(schema)]));
    } else if (SCHEMA_LISTS.has(keyword) && Array.isArray(value)) {
      out[keyword] = value.map(sub);
    } else if (SCHEMAS.has(keyword) && isObject(value)) {
      out[keyword] = sub(value);
    } else {
      out[keyword] = value;
    }
  }
  return out;
};

const words = (text: string): string[] =>
  text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.replace(/s$/, ''));

/** "Task id" on `id` of get_task, or "Priority" on `priority`, repeats names the agent already reads. */
const saysNothing = (description: string, field: string, tool: string): boolean => {
  const known = new Set([...words(field), ...words(tool), 'id', 'the', 'a']);
  return words(description).every((word) => known.has(word));
};

/**
 * Fields every tool uses the same way. Their conventions are stated once, in the server instructions
 * (CONVENTIONS), instead of in each tool that takes them.
 */
export const CONVENTIONAL_FIELDS = new Set(['projectId', 'agent', 'leaseSeconds', 'limit', 'cursor', 'usage']);

/** What the server instructions say of CONVENTIONAL_FIELDS. */
export const CONVENTIONS =
  'projectId is `default` when omitted; agent is your plugin id when omitted; leaseSeconds is a lease length in seconds; ' +
  'lists page with limit and the nextCursor of the previous answer as cursor; usage (heartbeat, complete) is what you spent since your last report.';

/** The catalog's input schema as served: the same validating keywords, with descriptions rationed and no examples. */
export const mcpInputSchema = (input: JsonSchema, { tool = '', terse = false } = {}): JsonSchema => {
  const served = mapSchema(
    input,
    (keyword, _value, depth) => !(keyword === 'examples' || keyword === '$comment' || (keyword === 'description' && depth !== 1)),
  );
  if (!isObject(served.properties)) return served;
  const properties = Object.entries(served.properties).map(([field, schema]) => {
    if (!isObject(schema) || typeof schema.description !== 'string') return [field, schema];
    const { description, ...rest } = schema;
    const kept = !terse && !CONVENTIONAL_FIELDS.has(field) && description.length <= MAX_FIELD_DESCRIPTION && !saysNothing(description, field, tool);
    return [field, kept ? schema : rest];
  });
  return { ...served, properties: Object.fromEntries(properties) };
};

/** The argument a write tool takes besides the operation's own: REST's `Idempotency-Key`, checked by the same rule. */
export const IDEMPOTENCY_ARGUMENT = 'idempotencyKey';

/**
 * A write's input schema with the optional `idempotencyKey` added. Served as a bare string to keep `core` within its
 * budget: the server instructions give its rule and checkedIdempotencyKey enforces it, with a hint, for both surfaces.
 */
export const withIdempotencyKey = (input: JsonSchema): JsonSchema => ({
  ...input,
  properties: { ...(isObject(input.properties) ? input.properties : {}), [IDEMPOTENCY_ARGUMENT]: { type: 'string' } },
});

/** The schema with every annotation removed: what it accepts, and nothing else. */
export const validatingKeywords = (schema: JsonSchema): JsonSchema => mapSchema(schema, (keyword) => !ANNOTATIONS.has(keyword));

/** MCP wants object results; an operation answering anything else is wrapped as `{ result }`. */
export const answersObject = (op: AnyOperation): boolean => op.output.type === 'object';

/**
 * The catalog's output schema as served: an object with the fields every answer carries. The server checks
 * each answer against the full schema first, as REST does; served whole, the output schemas would cost an
 * agent more tokens than all the input schemas together.
 */
export const mcpOutputSchema = (op: AnyOperation): JsonSchema => {
  if (!answersObject(op)) return { type: 'object', required: ['result'] };
  const required = Array.isArray(op.output.required) ? (op.output.required as string[]) : [];
  return { type: 'object', ...(required.length > 0 ? { required } : {}) };
};
