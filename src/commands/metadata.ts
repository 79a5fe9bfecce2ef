import type { CommandMetadata } from '../events/types.js';

/** Who asks, through which surface, and under which idempotency key. */
export type RequestMeta = Readonly<{
  actor: string;
  role?: string;
  tool: string;
  commandId: string;
  requestHash?: string;
  correlationId?: string;
  /** The request this one answers (an undo: the undone request's correlation id). */
  causationId?: string;
  /** W3C traceparent of the request, recorded in its events. */
  traceparent?: string;
  expectedVersion?: number;
}>;

export const commandMetadata = (meta: RequestMeta, now: string): CommandMetadata => ({
  now,
  commandId: meta.commandId,
  ...(meta.requestHash ? { requestHash: meta.requestHash } : {}),
  actor: meta.actor,
  ...(meta.role ? { role: meta.role } : {}),
  tool: meta.tool,
  correlationId: meta.correlationId ?? meta.commandId,
  ...(meta.causationId ? { causationId: meta.causationId } : {}),
  ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
});
