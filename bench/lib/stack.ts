/**
 * A fresh Doorbell stack for one scenario: a MongoDB-compatible server and a Temporal dev server
 * on free loopback ports, and Doorbell's API and worker as separate child processes, so the load
 * generator's CPU time is never counted as Doorbell's. Each scenario gets its own stack, so no
 * scenario runs against the data or the Temporal history that an earlier one left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { MongoClient } from 'mongodb';
import { createApiKey } from '../../src/domain/api-keys.js';
import type { ApiKeyDocument } from '../../src/store/documents.js';
import {
  PROJECT_ROOT,
  findFreePort,
  startMongo,
  startTemporalDevServer,
  stopProcess,
  type RunningServer,
  type ServerBinaries,
} from '../../scripts/lib/local-servers.js';
import { sleep } from './pacing.js';

// @temporalio/proto is CommonJS; its namespaces are reached through the default export.
const { TaskQueueType } = protos.temporal.api.enums.v1;

const API_READY_TIMEOUT_MS = 60_000;
/** The worker bundles the workflow code with webpack at start-up, which takes a while on 2 cores. */
const WORKER_READY_TIMEOUT_MS = 120_000;
const TEMPORAL_NAMESPACE = 'default';

/** Storage of the Temporal dev server's state: a SQLite file, or SQLite in memory. */
export type TemporalPersistence = 'file' | 'memory';

export interface StackOptions {
  /** Scenario name: it names the database, the task queue and the log files. */
  name: string;
  binaries: ServerBinaries;
  /** Directory for the servers' data; removed when the stack stops. */
  scratchDir: string;
  logDir: string;
  temporalPersistence: TemporalPersistence;
  /** Extra environment variables for the API and the worker, such as DELIVERY_RETRY_SCHEDULE. */
  env?: Record<string, string>;
}

/** Process ids of the stack's four server processes, the keys of the CPU columns. */
export type StackPids = {
  api: number;
  worker: number;
  temporal: number;
  mongo: number;
};

const activeStacks = new Set<BenchStack>();

/** Stops every stack still running, for a bench interrupted by a signal or an error. */
export async function stopAllStacks(): Promise<void> {
  for (const stack of [...activeStacks]) {
    await stack.stop();
  }
}

export class BenchStack {
  private stopping = false;
  private failure: string | null = null;

  private constructor(
    readonly apiUrl: string,
    /** Token of an admin API key that the bench created in MongoDB; every bench request sends it. */
    readonly apiToken: string,
    readonly database: string,
    readonly taskQueue: string,
    /** The bench's own Temporal client, for readiness checks and workflow histories. */
    readonly temporal: Client,
    /** The bench's own MongoDB client, for serverStatus and document counts. */
    readonly mongo: MongoClient,
    private readonly servers: RunningServer[],
    private readonly doorbellProcesses: { api: ChildProcess; worker: ChildProcess },
    private readonly dataDir: string,
    private readonly logDir: string,
  ) {
    activeStacks.add(this);
    for (const [name, child] of Object.entries(doorbellProcesses)) {
      child.once('exit', (code, signal) => {
        if (!this.stopping) {
          this.failure = `the Doorbell ${name} process exited unexpectedly (${signal ?? `code ${code}`}); see its log in ${path.relative(PROJECT_ROOT, this.logDir)}/`;
        }
      });
    }
  }

  get pids(): StackPids {
    const [mongo, temporal] = this.servers;
    return {
      api: this.doorbellProcesses.api.pid!,
      worker: this.doorbellProcesses.worker.pid!,
      temporal: temporal!.process.pid!,
      mongo: mongo!.process.pid!,
    };
  }

  /** Throws when the API or the worker has exited, so a scenario stops instead of waiting for its time limit. */
  assertRunning(): void {
    if (this.failure !== null) {
      throw new Error(this.failure);
    }
  }

