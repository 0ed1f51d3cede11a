/**
 * `npm run bench`: measures Doorbell on this machine and prints one table per scenario.
 *
 * It installs the local servers if missing, then, where `unshare` can create one, runs itself
 * again in a private network namespace with only a loopback interface, as `npm test` does. Each
 * scenario starts a fresh stack on free loopback ports: a MongoDB-compatible server, a Temporal
 * dev server, and Doorbell's API and worker as separate processes. The load generator and the
 * webhook receivers run in this process. Results go to bench-results/ as JSON, with the tables as
 * Markdown beside them.
 *
 *   npm run bench                          every scenario at full size (67 min on 2 shared cores)
 *   npm run bench -- --quick               small sizes, a smoke run (4.5 min there)
 *   npm run bench -- --scenario latency    one scenario; repeat the option for several
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DOORBELL_HOME, PROJECT_ROOT, ensureServerBinaries, log } from '../scripts/lib/local-servers.js';
import { canIsolateNetwork, runInIsolatedNetwork } from '../scripts/lib/network-namespace.js';
import { readLoadAverage } from './lib/cpu.js';
import { describeMachine } from './lib/machine.js';
import { BenchReceiver } from './lib/receiver.js';
import type { BenchContext, Scenario, ScenarioResult } from './lib/scenario.js';
import { BenchStack, stopAllStacks, type TemporalPersistence } from './lib/stack.js';
import { renderMarkdownTable, renderTable } from './lib/table.js';
import { baselineScenario } from './scenarios/baseline.js';
import { catchUpScenario } from './scenarios/catch-up.js';
import { costScenario } from './scenarios/cost.js';
import { fanOutScenario } from './scenarios/fan-out.js';
import { latencyScenario } from './scenarios/latency.js';
import { pollingScenario } from './scenarios/polling.js';
import { throughputScenario } from './scenarios/throughput.js';

/** In run order. The baseline runs right after latency, so the two share the machine's conditions. */
const SCENARIOS: Scenario[] = [latencyScenario, baselineScenario, throughputScenario, fanOutScenario, catchUpScenario, pollingScenario, costScenario];

const ISOLATED_VARIABLE = 'DOORBELL_BENCH_NETWORK_ISOLATED';

/** The servers' data of this run, removed at the end and when a signal stops the run. */
let scratchDir: string | undefined;

/**
 * Default write rate of the latency scenario. On 2 cores a run at 20 writes/s queued (p50 12.7 s,
 * docs/benchmarks.md), so the default is lower, to measure a delivery rather than a queue.
 */
const DEFAULT_LATENCY_RATE = 5;

const USAGE = `Usage: npm run bench -- [--quick] [--scenario NAME]... [--latency-rate PER_SECOND] [--temporal-db file|memory]

  --quick                    small sizes, for a smoke run
  --scenario NAME            run only this scenario; repeat it for several. Names: ${SCENARIOS.map((scenario) => scenario.name).join(', ')}
  --latency-rate PER_SECOND  writes per second of the latency and baseline scenarios (default ${DEFAULT_LATENCY_RATE})
  --temporal-db MODE         where the Temporal dev server keeps its state: file (SQLite file, as npm start does;
                             default) or memory (SQLite in memory)
`;

interface BenchOptions {
  quick: boolean;
  latencyPerSecond: number;
  scenarios: Scenario[];
  temporalPersistence: TemporalPersistence;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      'latency-rate': { type: 'string', default: String(DEFAULT_LATENCY_RATE) },
      'temporal-db': { type: 'string', default: 'file' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }

