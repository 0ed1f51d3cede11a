/**
 * `npm test`: installs the local servers if missing, starts a MongoDB-compatible server and a
 * Temporal dev server on free loopback ports, runs every test file with node's test runner, and
 * stops the servers. `--unit` runs the unit tests only, without servers; test file paths given
 * as arguments run only those files.
 *
 * Where `unshare` can create one, the servers and tests run in a private network namespace that
 * has only a loopback interface. Temporal's time-skipping test server listens on every interface
 * and has no option to bind one address; inside the namespace it is unreachable from elsewhere.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DOORBELL_HOME,
  MONGO_COMPAT_SOURCE,
  PROJECT_ROOT,
  ensureServerBinaries,
  findFreePort,
  log,
  run,
  startMongo,
  startTemporalDevServer,
  type RunningServer,
} from './lib/local-servers.js';
import { canIsolateNetwork, runInIsolatedNetwork } from './lib/network-namespace.js';

function testFiles(folder: string): string[] {
  const root = path.join(PROJECT_ROOT, 'test', folder);
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .sort()
    .map((file) => path.join('test', folder, file));
}

const ISOLATED_VARIABLE = 'DOORBELL_TEST_NETWORK_ISOLATED';

/** Servers run in process groups of their own, so an interrupted run must stop them itself. */
const servers: RunningServer[] = [];

async function stopServers(): Promise<void> {
  for (const server of servers.splice(0).reverse()) {
    await server.stop();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopServers().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const unitOnly = process.argv.includes('--unit');
  if (!unitOnly && process.env[ISOLATED_VARIABLE] === undefined) {
    // Downloads and builds need the network, so they happen before entering the namespace.
    ensureServerBinaries();
    if (canIsolateNetwork()) {
      log('running the tests in a private network namespace (loopback only)');
      return runInIsolatedNetwork({ script: fileURLToPath(import.meta.url), args: process.argv.slice(2), markerVariable: ISOLATED_VARIABLE });
    }
    log('cannot create a network namespace (unshare); running on the host network, where the time-skipping tests skip themselves');
  }

  const named = process.argv.slice(2).filter((arg) => arg.endsWith('.test.ts'));
  let files = named;
  if (files.length === 0) {
    files = unitOnly ? testFiles('unit') : [...testFiles('unit'), ...testFiles('integration')];
  }

  if (!unitOnly && named.length === 0) {
    // The Go tests of the MongoDB-compatible server. Its build has already fetched their modules.
    log('go test in tools/mongo-compat');
    run('go', ['test', './...'], { cwd: MONGO_COMPAT_SOURCE });
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  const scratch = mkdtempSync(path.join(tmpdir(), 'doorbell-test-'));
  try {
    if (!unitOnly) {
      const binaries = ensureServerBinaries();
      const logDir = path.join(DOORBELL_HOME, 'logs', 'test');

      const mongo = await startMongo({ mongo: binaries.mongo, port: await findFreePort(), dataDir: path.join(scratch, 'mongo'), logFile: path.join(logDir, 'mongo.log') });
      servers.push(mongo);
      const temporal = await startTemporalDevServer({ binary: binaries.temporal, port: await findFreePort(), uiPort: null, dbFile: null, logFile: path.join(logDir, 'temporal.log') });
      servers.push(temporal);
      log(`test servers: MongoDB-compatible at ${mongo.uri}, Temporal at ${temporal.address}`);

      env.DOORBELL_TEST_MONGODB_URI = mongo.uri;
      env.DOORBELL_TEST_TEMPORAL_ADDRESS = temporal.address;
      env.DOORBELL_TEST_TEMPORAL_TEST_SERVER = binaries.temporalTestServer;
    }

    // One test file at a time: each starts its own worker, and two cores are shared with the servers.
    const runner = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit', env, cwd: PROJECT_ROOT });
    return await new Promise<number>((resolve) => runner.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))));
  } finally {
    await stopServers();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm test: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
