import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities } from './activities/index.js';
import { deliveryContextInterceptors } from './activities/delivery-context.js';
import { AddressPolicy } from './activities/address-guard.js';
import { EndpointConcurrencyLimiter } from './activities/endpoint-limiter.js';
import { WebhookSender } from './activities/send-webhook.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startReconciler } from './domain/reconciler.js';
import { createLogger, type Logger } from './logger.js';
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { openServices, type Services } from './services.js';
import { connectionOptions, ensureSearchAttributes } from './temporal/connect.js';
import { WORKFLOW_TRACING_INTERCEPTORS, startTracing, type Tracing } from './tracing.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/**
 * Returns the workflow interceptor modules to bundle with the workflows: the delivery ids in log
 * lines always, and the OpenTelemetry ones when tracing is on. A prebuilt bundle must have been
 * built with the same list.
 */
export function workflowInterceptorModules(options: { tracing: boolean }): string[] {
  const logContext = fileURLToPath(new URL('./workflows/log-context.ts', import.meta.url));
  return options.tracing ? [WORKFLOW_TRACING_INTERCEPTORS, logContext] : [logContext];
}

/**
 * Installs the Temporal SDK's process-wide runtime, once, before the first connection. It sends
 * the SDK's log lines, workflow and activity `log` included, to pino. With `sdkMetricsAddress`
 * (`host:port`), the SDK also serves its own metrics at /metrics on that address.
 */
export function installTemporalRuntime(logger: Logger, options: { sdkMetricsAddress?: string } = {}): void {
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      // The worker's own INFO lines (bundler output, state changes) are start-up noise; keep them at debug.
      const level = entry.level === 'INFO' && entry.meta?.sdkComponent === 'worker' ? 'debug' : levels[entry.level];
      logger[level]({ ...entry.meta }, entry.message);
    }),
    ...(options.sdkMetricsAddress === undefined
      ? {}
      : {
          telemetryOptions: {
            // Prometheus naming conventions: counters end in _total, durations are in seconds with the unit in the name.
            metrics: { prometheus: { bindAddress: options.sdkMetricsAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } },
          },
        }),
  });
}

/** A Temporal worker and the reconciler loop, run and stopped together. */
export interface DoorbellWorker {
  worker: Worker;
  /** Doorbell's own metrics of this worker; serve them with startMetricsServer. */
  metrics: WorkerMetrics;
  /** Runs until worker.shutdown() or SIGINT/SIGTERM, then lets running activities finish and stops the reconciler. */
  run(): Promise<void>;
}

/**
 * Builds the worker for Doorbell's task queue. Tests call this too, with a prebuilt workflow
 * bundle so each test does not bundle again.
 */
export async function createWorker(options: {
  config: Config;
  services: Services;
  connection: NativeConnection;
  logger: Logger;
  workflowBundle?: { code: string };
  /** Activities the worker runs at once; the SDK's default (100) when omitted. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Traces workflows and activities. A prebuilt bundle must then contain the tracing interceptors. */
  tracing?: Tracing;
}): Promise<DoorbellWorker> {
  const { config, services } = options;
  const sender = new WebhookSender({
    timeoutMs: config.delivery.attemptTimeoutMs,
    userAgent: 'Doorbell-Webhooks/0.1',
    addressPolicy: new AddressPolicy(config.delivery.allowedCidrs),
  });
  const metrics = new WorkerMetrics({ store: services.store, logger: options.logger });
  const activities = createActivities({
    metrics,
    store: services.store,
    temporal: services.temporal,
    secretBox: services.secretBox,
    sender,
    limiter: new EndpointConcurrencyLimiter(config.delivery.maxConcurrentPerEndpoint),
    dispatchPageSize: config.delivery.dispatchPageSize,
    retrySchedule: config.delivery.retrySchedule,
    endpointDisableAfterMs: config.delivery.endpointDisableAfterMs,
    catchUpRatePerSecond: config.delivery.catchUpRatePerSecond,
  });

  const worker = await Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    // On shutdown, running attempts get this long to finish, and each also ends at its own timeout.
    // After it they are cancelled, and after the force time the worker stops waiting.
    shutdownGraceTime: config.shutdownGraceMs,
    shutdownForceTime: config.shutdownGraceMs + SHUTDOWN_FORCE_MARGIN_MS,
    ...(options.maxConcurrentActivityTaskExecutions === undefined ? {} : { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions }),
    ...(options.workflowBundle === undefined ? { workflowsPath: WORKFLOWS_PATH } : { workflowBundle: options.workflowBundle }),
    interceptors: {
      // The tracing interceptors come first, so the others run inside the activity's span.
      activity: [...(options.tracing?.activityInterceptors ?? []), deliveryContextInterceptors],
      ...(options.workflowBundle === undefined ? { workflowModules: workflowInterceptorModules({ tracing: options.tracing !== undefined }) } : {}),
    },
    ...(options.tracing === undefined ? {} : { sinks: options.tracing.workflowSinks }),
  });

  return {
    worker,
    metrics,
    async run() {
      const stopReconciler = startReconciler({ ...services, logger: options.logger, metrics }, config.reconciler);
      try {
        await worker.run();
      } finally {
        await stopReconciler();
        await sender.close();
      }
    },
  };
}

