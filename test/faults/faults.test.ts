import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { FaultCluster, sleep, type ClusterOptions } from './cluster.js';
import { DeliveryLedger, type LedgerSummary, type ReceiverBehavior } from './ledger.js';
import { writeRecords, type LoadResult } from './load.js';

/** Events per scenario; FAULT_EVENTS lowers it for a quick local run. */
const EVENTS = Number(process.env.FAULT_EVENTS ?? '1000');
/**
 * Returns how long the deliveries of one scenario may take to arrive after its last accepted write: a
 * fixed part, plus a part per expected delivery, because this machine delivers about 10 webhooks
 * per second (docs/benchmarks.md). It bounds a wait, so a lost delivery fails the run; it is not
 * a speed target. FAULT_DRAIN_TIMEOUT_MS replaces it with a fixed bound.
 */
function drainTimeoutMs(expectedDeliveries: number): number {
  const fixed = process.env.FAULT_DRAIN_TIMEOUT_MS;
  return fixed === undefined ? 300_000 + expectedDeliveries * 150 : Number(fixed);
}
/** SIGKILLs of the worker in its scenario. */
const WORKER_KILLS = 3;
/** Resident memory the API may reach during the burst; load shedding keeps it far below. */
const BURST_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;
/** Upper bound of one scenario's write phase. */
const LOAD_TIMEOUT_MS = 600_000;

interface ScenarioRow extends LedgerSummary {
  scenario: string;
  drainSeconds: number;
  writes: Record<string, number>;
  notes: string;
}

const rows: ScenarioRow[] = [];

interface Scenario {
  name: string;
  subscribers: number;
  events?: number;
  concurrency?: number;
  pauseMs?: number;
  cluster?: ClusterOptions;
  behavior?: ReceiverBehavior;
  /** Runs the faults while the load runs, until `isLoadDone` returns true; returns a note for the table. */
  chaos: (cluster: FaultCluster, isLoadDone: () => boolean) => Promise<string>;
  /** Runs after the write phase, for checks of its own. */
  afterLoad?: (cluster: FaultCluster, load: LoadResult) => Promise<void>;
}

