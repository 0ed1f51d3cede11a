/**
 * A Doorbell deployment of real processes for the fault suite: the MongoDB-compatible server, the
 * Temporal dev server persisted to a file, the API and the worker. A scenario can kill each of
 * them with SIGKILL and start it again on the same port and data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import {
  DOORBELL_HOME,
  PROJECT_ROOT,
  ensureServerBinaries,
  findFreePort,
  startMongo,
  startTemporalDevServer,
  stopProcess,
  type RunningServer,
  type ServerBinaries,
} from '../../scripts/lib/local-servers.js';
import { createApiKey } from '../../src/domain/api-keys.js';
import type { ApiKeyDocument } from '../../src/store/documents.js';

/** Start-up budget of the API and the worker; generous, because the suite loads both cores. */
const START_TIMEOUT_MS = 120_000;

export interface ClusterOptions {
  /** Extra environment of the API and the worker, such as a crash point. */
  apiEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
}

export class FaultCluster {
  readonly scratch = mkdtempSync(path.join(tmpdir(), 'doorbell-faults-'));
  readonly logDir = path.join(DOORBELL_HOME, 'logs', 'faults');
  private binaries: ServerBinaries = ensureServerBinaries();
  private mongo: RunningServer | undefined;
  private temporal: RunningServer | undefined;
  private api: ChildProcess | undefined;
  private worker: ChildProcess | undefined;
  private ports = { mongo: 0, temporal: 0, api: 0 };
  /** Token of an admin API key, created in MongoDB before the API starts. */
  apiToken = '';
  private readonly env: NodeJS.ProcessEnv;

