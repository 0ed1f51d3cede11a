/**
 * `npm start`: runs the whole Doorbell stack on this machine. It starts the servers the user does
 * not already run: the Temporal dev server with its Web UI, persisted to .doorbell/data/temporal.db,
 * and a MongoDB-compatible server persisted to .doorbell/data/mongo. Then it starts the worker and
 * the API, prints the URLs, and stops everything on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadMongoConfig, loadWorkerMetricsConfig } from '../src/config.js';
import { openStore } from '../src/store/mongo.js';
import { ensureLocalAdminKey } from './lib/admin-key.js';
import {
  DOORBELL_HOME,
  PROJECT_ROOT,
  ensureServerBinaries,
  isPortOpen,
  log,
  startMongo,
  startTemporalDevServer,
  stopProcess,
  type RunningServer,
} from './lib/local-servers.js';

const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;
const MONGO_PORT = 27017;
/** How long the API and the worker each get to become ready; the worker bundles its workflows first. */
const READY_TIMEOUT_MS = 120_000;

const servers: RunningServer[] = [];
const children: ChildProcess[] = [];
let stopping: Promise<void> | undefined;

/** Returns the local encryption key for signing secrets, generating it on first run. */
function localEncryptionKey(): string {
  const keyFile = path.join(DOORBELL_HOME, 'encryption-key');
  if (!existsSync(keyFile)) {
    mkdirSync(DOORBELL_HOME, { recursive: true });
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    log(`generated a local encryption key for signing secrets in ${path.relative(PROJECT_ROOT, keyFile)}; set DOORBELL_ENCRYPTION_KEY in production`);
  }
  return readFileSync(keyFile, 'utf8').trim();
}

/**
 * Makes sure `.doorbell/admin-api-key` contains a valid admin key for the local API and the CLI.
 * The token itself is never printed, only the path of its file.
 */
async function localAdminKey(mongoUri: string): Promise<string> {
  const keyFile = path.join(DOORBELL_HOME, 'admin-api-key');
  const mongo = loadMongoConfig({ ...process.env, MONGODB_URI: mongoUri });
  const store = await openStore({ uri: mongo.uri, database: mongo.database, appName: 'doorbell-start' });
  try {
    const { created } = await ensureLocalAdminKey(store, keyFile);
    log(`${created ? 'created a local admin API key' : 'using the local admin API key'} in ${path.relative(PROJECT_ROOT, keyFile)}; send it as "Authorization: Bearer $(cat ${path.relative(PROJECT_ROOT, keyFile)})"`);
  } finally {
    await store.client.close();
  }
  return keyFile;
}

