/**
 * fan-out: one write to a record with many subscribers. It measures the time from the write's 2xx
 * until the last subscriber's webhook arrives. The subscriptions are created through the API first,
 * with bounded concurrency, and that rate is reported too.
 */
import { ApiClient } from '../lib/api-client.js';
import { startCpuWindow, type CpuWindow } from '../lib/cpu.js';
import { runWithConcurrency, waitUntil } from '../lib/pacing.js';
import { startProgress } from '../lib/progress.js';
import { cpuTable } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { formatCount, formatNumber, percentile } from '../lib/stats.js';
import { warmUp } from '../lib/warm-up.js';

const SIZES = {
  full: { subscribers: [1_000, 10_000], deliveryLimitSeconds: 1_800 },
  quick: { subscribers: [100, 500], deliveryLimitSeconds: 120 },
};

/** Subscription requests in flight at once while subscribers are created. */
const CREATE_CONCURRENCY = 16;
const CREATE_LIMIT_MS = 15 * 60_000;
const KIND = 'fan-out';

interface FanOutRun {
  subscribers: number;
  created: number;
  createSeconds: number;
  delivered: number;
  /** Seconds from the write's 2xx to the first, median, 99th percentile and last arrival. */
  firstSeconds: number;
  p50Seconds: number;
  p99Seconds: number;
  lastSeconds: number;
  complete: boolean;
  cpu: CpuWindow;
}

export const fanOutScenario: Scenario = {
  name: 'fan-out',
  summary: 'one write to a record with many subscribers; time until the last webhook arrives',
  async run(context) {
    const sizes = context.quick ? SIZES.quick : SIZES.full;
    const stack = await context.startStack('fan-out');
    const api = new ApiClient(stack.apiUrl, stack.apiToken);
    const receiver = context.receiver;
    await warmUp(stack, api, receiver);

    const runs: FanOutRun[] = [];
    for (const subscribers of sizes.subscribers) {
      const recordId = `record-${subscribers}`;

      const createProgress = startProgress(`create ${formatCount(subscribers)} subscriptions`, subscribers, 'subscriptions');
      let created = 0;
      const createStartedAt = performance.now();
      const creation = await runWithConcurrency({
        count: subscribers,
        concurrency: CREATE_CONCURRENCY,
        timeLimitMs: CREATE_LIMIT_MS,
        task: async (index) => {
          await api.createSubscription(`${KIND}/${recordId}`, receiver.url(`/fan-out/${subscribers}/subscriber-${index}`), receiver.secret);
          created++;
          createProgress.update(created);
        },
      });
      const createSeconds = (performance.now() - createStartedAt) / 1000;
      createProgress.stop();
      if (creation.failed > 0) {
        throw new Error(`${creation.failed} of ${subscribers} subscriptions were not created; the first error: ${creation.firstError}`);
      }

      const arrivals: number[] = [];
      const stopListening = receiver.onArrival((arrival) => {
        if (arrival.kind === KIND && arrival.recordId === recordId) {
          arrivals.push(arrival.arrivedAt);
        }
      });
      const deliveryProgress = startProgress(`deliver one write to ${formatCount(subscribers)}`, subscribers, 'webhooks');
      const endCpuWindow = startCpuWindow(stack.pids);
      const write = await api.putRecord(KIND, recordId, { status: 'published', subscribers });
      const complete = await waitUntil(() => arrivals.length >= subscribers, {
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

      const secondsAfterWrite = arrivals.map((arrivedAt) => (arrivedAt - write.respondedAt) / 1000).sort((a, b) => a - b);
      runs.push({
        subscribers,
        created,
        createSeconds,
        delivered: arrivals.length,
        firstSeconds: secondsAfterWrite[0] ?? Number.NaN,
        p50Seconds: secondsAfterWrite.length === 0 ? Number.NaN : percentile(secondsAfterWrite, 50),
        p99Seconds: secondsAfterWrite.length === 0 ? Number.NaN : percentile(secondsAfterWrite, 99),
        lastSeconds: secondsAfterWrite[secondsAfterWrite.length - 1] ?? Number.NaN,
        complete,
        cpu,
      });
    }

    await api.close();
    await stack.stop();

    return {
      tables: [
        {
          title: 'Fan-out: one write, time from its 2xx until the webhooks arrive (s)',
          columns: ['subscribers', 'delivered', 'first', 'p50', 'p99', 'last', 'webhooks/s', 'subscriptions created/s'],
          rows: runs.map((run) => [
            formatCount(run.subscribers),
            formatCount(run.delivered),
            formatNumber(run.firstSeconds, 2),
            formatNumber(run.p50Seconds, 2),
            formatNumber(run.p99Seconds, 2),
            run.complete ? formatNumber(run.lastSeconds, 2) : `>${sizes.deliveryLimitSeconds} (incomplete)`,
            formatNumber(run.delivered / run.lastSeconds, 1),
            formatNumber(run.created / run.createSeconds, 1),
          ]),
          notes: [
            `Subscriptions to one record (${KIND}/record-N), created with POST /v1/subscriptions, ${CREATE_CONCURRENCY} requests in flight.`,
            'Doorbell fans out in pages of DISPATCH_PAGE_SIZE (default 200) subscribers, starting 16 delivery workflows at a time in each page.',
          ],
        },
        cpuTable(
          'CPU from the write until the last webhook arrived',
          runs.map((run) => ({ label: `${formatCount(run.subscribers)} subscribers`, window: run.cpu, webhooks: run.delivered })),
        ),
      ],
      data: { sizes, createConcurrency: CREATE_CONCURRENCY, runs },
    };
  },
};