/** Time after the grace period for cancelled activities to report back before the worker stops waiting. */
const SHUTDOWN_FORCE_MARGIN_MS = 10_000;

/** Entry point of the worker process: the Temporal worker and the reconciler loop. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty, name: 'doorbell-worker' });
  installRuntimeWithSdkMetrics(config.workerMetrics, logger);
  const tracing = startTracing(config.tracing, 'doorbell-worker');
  if (tracing !== undefined) {
    logger.info({ ...config.tracing.exporter }, 'Tracing on: exporting spans over OTLP');
  }

  const services = await openServices(config, logger, 'doorbell-worker', tracing === undefined ? {} : { tracing });
  await ensureSearchAttributes(services.temporal.client, config.temporal.namespace, logger);

  const connection = await NativeConnection.connect(connectionOptions(config.temporal));
  const doorbellWorker = await createWorker({ config, services, connection, logger, ...(tracing === undefined ? {} : { tracing }) });
  const { host, port } = config.workerMetrics;
  const metricsServer = port === 0 ? undefined : await listenForMetrics(doorbellWorker.metrics, host, port, logger);

  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'Worker started');
  // The SDK itself shuts the worker down on SIGINT and SIGTERM; these listeners only log it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal, graceMs: config.shutdownGraceMs }, 'Worker stopping: no new tasks; running attempts may finish');
    });
  }
  await doorbellWorker.run();
  logger.info('Worker drained; closing connections');

  await metricsServer?.close();
  await connection.close();
  await services.close();
  await tracing?.shutdown();
  logger.info('Worker stopped');
}

/** Installs the SDK runtime, with its metrics endpoint unless WORKER_SDK_METRICS_PORT is 0. */
function installRuntimeWithSdkMetrics(options: Config['workerMetrics'], logger: Logger): void {
  const sdkMetricsAddress = options.sdkPort === 0 ? undefined : `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.sdkPort}`;
  try {
    // The SDK binds its metrics port here and raises when the port is taken.
    installTemporalRuntime(logger, sdkMetricsAddress === undefined ? {} : { sdkMetricsAddress });
  } catch (error) {
    throw new Error(`cannot serve Temporal SDK metrics on ${sdkMetricsAddress}: ${(error as Error).message}; set WORKER_SDK_METRICS_PORT to a free port, or to 0 to turn the endpoint off`, { cause: error });
  }
  if (sdkMetricsAddress !== undefined) {
    logger.info({ url: `http://${sdkMetricsAddress}/metrics` }, 'Temporal SDK metrics listening');
  }
}

async function listenForMetrics(metrics: WorkerMetrics, host: string, port: number, logger: Logger): Promise<MetricsServer> {
  let server: MetricsServer;
  try {
    server = await startMetricsServer(metrics.registry, { host, port, logger });
  } catch (error) {
    throw new Error(`cannot serve worker metrics on ${host}:${port}: ${(error as Error).message}; set WORKER_METRICS_PORT to a free port, or to 0 to turn the endpoint off`, { cause: error });
  }
  logger.info({ url: `${server.url}/metrics` }, 'Worker metrics listening');
  return server;
}

const isEntryPoint = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint) {
  main().catch((error: unknown) => {
    process.stderr.write(`doorbell-worker: ${error instanceof ConfigError ? error.message : (error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
