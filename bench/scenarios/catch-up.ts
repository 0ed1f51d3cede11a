/**
 * catch-up: deliveries pending for an endpoint that was down. The endpoint responds 503 while
 * events are written, so each delivery fails once and waits on its next retry, 2 h later
 * (DELIVERY_RETRY_SCHEDULE=2h), as deliveries do after a 2 h outage with the default schedule.
 * Then the endpoint comes back and one more event is written. The scenario measures the time
 * from that recovery until the last waiting delivery arrives, which without the catch-up
 * would be about 2 h.
 */
import { ApiClient } from '../lib/api-client.js';
import { startCpuWindow, type CpuWindow } from '../lib/cpu.js';
import { runWithConcurrency, sleep, waitUntil } from '../lib/pacing.js';
import { startProgress } from '../lib/progress.js';
import { cpuTable } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { formatCount, formatNumber, percentile } from '../lib/stats.js';
import { warmUp } from '../lib/warm-up.js';

const SIZES = {
  full: { waitingDeliveries: 1_000, deliveryLimitSeconds: 600 },
  quick: { waitingDeliveries: 100, deliveryLimitSeconds: 120 },
};

/** Wakes per second of the catch-up: Doorbell's default CATCH_UP_RATE_PER_SECOND. */
const CATCH_UP_RATE_PER_SECOND = 50;
const RETRY_SCHEDULE = '2h';
const WRITE_CONCURRENCY = 16;
const WRITE_LIMIT_MS = 15 * 60_000;
const WAITING_LIMIT_MS = 10 * 60_000;
const KIND = 'catch-up';
const ENDPOINT_PATH = '/catch-up/endpoint';

interface CatchUpRun {
  waitingDeliveries: number;
  delivered: number;
  /** Seconds from the recovery (endpoint up, then the next write) to the first, median and last arrival of a waiting delivery. */
  firstSeconds: number;
  p50Seconds: number;
  lastSeconds: number;
  complete: boolean;
  cpu: CpuWindow;
}

export const catchUpScenario: Scenario = {
  name: 'catch-up',
  summary: 'deliveries waiting 2 h for an endpoint that was down; time from its recovery to the last one',
  async run(context) {
    const sizes = context.quick ? SIZES.quick : SIZES.full;
    const stack = await context.startStack('catch-up', { DELIVERY_RETRY_SCHEDULE: RETRY_SCHEDULE, CATCH_UP_RATE_PER_SECOND: String(CATCH_UP_RATE_PER_SECOND) });
    const api = new ApiClient(stack.apiUrl, stack.apiToken);
    const receiver = context.receiver;
    await warmUp(stack, api, receiver);

    const subscriptionId = await api.createSubscription(`${KIND}/*`, receiver.url(ENDPOINT_PATH), receiver.secret);
    receiver.setUnavailable(ENDPOINT_PATH);
    const total = sizes.waitingDeliveries;

    const writeProgress = startProgress(`write ${formatCount(total)} records while the endpoint is down`, total, 'writes');
    let written = 0;
    const writes = await runWithConcurrency({
      count: total,
      concurrency: WRITE_CONCURRENCY,
      timeLimitMs: WRITE_LIMIT_MS,
      task: async (index) => {
        await api.putRecord(KIND, `waiting-${index}`, { index });
        written++;
        writeProgress.update(written);
      },
    });
    writeProgress.stop();
    if (writes.failed > 0) {
      throw new Error(`${writes.failed} of ${total} writes failed; the first error: ${writes.firstError}`);
    }

    // Every delivery has failed once and waits on its 2 h timer when MongoDB shows it retrying.
    const deliveries = stack.mongo.db(stack.database).collection('deliveries');
    const waitingSince = performance.now();
    let waiting = 0;
    while (waiting < total) {
      if (performance.now() - waitingSince > WAITING_LIMIT_MS) {
        throw new Error(`only ${waiting} of ${total} deliveries were waiting for a retry after ${WAITING_LIMIT_MS / 1000} s`);
      }
      stack.assertRunning();
      await sleep(500);
      waiting = await deliveries.countDocuments({ subscriptionId, status: 'retrying' });
    }

    const arrivals: number[] = [];
    const stopListening = receiver.onArrival((arrival) => {
      if (arrival.kind === KIND && arrival.recordId.startsWith('waiting-')) {
        arrivals.push(arrival.arrivedAt);
      }
    });
    const deliveryProgress = startProgress(`catch up ${formatCount(total)} deliveries`, total, 'webhooks');
    const endCpuWindow = startCpuWindow(stack.pids);

    receiver.setUnavailable(null);
    const recoveredAt = performance.now();
    await api.putRecord(KIND, 'after-recovery', { recovered: true });
    const complete = await waitUntil(() => arrivals.length >= total, {
      timeoutMs: sizes.deliveryLimitSeconds * 1000,
      pollMs: 200,
      onPoll: () => {
        stack.assertRunning();
        deliveryProgress.update(arrivals.length);
      },
    });
    const cpu = endCpuWindow();
    deliveryProgress.update(arrivals.length);
    deliveryProgress.stop();
    stopListening();

    const secondsAfterRecovery = arrivals.map((arrivedAt) => (arrivedAt - recoveredAt) / 1000).sort((a, b) => a - b);
    const run: CatchUpRun = {
      waitingDeliveries: total,
      delivered: arrivals.length,
      firstSeconds: secondsAfterRecovery[0] ?? Number.NaN,
      p50Seconds: secondsAfterRecovery.length === 0 ? Number.NaN : percentile(secondsAfterRecovery, 50),
      lastSeconds: secondsAfterRecovery[secondsAfterRecovery.length - 1] ?? Number.NaN,
      complete,
      cpu,
    };

    await api.close();
    await stack.stop();

    const floorSeconds = total / CATCH_UP_RATE_PER_SECOND;
    return {
      tables: [
        {
          title: 'Catch-up: time from the endpoint\'s recovery until the waiting deliveries arrive (s)',
          columns: ['waiting deliveries', 'delivered', 'first', 'p50', 'last', 'webhooks/s', 'rate limit'],
          rows: [
            [
              formatCount(run.waitingDeliveries),
              formatCount(run.delivered),
              formatNumber(run.firstSeconds, 2),
              formatNumber(run.p50Seconds, 2),
              run.complete ? formatNumber(run.lastSeconds, 2) : `>${sizes.deliveryLimitSeconds} (incomplete)`,
              formatNumber(run.delivered / run.lastSeconds, 1),
              `${CATCH_UP_RATE_PER_SECOND}/s`,
            ],
          ],
          notes: [
            `Each delivery failed once against a 503 and waited on a ${RETRY_SCHEDULE} retry timer (DELIVERY_RETRY_SCHEDULE=${RETRY_SCHEDULE}).`,
            'Recovery: the endpoint responds 2xx again and one more record is written; its first attempt succeeds and starts the catch-up.',
            `CATCH_UP_RATE_PER_SECOND=${CATCH_UP_RATE_PER_SECOND} wakes at most that many deliveries a second, so ${formatCount(total)} take at least ${formatNumber(floorSeconds, 0)} s.`,
          ],
        },
        cpuTable('CPU from the recovery until the last waiting delivery arrived', [{ label: `${formatCount(total)} deliveries`, window: run.cpu, webhooks: run.delivered }]),
      ],
      data: { sizes, retrySchedule: RETRY_SCHEDULE, catchUpRatePerSecond: CATCH_UP_RATE_PER_SECOND, recoveryToLastSeconds: run.lastSeconds, run },
    };
  },
};
