import { trace } from '@opentelemetry/api';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * A W3C traceparent (https://www.w3.org/TR/trace-context/#traceparent-header) as sent, or undefined when it is not one:
 * version ff, all-zero ids, upper case, or a version-00 header with extra fields are invalid and ignored.
 */
export const validTraceparent = (header: string | undefined): string | undefined => {
  if (!header || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, , rest] = m;
  if (version === 'ff' || /^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  return header.trim();
};

/** The active span as a traceparent, when tracing is on and a span is recording. */
export const activeTraceparent = (): string | undefined => {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
};