  private constructor(private readonly options: ClusterOptions) {
    const suffix = randomBytes(4).toString('hex');
    this.env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      // Info, because the worker reports readiness with its "Worker started" line.
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'false',
      MONGODB_DATABASE: `faults_${suffix}`,
      TEMPORAL_TASK_QUEUE: `doorbell-faults-${suffix}`,
      DOORBELL_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      // Fast waits, so receivers that fail for a while recover within the run.
      DELIVERY_RETRY_SCHEDULE: '1s,2s,3s',
      DELIVERY_ATTEMPT_TIMEOUT_MS: '2000',
      DELIVERY_ALLOWED_CIDRS: '127.0.0.0/8',
      RECONCILER_INTERVAL_MS: '1000',
      RECONCILER_MIN_AGE_MS: '3000',
      // Several workers run on one host here, so none takes the fixed metrics ports.
      WORKER_METRICS_PORT: '0',
      WORKER_SDK_METRICS_PORT: '0',
      // The load comes from one key, faster than a per-key limit would allow.
      API_RATE_LIMIT_REQUESTS: '0',
      // Every subscriber's receiver is a path of one loopback server, so they share one origin;
      // the default cap per origin would count them as one endpoint.
      DELIVERY_MAX_CONCURRENT_PER_ENDPOINT: '100',
    };
  }

  static async start(options: ClusterOptions = {}): Promise<FaultCluster> {
    const cluster = new FaultCluster(options);
    cluster.ports = { mongo: await findFreePort(), temporal: await findFreePort(), api: await findFreePort() };
    cluster.env.MONGODB_URI = `mongodb://127.0.0.1:${cluster.ports.mongo}/`;
    cluster.env.TEMPORAL_ADDRESS = `127.0.0.1:${cluster.ports.temporal}`;
    cluster.env.PORT = String(cluster.ports.api);

    await cluster.startMongo();
    cluster.apiToken = await cluster.createAdminKey();
    await cluster.startTemporal();
    await cluster.startWorker();
    await cluster.startApi();
    return cluster;
  }

  /** Headers that authenticate a request with the cluster's admin key. */
  get authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.apiToken}` };
  }

  private async createAdminKey(): Promise<string> {
    const client = new MongoClient(this.env.MONGODB_URI!, { serverSelectionTimeoutMS: 10_000 });
    try {
      const { token } = await createApiKey({ apiKeys: client.db(this.env.MONGODB_DATABASE).collection<ApiKeyDocument>('api_keys') }, { name: 'fault suite', role: 'admin' });
      return token;
    } finally {
      await client.close();
    }
  }

  /**
   * Describes the cluster's state for a scenario that lost deliveries: whether each process still
   * runs, events the API accepted but never dispatched, and deliveries by stored status. A
   * delivery stored as pending or retrying was still on its way. One that succeeded yet never
   * arrived was lost.
   */
  async describeState(): Promise<string> {
    const processes = Object.entries({ api: this.api, worker: this.worker, temporal: this.temporal?.process, mongo: this.mongo?.process })
      .map(([name, child]) => `${name} ${describeProcess(child)}`)
      .join(', ');
    const client = new MongoClient(this.env.MONGODB_URI!, { serverSelectionTimeoutMS: 10_000 });
    try {
      const db = client.db(this.env.MONGODB_DATABASE);
      const [events, undispatched, statuses] = await Promise.all([
        db.collection('events').countDocuments({}),
        db.collection('events').countDocuments({ dispatchedAt: null }),
        db.collection('deliveries').aggregate<{ _id: string; count: number }>([{ $group: { _id: '$status', count: { $sum: 1 } } }]).toArray(),
      ]);
      const byStatus = JSON.stringify(Object.fromEntries(statuses.map((group) => [group._id, group.count])));
      return `processes: ${processes}; events stored ${events}, never dispatched ${undispatched}; deliveries by status ${byStatus}`;
    } catch (error) {
      return `processes: ${processes}; reading MongoDB failed: ${(error as Error).message}`;
    } finally {
      await client.close();
    }
  }

  /** Returns the last warning and error lines of a Doorbell process's log, each cut to `width` characters. */
  lastWarningsAndErrors(name: 'api' | 'worker', count: number, width = 600): string[] {
    let text: string;
    try {
      text = readFileSync(path.join(this.logDir, `${name}.log`), 'utf8');
    } catch {
      return [];
    }
    // pino levels: 40 is warn, 50 error, 60 fatal. Lines that are not JSON (a crash's stack) count too.
    const lines = text.split('\n').filter((line) => line !== '' && !/^\{"level":[123]0,/.test(line));
    return lines.slice(-count).map((line) => line.slice(0, width));
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  async startMongo(): Promise<void> {
    this.mongo = await startMongo({ mongo: this.binaries.mongo, port: this.ports.mongo, dataDir: path.join(this.scratch, 'mongo'), logFile: path.join(this.logDir, 'mongo.log') });
  }

  async stopMongo(): Promise<void> {
    await this.mongo?.stop();
    this.mongo = undefined;
  }

  async startTemporal(): Promise<void> {
    this.temporal = await startTemporalDevServer({
      binary: this.binaries.temporal,
      port: this.ports.temporal,
      uiPort: null,
      dbFile: path.join(this.scratch, 'temporal.db'),
      logFile: path.join(this.logDir, 'temporal.log'),
    });
  }

  /** Kills the Temporal dev server with SIGKILL, as a crash would. */
  async killTemporal(): Promise<void> {
    await this.killChild(this.temporal?.process);
    this.temporal = undefined;
  }

  async startApi(): Promise<void> {
    this.api = this.spawnDoorbell('api', 'src/api/main.ts', this.options.apiEnv);
    await this.waitForApi();
  }

  async killApi(): Promise<void> {
    await this.killChild(this.api);
    this.api = undefined;
  }

  /** True while the API process runs; a crash point may have killed it. */
  get isApiRunning(): boolean {
    return this.api !== undefined && this.api.exitCode === null && this.api.signalCode === null;
  }

  async startWorker(): Promise<void> {
    this.worker = this.spawnDoorbell('worker', 'src/worker.ts', this.options.workerEnv);
    await waitForOutput(this.worker, /"msg":"Worker started"/, START_TIMEOUT_MS, 'worker');
  }

  async killWorker(): Promise<void> {
    await this.killChild(this.worker);
    this.worker = undefined;
  }

  /** Returns the resident memory of the API process in bytes, read from /proc. */
  async apiResidentBytes(): Promise<number> {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${this.api?.pid}/status`, 'utf8');
    const kilobytes = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? '0');
    return kilobytes * 1024;
  }

  async stop(): Promise<void> {
    for (const child of [this.api, this.worker]) {
      if (child !== undefined) {
        await stopProcess(child, 10_000);
      }
    }
    await this.temporal?.stop();
    await this.mongo?.stop();
    rmSync(this.scratch, { recursive: true, force: true });
  }

  private spawnDoorbell(name: string, entry: string, extraEnv: Record<string, string> = {}): ChildProcess {
    mkdirSync(this.logDir, { recursive: true });
    const log = createWriteStream(path.join(this.logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: PROJECT_ROOT, env: { ...this.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    return child;
  }

  private async waitForApi(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.api?.signalCode !== null) {
        // Killed while starting, by its crash point under writes that already flow: the caller
        // sees isApiRunning false and starts it again.
        return;
      }
      if (this.api?.exitCode !== null) {
        throw new Error(`the API exited with code ${this.api?.exitCode} while starting; see ${this.logDir}/api.log`);
      }
      try {
        const response = await fetch(`${this.apiUrl}/readyz`);
        if (response.ok) {
          return;
        }
      } catch {
        // Not listening yet.
      }
      await sleep(200);
    }
    throw new Error(`the API was not ready within ${START_TIMEOUT_MS / 1000} s; see ${this.logDir}/api.log`);
  }

  private async killChild(child: ChildProcess | undefined): Promise<void> {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      seen = (seen + chunk.toString('utf8')).slice(-10_000);
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} while starting`));
    });
  });
}

/** Returns whether a child process runs, exited or was killed, for a failure message. */
function describeProcess(child: ChildProcess | undefined): string {
  if (child === undefined) {
    return 'not started';
  }
  if (child.exitCode !== null) {
    return `exited with code ${child.exitCode}`;
  }
  return child.signalCode === null ? 'running' : `killed by ${child.signalCode}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
