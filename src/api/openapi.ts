import { ROLE_NAME } from './auth/authorizer.js';
import { operationHeaders, pathParams, type AnyOperation } from './catalog/operation.js';
import { IDEMPOTENCY_KEY } from './idempotency.js';
import type { JsonSchema } from './schemas.js';

const ref = (kind: 'parameters' | 'headers' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** The request headers of the API (router.ts `factsOf`, server.ts), declared on the operations that heed them. */
const parameters = {
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    description:
      'A key of your choosing for this request (8–128 letters, digits, `_ . : -`): a retry with the same key and request is answered as the first was and applied once; the same key with another request is refused (422).',
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
  },
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    description:
      'The task\'s `ETag` the change is based on (`W/"12"`), as the `expectedVersion` argument: refused with 412 when the task changed since.',
    schema: { type: 'string', pattern: '^\\s*(?:W/)?"\\d+"\\s*$' },
  },
  MinPosition: {
    name: 'X-Vespera-Min-Position',
    in: 'header',
    description:
      "Read your writes: wait (bounded) until the read model has applied this log position (a write's `X-Vespera-Position`), as the `minPosition` argument; 503 READ_MODEL_LAGGING when it does not in time.",
    schema: { type: 'string', pattern: '^\\d{1,15}$' },
  },
  Role: {
    name: 'X-Vespera-Role',
    in: 'header',
    description: 'The role the caller acts for: an existing, live role (422 otherwise), recorded in every event the request causes.',
    schema: { type: 'string', pattern: ROLE_NAME.source },
  },
  CorrelationId: {
    name: 'X-Correlation-Id',
    in: 'header',
    description: 'Ties the request to its events and log lines (up to 128 letters, digits, `_ . : -`); a fresh one is made without it.',
    schema: { type: 'string' },
  },
};

/** The response headers (router.ts, server.ts), declared on the answers that carry them. */
const headers = {
  CorrelationId: { description: 'The correlation id of the request (the one sent, or a fresh one).', schema: { type: 'string' } },
  ETag: {
    description: 'The task\'s version as a weak ETag (`W/"12"`): send it back as `If-Match`.',
    schema: { type: 'string', pattern: '^W/"\\d+"$' },
  },
  Position: {
    description: 'The log position of the write: send it as `X-Vespera-Min-Position` to read your writes anywhere.',
    schema: { type: 'string', pattern: '^\\d+$' },
  },
  RetryAfter: { description: 'Seconds until the rate limit lets the caller in again.', schema: { type: 'string', pattern: '^\\d+$' } },
};

const problemContent = {
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
        correlationId: { type: 'string' },
      },
      additionalProperties: true,
    },
  },
};

const responses = {
  Problem: {
    description: 'Problem details (RFC 9457) with a stable `code`',
    headers: { 'X-Correlation-Id': ref('headers', 'CorrelationId') },
    content: problemContent,
  },
  RateLimited: {
    description: 'Too many requests (`RATE_LIMITED`): wait for `Retry-After` seconds',
    headers: { 'Retry-After': ref('headers', 'RetryAfter'), 'X-Correlation-Id': ref('headers', 'CorrelationId') },
    content: problemContent,
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
    const heeds = operationHeaders(op);
    const params: unknown[] = [...inPath].map((name) => ({ name, in: 'path', required: true, schema: props[name] }));
    const bodyProps: Record<string, JsonSchema> = {};
    for (const [name, schema] of Object.entries(props)) {
      if (inPath.has(name)) continue;
      if (op.method === 'get' || op.method === 'delete') {
        params.push({
          name,
          in: 'query',
          required: required.has(name),
          schema,
          ...(schema.type === 'array' ? { style: 'form', explode: false } : {}),
        });
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
      parameters: [
        ...params,
        ...(heeds.idempotencyKey ? [ref('parameters', 'IdempotencyKey')] : []),
        ...(heeds.ifMatch ? [ref('parameters', 'IfMatch')] : []),
        ...(heeds.minPosition ? [ref('parameters', 'MinPosition')] : []),
        ref('parameters', 'Role'),
        ref('parameters', 'CorrelationId'),
      ],
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
          description: op.download ? 'The file' : 'Success',
          headers: {
            ...(heeds.etag ? { ETag: ref('headers', 'ETag') } : {}),
            ...(heeds.position ? { 'X-Vespera-Position': ref('headers', 'Position') } : {}),
            'X-Correlation-Id': ref('headers', 'CorrelationId'),
            ...(op.download ? { 'Content-Disposition': { description: 'attachment; filename=…', schema: { type: 'string' } } } : {}),
          },
          content: op.download
            ? Object.fromEntries((op.documents ?? []).map((type) => [type, { schema: { type: 'string' } }]))
            : {
                'application/json': { schema: output },
                ...Object.fromEntries((op.documents ?? []).map((type) => [type, { schema: { type: 'string' } }])),
              },
        },
        '429': ref('responses', 'RateLimited'),
        '4XX': ref('responses', 'Problem'),
        '5XX': ref('responses', 'Problem'),
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
      parameters,
      headers,
      responses,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
};
