import type { z } from 'zod';
import type { JsonSchema } from '../schemas.js';
import type { Requirement } from '../auth/authorizer.js';
import { toJsonSchema } from './schemas/jsonSchema.js';

/** Who calls, through which surface; filled by the REST or MCP adapter. */
export type OperationContext = Readonly<{
  actor: string;
  /** The authenticated plugin token, when there is one. */
  caller?: Readonly<{ pluginId?: string; jti?: string; capabilities: readonly string[]; issuedAt?: string; expiresAt?: string }>;
  role?: string;
  tool: string;
  commandId: string;
  /** Hash of the request an Idempotency-Key named, so a reused key with another request is refused. */
  requestHash?: string;
  correlationId: string;
  /** W3C traceparent of the request (see api/traceContext.ts), recorded in the events it causes. */
  traceparent?: string;
  /** From `If-Match` (REST) or the `expectedVersion` argument. */
  expectedVersion?: number;
  /** From `X-Vespera-Min-Position` or the `minPosition` argument. */
  minPosition?: number;
}>;

/** Who asks, as the command functions want it: actor, role, surface, idempotency key and expected version. */
export const requestMeta = (ctx: OperationContext) => ({
  actor: ctx.actor,
  tool: ctx.tool,
  commandId: ctx.commandId,
  correlationId: ctx.correlationId,
  ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
  ...(ctx.requestHash ? { requestHash: ctx.requestHash } : {}),
  ...(ctx.role ? { role: ctx.role } : {}),
  ...(ctx.expectedVersion === undefined ? {} : { expectedVersion: ctx.expectedVersion }),
});

export type OperationResult<O> = Readonly<{
  body: O;
  /** Log position of the write (commands), for `X-Vespera-Position`. */
  position?: number;
  /** The resource's version, for `ETag`. */
  version?: number;
  /**
   * The answer as a document of its own media type (a picture: Mermaid, DOT, SVG; an exported file): REST sends it as
   * the body instead of the JSON, MCP as the tool's text. `body` still holds the JSON answer, checked against
   * `output`. With a `filename` it is a download: REST names it (Content-Disposition), and MCP keeps the one-line
   * summary of the body as its text (the file is in the structured answer).
   */
  document?: Readonly<{ contentType: string; text: string; filename?: string }>;
}>;

/**
 * One entry of the operation catalog: everything REST, MCP, OpenAPI and the authorization matrix need
 * to know about an operation. `input` is one object schema: path parameters, query and body together.
 */
export type Operation<I = Record<string, unknown>, O = unknown> = Readonly<{
  name: string;
  tool: string;
  summary: string;
  description?: string;
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  path: string;
  capability: Requirement;
  kind: 'command' | 'query';
  input: JsonSchema;
  output: JsonSchema;
  successStatus?: number;
  /** A larger REST body limit than the server's (file imports); every other route keeps the server's. */
  bodyLimitBytes?: number;
  /** The answer carries the task's version (`ETag`, for `If-Match`); OpenAPI declares the header. */
  etag?: boolean;
  /** A command that appends nothing to the log answers no `X-Vespera-Position`: false. Other commands do. */
  position?: boolean;
  /** Media types the operation may answer besides JSON (see OperationResult.document), for OpenAPI. */
  documents?: readonly string[];
  /** REST always answers a download of one of `documents`, never the JSON (OpenAPI declares Content-Disposition). */
  download?: boolean;
  run: (input: I, ctx: OperationContext) => Promise<OperationResult<O>>;
}>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOperation = Operation<any, any>;

/**
 * An operation as the catalog writes it: its input and output are zod schemas (`./schemas/`), which type the
 * input `run` gets (after validation filled in defaults) and the answer it must give.
 */
export type OperationSpec<In extends z.core.$ZodType, Out extends z.core.$ZodType> = Omit<Operation<z.output<In>, z.input<Out>>, 'input' | 'output'> &
  Readonly<{ input: In; output: Out }>;

/** One catalog entry, with the JSON Schemas ajv, OpenAPI and MCP serve written from its zod schemas. */
export const defineOperation = <In extends z.core.$ZodType, Out extends z.core.$ZodType>(spec: OperationSpec<In, Out>): AnyOperation => ({
  ...spec,
  input: toJsonSchema(spec.input),
  output: toJsonSchema(spec.output),
});

/**
 * The headers an operation reads and answers beyond the ones every request has, as OpenAPI declares them:
 * `Idempotency-Key` names a command; `If-Match` guards a write that takes `expectedVersion`; `X-Vespera-Min-Position`
 * makes a query wait for the read model (readYourWrites.ts); `ETag` and `X-Vespera-Position` come with the answers
 * that carry a version or a log position (the invoker refuses an answer with one its operation does not declare).
 */
export const operationHeaders = (op: AnyOperation) => ({
  idempotencyKey: op.kind === 'command',
  ifMatch: op.kind === 'command' && 'expectedVersion' in ((op.input.properties ?? {}) as object),
  minPosition: op.kind === 'query',
  etag: op.etag === true,
  position: op.kind === 'command' && op.position !== false,
});

/** Names of the path parameters of an express-style path (`/tasks/:id` → ['id']). */
export const pathParams = (path: string): string[] => [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
