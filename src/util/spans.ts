import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

/**
 * Runs `fn` in a span of the `vespera` tracer, child of the active one; an error marks the span and is rethrown.
 * Without a registered tracer provider (tracing off) the span is a no-op.
 */
export const inSpan = <T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> =>
  trace.getTracer('vespera').startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