async function startTemporal(binary: string): Promise<{ address: string; uiUrl: string }> {
  if (process.env.TEMPORAL_ADDRESS !== undefined) {
    log(`using Temporal at ${process.env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS)`);
    return { address: process.env.TEMPORAL_ADDRESS, uiUrl: process.env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${TEMPORAL_UI_PORT}` };
  }
  if (await isPortOpen(TEMPORAL_PORT)) {
    log(`port ${TEMPORAL_PORT} is in use; assuming a Temporal server is already running there`);
    return { address: `127.0.0.1:${TEMPORAL_PORT}`, uiUrl: `http://127.0.0.1:${TEMPORAL_UI_PORT}` };
  }

  log(`starting the Temporal dev server (${binary})`);
  const temporal = await startTemporalDevServer({
    binary,
    port: TEMPORAL_PORT,
    uiPort: TEMPORAL_UI_PORT,
    dbFile: path.join(DOORBELL_HOME, 'data', 'temporal.db'),
    logFile: path.join(DOORBELL_HOME, 'logs', 'temporal.log'),
  });
  servers.push(temporal);
  return { address: temporal.address, uiUrl: `http://127.0.0.1:${TEMPORAL_UI_PORT}` };
}

async function startMongoServer(mongo: ReturnType<typeof ensureServerBinaries>['mongo']): Promise<string> {
  if (process.env.MONGODB_URI !== undefined) {
    log('using MongoDB at MONGODB_URI');
    return process.env.MONGODB_URI;
  }
  if (await isPortOpen(MONGO_PORT)) {
    log(`port ${MONGO_PORT} is in use; assuming a MongoDB server is already running there`);
    return `mongodb://127.0.0.1:${MONGO_PORT}/`;
  }

  log(mongo.kind === 'mongod' ? 'starting mongod from PATH' : 'starting the MongoDB-compatible server (FerretDB, SQLite backend)');
  const server = await startMongo({ mongo, port: MONGO_PORT, dataDir: path.join(DOORBELL_HOME, 'data', mongo.kind === 'mongod' ? 'mongod' : 'mongo'), logFile: path.join(DOORBELL_HOME, 'logs', 'mongo.log') });
  servers.push(server);
  return server.uri;
}

/** Runs one of Doorbell's own processes; its log lines go to this terminal. */
function startDoorbellProcess(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  // detached: a process group of its own, so Ctrl-C reaches only this launcher, which stops the
  // API first, then the worker, then the servers.
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: PROJECT_ROOT, env, stdio: 'inherit', detached: true });
  child.once('exit', (code, signal) => {
    if (stopping === undefined) {
      log(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push(child);
  return child;
}

/** Returns an HTTP URL's host part for a listen address, with 0.0.0.0 reached through loopback. */
function urlHost(host: string): string {
  if (host.includes(':')) {
    return `[${host}]`;
  }
  return host === '0.0.0.0' ? '127.0.0.1' : host;
}

/** Polls `url` until it responds 2xx; `name` is the process it belongs to, for the timeout error. */
async function waitUntilReady(name: string, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && stopping === undefined) {
    try {
      const response = await fetch(url);
      if (response.ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (stopping === undefined) {
    throw new Error(`the ${name} was not ready within ${READY_TIMEOUT_MS / 1000} s: ${url} did not respond 2xx`);
  }
}

/** Stops everything once; a second call (a second Ctrl-C, or a failure while stopping) waits for the first. */
async function stopAll(exitCode: number): Promise<never> {
  stopping ??= (async () => {
    log('stopping');
    // The API first, so no write arrives while the worker drains; the servers last.
    for (const child of children.reverse()) {
      await stopProcess(child, 15_000);
    }
    for (const server of servers.reverse()) {
      await server.stop();
    }
    log('stopped');
  })();
  await stopping;
  process.exit(exitCode);
}

async function main(): Promise<void> {
  // Ctrl-C in a terminal signals the whole group, so SIGINT comes from the terminal and again
  // from npm. `on` rather than `once`: a repeated signal must wait for the stop, not kill this
  // process halfway through it and leave the servers running.
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  // Parsed before anything starts, so an invalid value stops npm start at once, as it would stop the worker.
  const workerMetrics = loadWorkerMetricsConfig();
  const binaries = ensureServerBinaries({ needMongo: process.env.MONGODB_URI === undefined, needTemporal: process.env.TEMPORAL_ADDRESS === undefined });
  const temporal = await startTemporal(binaries.temporal);
  const mongoUri = await startMongoServer(binaries.mongo);
  const adminKeyFile = await localAdminKey(mongoUri);

  const port = process.env.PORT ?? '3000';
  const host = process.env.HOST ?? '127.0.0.1';
  const apiUrl = `http://${urlHost(host)}:${port}`;
  const metricsUrl = workerMetrics.port === 0 ? null : `http://${urlHost(workerMetrics.host)}:${workerMetrics.port}/metrics`;
  const sdkMetricsUrl = workerMetrics.sdkPort === 0 ? null : `http://${urlHost(workerMetrics.host)}:${workerMetrics.sdkPort}/metrics`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MONGODB_URI: mongoUri,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_UI_URL: temporal.uiUrl,
    DOORBELL_ENCRYPTION_KEY: process.env.DOORBELL_ENCRYPTION_KEY ?? localEncryptionKey(),
    PORT: port,
  };

  startDoorbellProcess('worker', 'src/worker.ts', env);
  startDoorbellProcess('API', 'src/api/main.ts', env);
  await waitUntilReady('API', `${apiUrl}/readyz`);
  // The worker opens its metrics endpoint once its workflows are bundled and it is about to poll.
  // With WORKER_METRICS_PORT=0 there is nothing to poll, so the banner may come before the worker is ready.
  if (metricsUrl !== null) {
    await waitUntilReady('worker', metricsUrl);
  }
  if (stopping !== undefined) {
    return;
  }

  process.stdout.write(
    [
      '',
      'Doorbell is running:',
      `  API           ${apiUrl}   (GET /readyz, PUT /v1/records/{kind}/{id}, ...)`,
      `  API reference ${apiUrl}/docs`,
      `  Metrics       ${metricsUrl ?? 'off (WORKER_METRICS_PORT=0)'}   (the worker's Doorbell metrics)`,
      `                ${sdkMetricsUrl ?? 'off (WORKER_SDK_METRICS_PORT=0)'}   (the worker's Temporal SDK metrics)`,
      `  Temporal UI   ${temporal.uiUrl}   (every dispatch and delivery, with its history)`,
      `  Temporal      ${temporal.address}`,
      `  MongoDB       ${mongoUri}`,
      `  Admin API key ${path.relative(PROJECT_ROOT, adminKeyFile)}   (the doorbell CLI and npm run demo read it)`,
      `  Logs of the servers: ${path.relative(PROJECT_ROOT, path.join(DOORBELL_HOME, 'logs'))}/`,
      '',
      'Try `npm run demo` in another terminal. Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

main().catch(async (error: unknown) => {
  process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n`);
  await stopAll(1);
});