  static async start(options: StackOptions): Promise<BenchStack> {
    const dataDir = path.join(options.scratchDir, options.name);
    const logFile = (component: string): string => path.join(options.logDir, `${options.name}-${component}.log`);
    mkdirSync(options.logDir, { recursive: true });

    const servers: RunningServer[] = [];
    const doorbell: Partial<Record<'api' | 'worker', ChildProcess>> = {};
    let stack: BenchStack | undefined;
    try {
      const mongo = await startMongo({ mongo: options.binaries.mongo, port: await findFreePort(), dataDir: path.join(dataDir, 'mongo'), logFile: logFile('mongo') });
      servers.push(mongo);
      const temporal = await startTemporalDevServer({
        binary: options.binaries.temporal,
        port: await findFreePort(),
        uiPort: null,
        dbFile: options.temporalPersistence === 'file' ? path.join(dataDir, 'temporal.db') : null,
        logFile: logFile('temporal'),
      });
      servers.push(temporal);

      const suffix = randomBytes(4).toString('hex');
      const database = `bench_${options.name.replaceAll('-', '_')}_${suffix}`;
      const taskQueue = `doorbell-bench-${options.name}-${suffix}`;
      const apiPort = await findFreePort();
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(apiPort),
        MONGODB_URI: mongo.uri,
        MONGODB_DATABASE: database,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE,
        TEMPORAL_TASK_QUEUE: taskQueue,
        DOORBELL_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        // Production refuses loopback; the bench's receivers listen on 127.0.0.1.
        DELIVERY_ALLOWED_CIDRS: '127.0.0.0/8',
        // 0 turns off the worker's two metrics endpoints, whose default ports are fixed (9464, 9465).
        WORKER_METRICS_PORT: '0',
        WORKER_SDK_METRICS_PORT: '0',
        // The bench sends all its load with one key, far past any per-key limit a deployment would set.
        API_RATE_LIMIT_REQUESTS: '0',
        // The bench's subscribers are paths of one receiver server, so they share one origin; the
        // default cap per origin would count them as one endpoint and bound the throughput.
        DELIVERY_MAX_CONCURRENT_PER_ENDPOINT: '100',
        ...options.env,
      };
      doorbell.worker = spawnDoorbellProcess('src/worker.ts', env, logFile('worker'));
      doorbell.api = spawnDoorbellProcess('src/api/main.ts', env, logFile('api'));

      const connection = await Connection.connect({ address: temporal.address });
      const temporalClient = new Client({ connection, namespace: TEMPORAL_NAMESPACE });
      const mongoClient = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 10_000 });
      await mongoClient.connect();
      const { token } = await createApiKey({ apiKeys: mongoClient.db(database).collection<ApiKeyDocument>('api_keys') }, { name: 'bench', role: 'admin' });

      stack = new BenchStack(`http://127.0.0.1:${apiPort}`, token, database, taskQueue, temporalClient, mongoClient, servers, { api: doorbell.api, worker: doorbell.worker }, dataDir, options.logDir);
      await stack.waitUntilReady();
      return stack;
    } catch (error) {
      if (stack !== undefined) {
        await stack.stop();
        throw error;
      }
      for (const child of [doorbell.api, doorbell.worker]) {
        if (child !== undefined) {
          await stopProcess(child);
        }
      }
      for (const server of servers.reverse()) {
        await server.stop();
      }
      throw error;
    }
  }

  /** Waits until the API responds 200 to /readyz and the worker polls its queue for workflow and activity tasks. */
  private async waitUntilReady(): Promise<void> {
    const apiDeadline = performance.now() + API_READY_TIMEOUT_MS;
    while (!(await this.isApiReady())) {
      this.assertRunning();
      if (performance.now() > apiDeadline) {
        throw new Error(`the Doorbell API at ${this.apiUrl} was not ready within ${API_READY_TIMEOUT_MS / 1000} s`);
      }
      await sleep(250);
    }

    const workerDeadline = performance.now() + WORKER_READY_TIMEOUT_MS;
    while (!(await this.isWorkerPolling())) {
      this.assertRunning();
      if (performance.now() > workerDeadline) {
        throw new Error(`the Doorbell worker did not poll task queue ${this.taskQueue} within ${WORKER_READY_TIMEOUT_MS / 1000} s`);
      }
      await sleep(250);
    }
  }

  private async isApiReady(): Promise<boolean> {
    try {
      const response = await fetch(`${this.apiUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  private async isWorkerPolling(): Promise<boolean> {
    for (const taskQueueType of [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
      const description = await this.temporal.workflowService.describeTaskQueue({ namespace: TEMPORAL_NAMESPACE, taskQueue: { name: this.taskQueue }, taskQueueType });
      if ((description.pollers ?? []).length === 0) {
        return false;
      }
    }
    return true;
  }

  /** Stops the API, then the worker, then the servers, and deletes the servers' data. */
  async stop(): Promise<void> {
    if (this.stopping) {
      return;
    }
    this.stopping = true;
    activeStacks.delete(this);
    await this.mongo.close();
    await this.temporal.connection.close();
    await stopProcess(this.doorbellProcesses.api, 15_000);
    await stopProcess(this.doorbellProcesses.worker, 15_000);
    for (const server of [...this.servers].reverse()) {
      await server.stop();
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Starts `node --import tsx <entry>` with its output in logFile, in a process group of its own. */
function spawnDoorbellProcess(entry: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'w' });
  // A process group of its own, so a Ctrl-C reaches only the bench, which stops the stack in order.
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}
