import type { Server } from 'node:http';
import { NativeConnection, bundleWorkflowCode, type Worker } from '@temporalio/worker';
import type { DestinationStream } from 'pino';
import { createApp } from '../../src/api/app.js';
import type { Config } from '../../src/config.js';
import { createApiKey } from '../../src/domain/api-keys.js';
import type { ApiKeyRole } from '../../src/store/documents.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/metrics-server.js';
import { openServices, type Services } from '../../src/services.js';
import type { Tracing } from '../../src/tracing.js';
import { WORKFLOWS_PATH, createWorker, installTemporalRuntime, workflowInterceptorModules } from '../../src/worker.js';
import { testConfig } from './env.js';

const bundlePromises = new Map<boolean, Promise<{ code: string }>>();
let isRuntimeInstalled = false;

/**
 * Bundles the workflows once per test process, with the tracing interceptors or without them;
 * every worker in the process reuses the bundle.
 */
export function workflowBundle(options: { tracing: boolean } = { tracing: false }): Promise<{ code: string }> {
  let bundle = bundlePromises.get(options.tracing);
  if (bundle === undefined) {
    bundle = bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: workflowInterceptorModules(options),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
    });
    bundlePromises.set(options.tracing, bundle);
  }
  return bundle;
}

export interface StackOptions {
  /** Serve each worker's metrics on a free loopback port; see `workerMetricsUrl`. Off by default. */
  workerMetrics?: boolean;
  /**
   * Port for the Temporal SDK's own metrics endpoint on 127.0.0.1. The SDK runtime is global to
   * the process, so only the first Stack of a test file can set it.
   */
  sdkMetricsPort?: number;
  /**
   * Receives the JSON log lines of the API and the worker. The Temporal SDK's lines (workflow and
   * activity `log` included) reach it only in the first Stack of a test file, for the same reason.
   */
  logDestination?: DestinationStream;
  /** Activity slots of the worker; the SDK's default when omitted. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Tracing of the API and the worker, started by the test with startTracing. Off by default. */
  tracing?: Tracing;
  /** The logger of the stack, to capture its lines; by default a JSON logger at DOORBELL_TEST_LOG_LEVEL (silent). */
  logger?: Logger;
}

/** An API key a test created, with its token. */
export interface TestApiKey {
  id: string;
  token: string;
  accountId: string;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * The real Doorbell stack for one test file: the API on a loopback port and a worker, both
 * connected to the MongoDB-compatible server and the Temporal dev server that `npm test` started.
 */
export class Stack {
  private server: Server | undefined;
  private worker: Worker | undefined;
  private workerRun: Promise<void> | undefined;
  private connection: NativeConnection | undefined;
  private metricsServer: MetricsServer | undefined;

  private constructor(
    readonly config: Config,
    readonly services: Services,
    readonly logger: Logger,
    private readonly options: StackOptions,
    /** An admin key, which `request` sends unless the call sets its own Authorization header. */
    readonly adminKey: TestApiKey,
  ) {}

  static async start(overrides: Record<string, string> = {}, options: StackOptions = {}): Promise<Stack> {
    const config = testConfig(overrides);
    const logger = options.logger ?? createLogger({ level: config.log.level, pretty: false, name: 'doorbell-test', ...(options.logDestination === undefined ? {} : { destination: options.logDestination }) });
    if (isRuntimeInstalled && options.sdkMetricsPort !== undefined) {
      throw new Error('sdkMetricsPort works only in the first Stack of a test file, because the Temporal SDK runtime is installed once per process');
    }
    if (!isRuntimeInstalled) {
      // The SDK's runtime is global to the process and is installed once, before the first worker.
      installTemporalRuntime(logger, options.sdkMetricsPort === undefined ? {} : { sdkMetricsAddress: `127.0.0.1:${options.sdkMetricsPort}` });
      isRuntimeInstalled = true;
    }
    const services = await openServices(config, logger, 'doorbell-test', options.tracing === undefined ? {} : { tracing: options.tracing });
    const adminKey = await createTestKey(services, 'admin', { name: 'test admin' });
    const stack = new Stack(config, services, logger, options, adminKey);
    await stack.startApi();
    await stack.startWorker();
    return stack;
  }

  async startApi(): Promise<void> {
    const app = createApp({ ...this.services, logger: this.logger, config: this.config }, this.options.tracing === undefined ? {} : { tracing: this.options.tracing });
    this.server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
  }

  async startWorker(): Promise<void> {
    this.connection = await NativeConnection.connect({ address: this.config.temporal.address });
    const doorbellWorker = await createWorker({
      config: this.config,
      services: this.services,
      connection: this.connection,
      logger: this.logger,
      workflowBundle: await workflowBundle({ tracing: this.options.tracing !== undefined }),
      ...(this.options.maxConcurrentActivityTaskExecutions === undefined ? {} : { maxConcurrentActivityTaskExecutions: this.options.maxConcurrentActivityTaskExecutions }),
      ...(this.options.tracing === undefined ? {} : { tracing: this.options.tracing }),
    });
    this.worker = doorbellWorker.worker;
    this.workerRun = doorbellWorker.run();
    if (this.options.workerMetrics === true) {
      this.metricsServer = await startMetricsServer(doorbellWorker.metrics.registry, { host: '127.0.0.1', port: 0, logger: this.logger });
    }
  }

  /** Stops the worker and its reconciler as a deploy would; pending deliveries wait in Temporal meanwhile. */
  async stopWorker(): Promise<void> {
    this.worker?.shutdown();
    await this.workerRun;
    await this.connection?.close();
    await this.metricsServer?.close();
    this.worker = undefined;
    this.metricsServer = undefined;
  }

  /** Metrics endpoint of the running worker, when the Stack was started with `workerMetrics`. */
  get workerMetricsUrl(): string {
    if (this.metricsServer === undefined) {
      throw new Error('worker metrics are not served: start the Stack with { workerMetrics: true } and a running worker');
    }
    return `${this.metricsServer.url}/metrics`;
  }

  get apiUrl(): string {
    const address = this.server?.address();
    if (typeof address !== 'object' || address === null) {
      throw new Error('API is not listening');
    }
    return `http://127.0.0.1:${address.port}`;
  }

  /** Creates an API key in the store, as an admin would through the API, and returns it with its token. */
  createApiKey(role: ApiKeyRole, options: { account?: string; name?: string } = {}): Promise<TestApiKey> {
    return createTestKey(this.services, role, options);
  }

  /**
   * Sends a JSON request to the API with the admin key and parses the JSON (or problem+json)
   * response. An `authorization` entry in `headers` replaces the admin key.
   */
  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
    const allHeaders = hasAuthorization ? headers : { authorization: `Bearer ${this.adminKey.token}`, ...headers };
    return this.send(method, path, body, allHeaders);
  }

  /** Sends a request like `request` with another key's token, or with no Authorization header when `token` is null. */
  requestAs<T = any>(token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    return this.send(method, path, body, token === null ? headers : { ...headers, authorization: `Bearer ${token}` });
  }

  private async send<T>(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  }

  async stop(): Promise<void> {
    if (this.worker !== undefined) {
      await this.stopWorker();
    }
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
    await this.services.store.db.dropDatabase();
    await this.services.close();
  }
}

async function createTestKey(services: Services, role: ApiKeyRole, options: { account?: string; name?: string }): Promise<TestApiKey> {
  const { key, token } = await createApiKey(services.store, { name: options.name ?? `test ${role}`, role, accountId: options.account });
  return { id: key._id, token, accountId: key.accountId };
}