async function runScenario(scenario: Scenario): Promise<ScenarioRow> {
  const cluster = await FaultCluster.start(scenario.cluster);
  const ledger = new DeliveryLedger(scenario.subscribers);
  await ledger.start();
  if (scenario.behavior !== undefined) {
    ledger.behavior = scenario.behavior;
  }

  try {
    for (let subscriber = 0; subscriber < scenario.subscribers; subscriber++) {
      const response = await fetch(`${cluster.apiUrl}/v1/subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...cluster.authorization },
        body: JSON.stringify({ target: 'faults/*', url: ledger.urlFor(subscriber) }),
      });
      assert.equal(response.status, 201, `subscription ${subscriber}: ${await response.text()}`);
    }

    let isLoadDone = false;
    const chaos = scenario.chaos(cluster, () => isLoadDone);
    const load = await writeRecords({
      apiUrl: () => cluster.apiUrl,
      apiToken: cluster.apiToken,
      count: scenario.events ?? EVENTS,
      concurrency: scenario.concurrency ?? 8,
      pauseMs: scenario.pauseMs ?? 0,
      kind: 'faults',
      onAccepted: (eventId) => ledger.accept(eventId),
      deadlineMs: Date.now() + LOAD_TIMEOUT_MS,
    }).finally(() => {
      isLoadDone = true;
    });
    const notes = await chaos;
    await scenario.afterLoad?.(cluster, load);

    const summary = await ledger.waitForAll(drainTimeoutMs(ledger.summary().expected));
    let state = '';
    if (summary.missing > 0) {
      state = `; ${await cluster.describeState()}`;
      // CI keeps only what the run prints, so the last warnings and errors of the logs go to the output.
      for (const name of ['worker', 'api'] as const) {
        process.stderr.write(`last warnings and errors in ${name}.log of "${scenario.name}":\n${cluster.lastWarningsAndErrors(name, 20).join('\n')}\n`);
      }
    }
    const row: ScenarioRow = {
      scenario: scenario.name,
      ...summary,
      drainSeconds: Math.max(0, ledger.lastExpectedArrivalMs - load.lastAcceptedAtMs) / 1000,
      writes: load.responses,
      notes: notes + state,
    };
    rows.push(row);
    return row;
  } finally {
    await ledger.stop();
    await cluster.stop();
  }
}

function assertNothingLost(row: ScenarioRow): void {
  assert.ok(row.accepted > 0, 'no write was accepted');
  assert.equal(row.missing, 0, `${row.missing} of ${row.expected} deliveries never arrived (${row.notes})`);
  assert.equal(row.inconsistentIds, 0, 'a delivery arrived under two different webhook-ids');
  assert.equal(row.afterDeduplication, row.expected, 'a receiver deduplicating by webhook-id did not see exactly one of each');
}

describe('nothing accepted is lost', { concurrency: 1 }, () => {
  after(() => {
    printTable(rows);
  });

  test('worker killed and restarted', async () => {
    const row = await runScenario({
      name: 'worker SIGKILL',
      subscribers: 2,
      pauseMs: 20,
      chaos: async (cluster) => {
        // Three kills while writes flow. Each restart bundles the workflows again, so killing
        // more often mostly measures start-up time rather than recovery.
        for (let kill = 0; kill < WORKER_KILLS; kill++) {
          await sleep(5000);
          await cluster.killWorker();
          await sleep(1000);
          await cluster.startWorker();
        }
        return `worker killed ${WORKER_KILLS} times, 5 s apart, each restarted 1 s later`;
      },
    });
    assertNothingLost(row);
  });

  test('API killed between write and dispatch', async () => {
    let restarts = 0;
    const row = await runScenario({
      name: 'API SIGKILL after the MongoDB write',
      subscribers: 2,
      pauseMs: 20,
      // One write in fifty kills the API right after its event insert, before the workflow start.
      cluster: { apiEnv: { DOORBELL_FAULT_CRASH_AFTER_EVENT_INSERT: '0.02' } },
      chaos: async (cluster, isLoadDone) => {
        while (!isLoadDone()) {
          await sleep(200);
          if (!cluster.isApiRunning) {
            await cluster.startApi();
            restarts++;
          }
        }
        return `API crashed and restarted ${restarts} times; the reconciler dispatched what it left`;
      },
    });
    assert.ok(restarts > 0, 'the crash point never fired');
    assertNothingLost(row);
  });

  test('Temporal killed and restarted', async () => {
    const row = await runScenario({
      name: 'Temporal dev server SIGKILL',
      subscribers: 2,
      pauseMs: 20,
      chaos: async (cluster) => {
        await sleep(5000);
        await cluster.killTemporal();
        await sleep(3000);
        await cluster.startTemporal();
        return 'killed 5 s in, down 3 s, restarted on the same database file';
      },
    });
    assertNothingLost(row);
  });

  test('MongoDB stopped for 20 s', async () => {
    let unavailable = 0;
    const row = await runScenario({
      name: 'MongoDB stopped 20 s',
      subscribers: 2,
      pauseMs: 20,
      chaos: async (cluster) => {
        await sleep(5000);
        await cluster.stopMongo();
        await sleep(20_000);
        await cluster.startMongo();
        return 'stopped 5 s in, restarted 20 s later on the same data';
      },
      afterLoad: async (_cluster, load) => {
        unavailable = load.responses['503'] ?? 0;
      },
    });
    assert.ok(unavailable > 0, 'no write was answered 503 while MongoDB was down');
    assertNothingLost(row);
  });

  test('receivers fail in every way', async () => {
    const startedAt = Date.now();
    const row = await runScenario({
      name: 'receivers: 500, hang, reset, 429',
      subscribers: 4,
      pauseMs: 20,
      behavior: (subscriber, requestIndex) => {
        switch (subscriber) {
          case 0:
            return Date.now() - startedAt < 15_000 ? { status: 500 } : { status: 200 };
          case 1:
            return requestIndex % 7 === 0 ? 'hang' : { status: 200 };
          case 2:
            return requestIndex % 5 === 0 ? 'reset' : { status: 204 };
          case 3:
            return requestIndex % 3 === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 202 };
          default:
            return { status: 410 };
        }
      },
      chaos: async () => 'subscriber 0: 500 for 15 s; 1: hangs past the timeout; 2: resets; 3: 429 with Retry-After',
    });
    assertNothingLost(row);
  });

  test('receiver answering 410 is disabled', async () => {
    const cluster = await FaultCluster.start();
    const ledger = new DeliveryLedger(1);
    ledger.behavior = () => ({ status: 410 });
    await ledger.start();
    try {
      const created = await fetch(`${cluster.apiUrl}/v1/subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...cluster.authorization },
        body: JSON.stringify({ target: 'faults/*', url: ledger.urlFor(0) }),
      });
      const subscription = (await created.json()) as { id: string };
      await writeRecords({ apiUrl: () => cluster.apiUrl, apiToken: cluster.apiToken, count: 20, concurrency: 2, kind: 'faults', onAccepted: () => {}, deadlineMs: Date.now() + 60_000 });

      let status = '';
      for (let poll = 0; poll < 100 && status !== 'disabled'; poll++) {
        await sleep(200);
        const read = await fetch(`${cluster.apiUrl}/v1/subscriptions/${subscription.id}`, { headers: cluster.authorization });
        status = ((await read.json()) as { status: string }).status;
      }
      assert.equal(status, 'disabled');
    } finally {
      await ledger.stop();
      await cluster.stop();
    }
  });

  test('burst of writes is shed, not lost', async () => {
    let peakResidentBytes = 0;
    const row = await runScenario({
      name: 'burst at maximum rate',
      subscribers: 1,
      events: Number(process.env.FAULT_BURST_EVENTS ?? '10000'),
      concurrency: 64,
      cluster: { apiEnv: { MAX_IN_FLIGHT_REQUESTS: '32' } },
      chaos: async (cluster, isLoadDone) => {
        while (!isLoadDone()) {
          peakResidentBytes = Math.max(peakResidentBytes, await cluster.apiResidentBytes().catch(() => 0));
          await sleep(500);
        }
        return `64 writers against 32 in-flight requests; API peak memory ${(peakResidentBytes / 1024 / 1024).toFixed(0)} MiB`;
      },
    });
    assert.ok((row.writes['503'] ?? 0) > 0, 'the API never shed load');
    assert.ok(peakResidentBytes > 0, 'the API memory was never measured');
    assert.ok(peakResidentBytes < BURST_MEMORY_LIMIT_BYTES, `API resident memory peaked at ${peakResidentBytes} bytes`);
    assert.equal(row.writes['500'] ?? 0, 0, 'the API failed inside');
    assertNothingLost(row);
  });
});

function printTable(table: ScenarioRow[]): void {
  const header = ['scenario', 'events accepted', 'deliveries expected', 'received', 'missing', 'duplicates', 'wrong ids', 'after dedup', 'unaccepted delivered', 'drain s', 'notes'];
  const lines = table.map((row) =>
    [
      row.scenario,
      row.accepted,
      row.expected,
      row.received,
      row.missing,
      row.duplicates,
      row.inconsistentIds,
      row.afterDeduplication,
      row.unacceptedDelivered,
      row.drainSeconds.toFixed(1),
      row.notes,
    ].map(String),
  );
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;

  const output = [format(header), format(widths.map((width) => '-'.repeat(width))), ...lines.map(format)].join('\n');
  process.stdout.write(`\n${output}\n\n`);

  const folder = path.join('.doorbell', 'logs', 'faults');
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'last-run.json'), JSON.stringify({ finishedAt: new Date().toISOString(), events: EVENTS, rows: table }, null, 2));
  writeFileSync(path.join(folder, 'last-run.md'), `${output}\n`);
}
