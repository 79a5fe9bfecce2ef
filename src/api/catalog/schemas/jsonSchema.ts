import { z } from 'zod';
import type { JsonSchema } from '../../schemas.js';

/**
 * Zod schemas are the single source of the catalog's types and JSON Schemas: `z.output` types an operation's
 * input (after ajv filled in its defaults), `z.input` types its answer, and `toJsonSchema` writes the JSON Schema
 * that ajv, OpenAPI and MCP serve. It tidies what zod emits into the plain dialect the catalog has always served:
 * every rule below drops or merges keywords without changing which values a schema accepts. An object of any keys
 * says so with `additionalProperties: true`, never by leaving the keyword out: code generators (openapi-typescript)
 * read an object without `properties` or `additionalProperties` as one that has no keys at all.
 */

/** The bounds zod writes on every `z.int()`; the catalog never served them. */
const SAFE_BOUNDS = new Set([Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]);
/** Keywords whose values are data, not schemas: never walked. */
const DATA = new Set(['enum', 'const', 'default', 'examples']);
/** Meta key naming a recursive schema's entry in `$defs` (zod alone would call it `__schema0`). */
export const DEF_NAME = 'x-def';

const isObject = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);
const isEmpty = (value: unknown): boolean => isObject(value) && Object.keys(value).length === 0;

/** `anyOf: [S, {type: 'null'}]` (zod's `.nullable()` of a constrained S) as `type: [S.type, 'null']`. */
const mergeNullable = (schema: JsonSchema): JsonSchema => {
  const { anyOf, ...rest } = schema;
  if (!Array.isArray(anyOf) || anyOf.length !== 2 || !isObject(anyOf[1]) || anyOf[1].type !== 'null' || Object.keys(anyOf[1]).length !== 1)
    return schema;
  const [inner] = anyOf as [JsonSchema];
  if (typeof inner.type !== 'string' || 'enum' in inner || 'const' in inner || 'type' in rest) return schema;
  return { ...inner, ...rest, type: [inner.type, 'null'] };
};

const tidy = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(tidy);
  if (!isObject(node)) return node;
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(node)) {
    if (keyword === 'propertyNames' && isObject(value) && value.type === 'string' && Object.keys(value).length === 1) continue;
    if (keyword === 'additionalProperties' && isEmpty(value)) {
      out[keyword] = true;
      continue;
    }
    if (keyword === 'items' && isEmpty(value)) continue;
    if ((keyword === 'minimum' || keyword === 'maximum') && node.type === 'integer' && SAFE_BOUNDS.has(value as number)) continue;
    out[keyword] = DATA.has(keyword) ? value : tidy(value);
  }
  return mergeNullable(out);
};

/** Renames `$defs` entries that carry a DEF_NAME, and the `$ref`s to them. */
const nameDefs = (schema: JsonSchema): JsonSchema => {
  const defs = schema.$defs;
  if (!isObject(defs)) return schema;
  const names = new Map<string, string>();
  const renamed: JsonSchema = {};
  for (const [key, def] of Object.entries(defs as Record<string, JsonSchema>)) {
    const { [DEF_NAME]: name, ...body } = def;
    const to = typeof name === 'string' ? name : key;
    names.set(`#/$defs/${key}`, `#/$defs/${to}`);
    renamed[to] = body;
  }
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!isObject(node)) return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? (names.get(v) ?? v) : rewrite(v)]));
  };
  const { $defs: _, ...rest } = schema;
  return { ...(rewrite(rest) as JsonSchema), $defs: rewrite(renamed) };
};

/** JSON Schemas owned elsewhere (the role file format), typed by hand where the catalog uses them. */
const external = new WeakMap<object, JsonSchema>();

/** A schema another module keeps as JSON Schema, with the type its validated values have. */
export const fromJsonSchema = <T>(json: JsonSchema): z.ZodCustom<T, T> => {
  const schema = z.custom<T>();
  external.set(schema, json);
  return schema;
};

/** The JSON Schema of a catalog schema, as ajv, OpenAPI and MCP serve it. */
export const toJsonSchema = (schema: z.core.$ZodType): JsonSchema => {
  const json = external.get(schema);
  if (json) return json;
  const { $schema: _, ...generated } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', cycles: 'ref', reused: 'inline' });
  return nameDefs(tidy(generated) as JsonSchema);
};