  const names = (values.scenario ?? []).flatMap((value) => value.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.map((name) => JSON.stringify(name)).join(', ')}; the scenarios are ${SCENARIOS.map((scenario) => scenario.name).join(', ')}`);
  }
  const latencyPerSecond = Number(values['latency-rate']);
  if (!Number.isFinite(latencyPerSecond) || latencyPerSecond <= 0 || latencyPerSecond > 1000) {
    throw new Error(`invalid --latency-rate ${JSON.stringify(values['latency-rate'])}; give writes per second, more than 0 and at most 1000`);
  }
  const persistence = values['temporal-db'];
  if (persistence !== 'file' && persistence !== 'memory') {
    throw new Error(`invalid --temporal-db ${JSON.stringify(persistence)}; use file or memory`);
  }

  return {
    quick: values.quick,
    latencyPerSecond,
    scenarios: names.length === 0 ? SCENARIOS : SCENARIOS.filter((scenario) => names.includes(scenario.name)),
    temporalPersistence: persistence,
  };
}

/** One scenario's entry in the JSON results file. */
interface ScenarioRecord {
  name: string;
  startedAt: string;
  seconds: number;
  loadAverageBefore: number[];
  benchEventLoopDelayMs: { p99: number; max: number };
  /** Webhooks the receiver counted during this scenario, warm-up included. */
  receiver: { received: number; rejected: number; duplicates: number };
  data: unknown;
  error?: string;
}

async function runScenarios(options: BenchOptions): Promise<void> {
  const binaries = ensureServerBinaries();
  const machine = describeMachine(binaries);
  const startedAt = new Date();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  process.stdout.write(
    [
      `Doorbell benchmark, ${options.quick ? 'quick' : 'full'} sizes, started ${startedAt.toISOString()}`,
      `  command: ${command}`,
      `  machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node.js ${machine.node}`,
      `  servers: ${machine.temporalCli.split('\n', 1)[0]}; ${machine.mongoServer}; Temporal state: ${options.temporalPersistence === 'file' ? 'SQLite file' : 'SQLite in memory'}`,
      `  load average before: ${machine.loadAverageBefore.join(', ')}`,
      '',
    ].join('\n'),
  );

  const runScratchDir = mkdtempSync(path.join(tmpdir(), 'doorbell-bench-'));
  scratchDir = runScratchDir;
  const logDir = path.join(DOORBELL_HOME, 'logs', 'bench');
  const receiver = new BenchReceiver();
  await receiver.start();

  const results = new Map<string, ScenarioResult>();
  const records: ScenarioRecord[] = [];
  const context: BenchContext = {
    quick: options.quick,
    latencyPerSecond: options.latencyPerSecond,
    binaries,
    temporalPersistence: options.temporalPersistence,
    receiver,
    startStack: async (name, env) => {
      const stackStartedAt = performance.now();
      const stack = await BenchStack.start({ name, binaries, scratchDir: runScratchDir, logDir, temporalPersistence: options.temporalPersistence, ...(env === undefined ? {} : { env }) });
      process.stderr.write(`  stack ready in ${((performance.now() - stackStartedAt) / 1000).toFixed(1)} s (MongoDB, Temporal, API, worker polling)\n`);
      return stack;
    },
    earlierResults: results,
  };

  const resultsDir = path.join(PROJECT_ROOT, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `${startedAt.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}-${options.quick ? 'quick' : 'full'}.json`);
  // Saved after every scenario, so an interrupted run keeps what it measured.
  const saveResults = (): void => {
    const receiverCounts = { received: receiver.received, rejected: receiver.rejected, duplicates: receiver.duplicates };
    const header = { command, quick: options.quick, latencyPerSecond: options.latencyPerSecond, temporalPersistence: options.temporalPersistence, startedAt: startedAt.toISOString(), machine };
    writeFileSync(resultsFile, `${JSON.stringify({ ...header, loadAverageAfter: readLoadAverage(), receiver: receiverCounts, scenarios: records }, null, 2)}\n`);
    writeFileSync(resultsFile.replace(/\.json$/, '.md'), renderResultsMarkdown(results));
  };

  try {
    for (const scenario of options.scenarios) {
      const record = await runScenario(scenario, context);
      records.push(record.record);
      if (record.result !== undefined) {
        results.set(scenario.name, record.result);
      }
      saveResults();
    }
  } finally {
    await receiver.stop();
    removeScratchDir();
  }

  process.stdout.write(
    `Receiver: ${receiver.received} webhooks with valid signatures, ${receiver.rejected} rejected, ${receiver.duplicates} duplicates.\n` +
      `Load average after: ${readLoadAverage().join(', ')}. Results: ${path.relative(PROJECT_ROOT, resultsFile)}, tables as Markdown in the .md file beside it.\n`,
  );
  const failures = records.filter((record) => record.error !== undefined).length;
  if (failures > 0) {
    throw new Error(`${failures} of ${options.scenarios.length} scenarios failed; see the messages above and the logs in ${path.relative(PROJECT_ROOT, logDir)}/`);
  }
}

/** Runs one scenario, prints its tables, and stops its stack even when it fails. */
async function runScenario(scenario: Scenario, context: BenchContext): Promise<{ record: ScenarioRecord; result?: ScenarioResult }> {
  process.stdout.write(`== ${scenario.name}: ${scenario.summary}\n`);
  const loadAverageBefore = readLoadAverage();
  const startedAt = new Date();
  const receiver = context.receiver;
  const receivedBefore = { received: receiver.received, rejected: receiver.rejected, duplicates: receiver.duplicates };
  const eventLoopDelay = monitorEventLoopDelay({ resolution: 10 });
  eventLoopDelay.enable();
  const finish = (data: unknown, error?: string): ScenarioRecord => {
    eventLoopDelay.disable();
    const delay = { p99: eventLoopDelay.percentile(99) / 1e6, max: eventLoopDelay.max / 1e6 };
    const received = {
      received: receiver.received - receivedBefore.received,
      rejected: receiver.rejected - receivedBefore.rejected,
      duplicates: receiver.duplicates - receivedBefore.duplicates,
    };
    const timing = { startedAt: startedAt.toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000 };
    return { name: scenario.name, ...timing, loadAverageBefore, benchEventLoopDelayMs: delay, receiver: received, data, ...(error === undefined ? {} : { error }) };
  };

  try {
    const result = await scenario.run(context);
    const record = finish(result.data);
    for (const table of result.tables) {
      process.stdout.write(`\n${renderTable(table)}`);
    }
    const delay = record.benchEventLoopDelayMs;
    process.stdout.write(`\n  bench process event-loop delay: p99 ${delay.p99.toFixed(1)} ms, max ${delay.max.toFixed(1)} ms (timestamps taken in this process can be late by up to this much)\n`);
    process.stdout.write(`  receiver: ${record.receiver.received} webhooks with valid signatures, ${record.receiver.rejected} rejected, ${record.receiver.duplicates} duplicates (a webhook-id that had arrived before)\n\n`);
    return { record, result };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`\nscenario ${scenario.name} failed: ${message}\n\n`);
    return { record: finish(null, message) };
  } finally {
    await stopAllStacks();
  }
}

function removeScratchDir(): void {
  if (scratchDir !== undefined) {
    rmSync(scratchDir, { recursive: true, force: true });
    scratchDir = undefined;
  }
}

function renderResultsMarkdown(results: ReadonlyMap<string, ScenarioResult>): string {
  const sections = [...results].map(([name, result]) => {
    const tables = result.tables.map((table) => [`${table.title}\n`, renderMarkdownTable(table), ...(table.notes ?? []).map((note) => `- ${note}`)].join('\n'));
    return [`## ${name}`, ...tables].join('\n\n');
  });
  return `${sections.join('\n\n')}\n`;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (process.env[ISOLATED_VARIABLE] === undefined) {
    // Installs need the network, so they happen before entering the namespace.
    ensureServerBinaries();
    if (canIsolateNetwork()) {
      log('running the benchmark in a private network namespace (loopback only)');
      return runInIsolatedNetwork({ script: fileURLToPath(import.meta.url), args: process.argv.slice(2), markerVariable: ISOLATED_VARIABLE });
    }
    log('cannot create a network namespace (unshare); running on the host network, where every server still listens on 127.0.0.1 only');
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stopAllStacks().finally(() => {
        removeScratchDir();
        process.exit(130);
      });
    });
  }
  await runScenarios(options);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`npm run bench: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAllStacks();
    process.exit(1);
  },
);
