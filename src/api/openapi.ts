import { pathParams, type AnyOperation } from './catalog/operation.js';
import type { JsonSchema } from './schemas.js';

const problem = {
  description: 'Problem details (RFC 9457) with a stable `code`',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        required: ['type', 'title', 'status', 'code', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          code: { type: 'string' },
          detail: { type: 'string' },
          hint: { type: 'string' },
        },
      },
    },
  },
};

/** Moves nested `$defs` to components and rewrites their `$ref`s so the document stands alone. */
const hoist = (schema: JsonSchema, prefix: string, components: Record<string, JsonSchema>): JsonSchema => {
  const defs = (schema.$defs ?? {}) as Record<string, JsonSchema>;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$defs') continue;
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${prefix}_${v.slice(8)}` : rewrite(v);
    }
    return out;
  };
  for (const [name, def] of Object.entries(defs)) components[`${prefix}_${name}`] = rewrite(def) as JsonSchema;
  return rewrite(schema) as JsonSchema;
};

/** The OpenAPI 3.1 document, generated from the operation catalog. */
export const openApiDocument = (operations: readonly AnyOperation[], version: string) => {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, JsonSchema> = {};
  for (const op of operations) {
    const path = `/api/v1${op.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    const input = hoist(op.input, `${op.name}Input`, components);
    const output = hoist(op.output, `${op.name}Output`, components);
    const props = (input.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((input.required ?? []) as string[]);
    const inPath = new Set(pathParams(op.path));
    const parameters = [...inPath].map((name) => ({ name, in: 'path', required: true, schema: props[name] }));
    const bodyProps: Record<string, JsonSchema> = {};
    for (const [name, schema] of Object.entries(props)) {
      if (inPath.has(name)) continue;
      if (op.method === 'get' || op.method === 'delete') {
        parameters.push({
          name,
          in: 'query',
          required: required.has(name),
          schema,
          ...(schema.type === 'array' ? { style: 'form', explode: false } : {}),
        } as never);
      } else bodyProps[name] = schema;
    }
    const bodyRequired = [...required].filter((name) => !inPath.has(name));
    paths[path] ??= {};
    paths[path][op.method] = {
      operationId: op.name,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.path.split('/')[1]],
      'x-capability': op.capability,
      'x-mcp-tool': op.tool,
      security: [{ bearer: [op.capability] }],
      parameters,
      ...(Object.keys(bodyProps).length > 0
        ? {
            requestBody: {
              required: bodyRequired.length > 0,
              content: {
                'application/json': {
                  schema: { ...input, properties: bodyProps, ...(bodyRequired.length ? { required: bodyRequired } : { required: undefined }) },
                },
              },
            },
          }
        : {}),
      responses: {
        [String(op.successStatus ?? 200)]: {
          description: 'Success',
          content: {
            'application/json': { schema: output },
            ...Object.fromEntries((op.documents ?? []).map((type) => [type, { schema: { type: 'string' } }])),
          },
        },
        '4XX': problem,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Vespera API', version, description: 'Event-sourced task orchestration for teams of AI coding agents.' },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
};
