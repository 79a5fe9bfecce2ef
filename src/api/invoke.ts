import { randomUUID } from 'node:crypto';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Authorizer, Caller } from './auth/authorizer.js';
import { operationHeaders, type AnyOperation, type OperationContext, type OperationResult } from './catalog/operation.js';
import { requestHash, type IdempotencyKeys } from './idempotency.js';
import { activeTraceparent } from './traceContext.js';
import { assertShallow, assertValid, type Validators } from './validation.js';

export type InvokeDeps = Readonly<{
  validators: ReadonlyMap<string, Validators>;
  authorizer: Authorizer;
  logger: Logger;
  /** Where Idempotency-Keys are remembered; without it a key is used as the command id as sent. */
  idempotency?: IdempotencyKeys;
}>;

/** What a surface reads from its request besides the arguments. */
export type RequestFacts = Readonly<{
  /** A key the caller chose for one request (REST `Idempotency-Key`); without one every call gets a fresh command id. */
  idempotencyKey?: string;
  /** From `If-Match`. */
  expectedVersion?: number;
  /** From `X-Vespera-Min-Position`. */
  minPosition?: number;
}>;

/** One call of an operation, as a surface received it. */
export type Call = Readonly<{
  /** Who calls, as the surface authenticated them; undefined when nobody did. */
  caller: Caller | undefined;
  /** Recorded in every event the call causes: `rest`, `mcp:<tool>`. */
  tool: string;
  correlationId: string;
  /** The W3C traceparent the request sent (valid ones only), recorded in its events while tracing is off. */
  traceparent?: string;
  /** The arguments, read from the transport only once the caller may run the operation. */
  args: () => Record<string, unknown>;
  /** Read once the arguments are valid, so a bad argument is reported before a bad header. */
  facts?: () => RequestFacts;
}>;

export type Invoke = (operation: AnyOperation, call: Call) => Promise<OperationResult<unknown>>;

/**
 * The one way into an operation, for every surface: authorise, read and check the arguments, name the
 * command, run, check the answer against its schema. Surfaces only parse their transport and render the result;
 * a refusal is thrown as a DomainError for the surface to map.
 */
export const invoker = (deps: InvokeDeps): Invoke => {
  const run = invokeOnce(deps);
  // One span per call (REST and MCP alike) under the request's server span; a no-op while tracing is off.
  return (operation, call) =>
    trace.getTracer('vespera').startActiveSpan(`${call.tool} ${operation.name}`, async (span) => {
      span.setAttributes({ 'vespera.operation': operation.name, 'vespera.tool': call.tool, 'vespera.correlation_id': call.correlationId });
      try {
        return await run(operation, call);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
};

const invokeOnce =
  ({ validators, authorizer, logger, idempotency }: InvokeDeps): Invoke =>
  async (operation, call) => {
    const { input, output } = validators.get(operation.name)!;
    const caller = authorizer.authorize(call.caller, operation.capability);
    const args = call.args();
    assertShallow(args);
    assertValid(input, args);
    const { idempotencyKey: key, expectedVersion, minPosition } = call.facts?.() ?? {};
    // A key names one request of one caller: the hash of the request travels with the command into its events.
    const hash = key !== undefined && operation.kind === 'command' ? requestHash(operation.name, args, expectedVersion) : undefined;
    const commandId =
      key === undefined
        ? randomUUID()
        : hash && idempotency
          ? idempotency.commandIdFor(caller.pluginId ?? caller.actor, key, operation.name, hash)
          : key;
    const ctx: OperationContext = {
      actor: caller.actor,
      caller,
      ...(caller.role ? { role: caller.role } : {}),
      tool: call.tool,
      commandId,
      ...(hash ? { requestHash: hash } : {}),
      correlationId: call.correlationId,
      ...traceOf(call),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
      ...(minPosition === undefined ? {} : { minPosition }),
    };
    const result = await operation.run(args, ctx);
    if (!output(result.body)) {
      logger.error({ operation: operation.name, errors: output.errors, correlationId: call.correlationId }, 'response does not match its schema');
      throw new Error(`Response of ${operation.name} does not match its schema`);
    }
    // OpenAPI declares ETag and X-Vespera-Position from the catalog: an answer with an undeclared one is a catalog bug.
    const headers = operationHeaders(operation);
    const undeclared = [result.version !== undefined && !headers.etag && 'etag', result.position !== undefined && !headers.position && 'position'];
    if (undeclared.some(Boolean)) {
      logger.error({ operation: operation.name, correlationId: call.correlationId }, 'answer carries a header its operation does not declare');
      throw new Error(`${operation.name} answers headers its catalog entry does not declare: ${undeclared.filter(Boolean).join(', ')}`);
    }
    return result;
  };

/** The traceparent the call's events carry: the active span's when tracing is on, else the one the request sent. */
const traceOf = (call: Call): { traceparent?: string } => {
  const traceparent = activeTraceparent() ?? call.traceparent;
  return traceparent ? { traceparent } : {};
};
