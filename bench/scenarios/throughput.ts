/**
 * throughput: writers send records as fast as the API accepts them, for a fixed time, to a kind
 * with 10 subscribers. It reports the deliveries per second sustained, the backlog of written but
 * undelivered webhooks when the writes stop, and the time to drain it.
 */
import { ApiClient, sampleRecord } from '../lib/api-client.js';
import { combineWindows, startCpuWindow, type CpuWindow } from '../lib/cpu.js';
import { runWithConcurrency, waitUntil } from '../lib/pacing.js';
import { startProgress } from '../lib/progress.js';
import { cpuTable } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { formatCount, formatNumber, summarize } from '../lib/stats.js';
import { warmUp } from '../lib/warm-up.js';

const SIZES = {
  full: { writeSeconds: 60, subscribers: 10, writers: 8, drainLimitSeconds: 900 },
  quick: { writeSeconds: 10, subscribers: 10, writers: 8, drainLimitSeconds: 60 },
};

/** Upper bound of writes, far above what 2 cores accept in the write window; the time limit ends the loop first. */
const MAX_WRITES = 1_000_000;
const KIND = 'throughput';

interface Sample {
  second: number;
  writes: number;
  delivered: number;
}

export const throughputScenario: Scenario = {
  name: 'throughput',
  summary: 'closed-loop writers as fast as the API accepts, 10 subscribers of the kind; sustained deliveries/s, backlog, drain time',
  async run(context) {
    const sizes = context.quick ? SIZES.quick : SIZES.full;
    const stack = await context.startStack('throughput');
    const api = new ApiClient(stack.apiUrl, stack.apiToken);
    const receiver = context.receiver;

    await warmUp(stack, api, receiver);
    for (let index = 0; index < sizes.subscribers; index++) {
      await api.createSubscription(`${KIND}/*`, receiver.url(`/throughput/subscriber-${index}`), receiver.secret);
    }

    let delivered = 0;
    const stopListening = receiver.onArrival((arrival) => {
      if (arrival.kind === KIND) {
        delivered++;
      }
    });

    // Writes and deliveries per second, for the timeline in the JSON results.
    const timeline: Sample[] = [];
    let writes = 0;
    const apiTimes: number[] = [];
    const startedAt = performance.now();
    const sampler = setInterval(() => timeline.push({ second: Math.round((performance.now() - startedAt) / 1000), writes, delivered }), 1000);

    const writeProgress = startProgress(`writes for ${sizes.writeSeconds} s`, sizes.writeSeconds, 's');
    const endWriteCpu = startCpuWindow(stack.pids);
    const loop = await runWithConcurrency({
      count: MAX_WRITES,
      concurrency: sizes.writers,
      timeLimitMs: sizes.writeSeconds * 1000,
      task: async (index) => {
        const result = await api.putRecord(KIND, `r-${index}`, sampleRecord(index));
        writes++;
        apiTimes.push(result.respondedAt - result.sentAt);
        writeProgress.update(Math.min(sizes.writeSeconds, Math.floor((performance.now() - startedAt) / 1000)), `${writes} writes, ${delivered} delivered`);
      },
    });
    const writeCpu = endWriteCpu();
    const writeSeconds = (performance.now() - startedAt) / 1000;
    writeProgress.update(sizes.writeSeconds, `${writes} writes, ${delivered} delivered`);
    writeProgress.stop();

    const expected = writes * sizes.subscribers;
    const deliveredAtStop = delivered;
    const backlog = expected - deliveredAtStop;

    const drainProgress = startProgress('drain the backlog', backlog, 'webhooks');
    const drainStartedAt = performance.now();
    const endDrainCpu = startCpuWindow(stack.pids);
    const drained = await waitUntil(() => delivered >= expected, {
      timeoutMs: sizes.drainLimitSeconds * 1000,
      pollMs: 200,
      onPoll: () => {
        stack.assertRunning();
        drainProgress.update(delivered - deliveredAtStop);
      },
    });
    const drainCpu = endDrainCpu();
    const drainSeconds = (performance.now() - drainStartedAt) / 1000;
    drainProgress.update(delivered - deliveredAtStop);
    drainProgress.stop();
    clearInterval(sampler);
    stopListening();

    const apiPut = summarize(apiTimes);
    const firstTenSeconds = timeline.find((sample) => sample.second >= 10);
    const lastTenSeconds = timeline.filter((sample) => sample.second <= Math.floor(writeSeconds));
    const writeRateFirst = firstTenSeconds === undefined ? Number.NaN : firstTenSeconds.writes / 10;
    const last = lastTenSeconds[lastTenSeconds.length - 1];
    const tenBefore = lastTenSeconds[lastTenSeconds.length - 11];
    const writeRateLast = last === undefined || tenBefore === undefined ? Number.NaN : (last.writes - tenBefore.writes) / (last.second - tenBefore.second);
    const deliveredInDrain = delivered - deliveredAtStop;

    await api.close();
    await stack.stop();

    const windows: Array<{ label: string; window: CpuWindow; webhooks?: number }> = [
      { label: 'writing', window: writeCpu },
      { label: 'draining', window: drainCpu },
      { label: 'both', window: combineWindows(writeCpu, drainCpu), webhooks: delivered },
    ];
    return {
      tables: [
        {
          title: `Throughput: ${sizes.writers} closed-loop writers for ${sizes.writeSeconds} s, ${sizes.subscribers} subscribers of the kind`,
          columns: ['writes', 'writes/s', 'delivered while writing', 'deliveries/s while writing', 'backlog at stop', 'drain time s', 'deliveries/s while draining', 'deliveries/s overall'],
          rows: [
            [
              formatCount(writes),
              formatNumber(writes / writeSeconds, 1),
              formatCount(deliveredAtStop),
              formatNumber(deliveredAtStop / writeSeconds, 1),
              formatCount(backlog),
              drained ? formatNumber(drainSeconds, 1) : `>${sizes.drainLimitSeconds} (${formatCount(expected - delivered)} left)`,
              formatNumber(deliveredInDrain / drainSeconds, 1),
              formatNumber(delivered / (writeSeconds + drainSeconds), 1),
            ],
          ],
          notes: [
            `Each write is a new record of kind ${KIND}, so each write is ${sizes.subscribers} webhooks. The backlog is counted in webhooks.`,
            `API PUT time: p50 ${formatNumber(apiPut.p50, 1)} ms, p99 ${formatNumber(apiPut.p99, 1)} ms. Writes/s in the first 10 s: ${formatNumber(writeRateFirst, 1)}, in the last 10 s: ${formatNumber(writeRateLast, 1)}.`,
            ...(drained ? [] : [`The drain stopped at its limit of ${sizes.drainLimitSeconds} s; the drain time is an estimate: ${formatNumber(drainSeconds + (expected - delivered) / (deliveredInDrain / drainSeconds), 0)} s at the drain rate measured.`]),
            ...(loop.failed > 0 ? [`${loop.failed} writes failed; the first error: ${loop.firstError}`] : []),
          ],
        },
        cpuTable('CPU while writing and while draining', windows),
      ],
      data: {
        sizes,
        writes,
        failedWrites: loop.failed,
        firstError: loop.firstError,
        writeSeconds,
        deliveredWhileWriting: deliveredAtStop,
        backlogAtStop: backlog,
        drained,
        drainSeconds,
        delivered,
        expected,
        apiPutMs: apiPut,
        writeRatePerSecond: { first10s: writeRateFirst, last10s: writeRateLast },
        cpu: { writing: writeCpu, draining: drainCpu },
        timeline,
      },
    };
  },
};
