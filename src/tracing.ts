import { createRequire } from 'node:module';
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { Config } from './config.js';

/** Name of the tracer that Doorbell's own spans (API requests) come from. */
const TRACER_NAME = 'doorbell';

/**
 * Module the worker bundles into the workflow sandbox. Its interceptors continue the trace of the
 * workflow start and export workflow spans through the `exporter` sink.
 */
export const WORKFLOW_TRACING_INTERCEPTORS = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** OpenTelemetry tracing of one process, started by startTracing. */
export interface Tracing {
  readonly tracer: Tracer;
  readonly resource: Resource;
  readonly spanProcessor: SpanProcessor;
  /** Interceptors of a Temporal client: a workflow start becomes a span whose context travels in the workflow's headers. */
  readonly clientInterceptors: ClientInterceptors;
  /** Interceptors of a Temporal worker: one span per activity execution, continuing the workflow's trace. */
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  /** The sink through which the workflow sandbox hands its spans to the span processor. */
  readonly workflowSinks: NonNullable<WorkerOptions['sinks']>;
  /** Exports the spans still buffered, then stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for this process when an OTLP endpoint is configured, and returns
 * undefined otherwise, so a process without tracing loads no exporter and creates no spans.
 * `spanProcessor` replaces the OTLP exporter, which is how tests collect spans in memory.
 *
 * The SDK registers itself globally: the tracer provider, W3C trace context propagation and an
 * AsyncLocalStorage context manager. So call it once per process, before the Temporal client connects.
 */
export function startTracing(config: Config['tracing'], defaultServiceName: string, options: { spanProcessor?: SpanProcessor } = {}): Tracing | undefined {
  const spanProcessor = options.spanProcessor ?? (config.exporter === null ? undefined : new BatchSpanProcessor(createOtlpExporter(config.exporter)));
  if (spanProcessor === undefined) {
    return undefined;
  }

  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, read by the env detector, win over the defaults.
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': config.serviceName ?? defaultServiceName }))
    .merge(envDetectorSync.detect());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();

  return {
    tracer: trace.getTracer(TRACER_NAME),
    resource,
    spanProcessor,
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    activityInterceptors: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    ],
    workflowSinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
    async shutdown() {
      await provider.shutdown();
    },
  };
}

/**
 * Creates the OTLP exporter for the configured protocol. Headers, timeout and compression come
 * from the standard OTEL_EXPORTER_OTLP_* variables, which the exporter reads itself.
 */
function createOtlpExporter(exporter: NonNullable<Config['tracing']['exporter']>): SpanExporter {
  switch (exporter.protocol) {
    case 'http/protobuf':
      return new OtlpProtobufTraceExporter({ url: exporter.url });
    case 'http/json':
      return new OtlpJsonTraceExporter({ url: exporter.url });
    default:
      return assertNever(exporter.protocol);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected OTLP protocol: ${String(value)}`);
}
