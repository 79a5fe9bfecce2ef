import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { VERSION } from '../version.js';

export type Tracing = Readonly<{
  enabled: boolean;
  /** Exports what is still buffered, then unregisters the global provider, context manager and propagator. */
  shutdown: () => Promise<void>;
}>;

const OFF: Tracing = { enabled: false, shutdown: async () => undefined };

/** Where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else `/v1/traces` under OTEL_EXPORTER_OTLP_ENDPOINT. */
export const tracesUrl = (config: Pick<Config, 'otlpEndpoint' | 'otlpTracesEndpoint'>): string | undefined =>
  config.otlpTracesEndpoint ?? (config.otlpEndpoint ? `${config.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined);

/**
 * OpenTelemetry tracing, on only when an OTLP endpoint is configured: spans are batched and sent as OTLP/HTTP JSON.
 * Library code only ever calls `@opentelemetry/api` (`trace.getTracer('vespera')`), which stays a no-op while this
 * is off. One process registers one provider: a second app in the same process (tests) gets tracing off.
 */
export const startTracing = (config: Pick<Config, 'otlpEndpoint' | 'otlpTracesEndpoint' | 'serviceName'>, logger: Logger): Tracing => {
  const url = tracesUrl(config);
  if (!url) return OFF;
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: VERSION }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: 1000 })],
  });
  if (!trace.setGlobalTracerProvider(provider)) {
    logger.warn('a tracer provider is already registered in this process; tracing stays off for this app');
    void provider.shutdown();
    return OFF;
  }
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  logger.info({ url, serviceName: config.serviceName }, 'tracing on: spans are exported over OTLP/HTTP');
  let stopped = false;
  return {
    enabled: true,
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      await provider.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
};
