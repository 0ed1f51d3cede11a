/**
 * latency: one subscriber, records written at a steady rate. For each write it measures the time
 * from the API's 2xx response to the arrival of that event's webhook at the receiver.
 */
import { ApiClient, sampleRecord } from '../lib/api-client.js';
import { startCpuWindow } from '../lib/cpu.js';
import { runAtRate, waitUntil } from '../lib/pacing.js';
import { startProgress } from '../lib/progress.js';
import { cpuTable, latencyCells } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { formatCount, formatNumber, summarize, type Summary } from '../lib/stats.js';
import { warmUp } from '../lib/warm-up.js';

/** Writes per run, shared with the baseline scenario, which repeats this run without Doorbell. */
export const LATENCY_WRITES = { full: 2_000, quick: 200 };

/** Maximum writes in flight. Past it the steady rate slips, and the "rate /s" column shows by how much. */
const MAX_IN_FLIGHT = 100;
/** Time allowed after the last write for its webhook to arrive. */
const ARRIVAL_TIMEOUT_MS = 60_000;
const KIND = 'latency';
/** Blocks of writes in the per-block table. */
const BLOCKS = 8;

interface WriteRecord {
  sentAt: number;
  /** null while in flight, and for a write that failed. */
  acknowledgedAt: number | null;
  eventId: string | null;
}

interface BlockSummary {
  first: number;
  writes: number;
  failed: number;
  apiPut: Summary;
  latency: Summary;
}

export const latencyScenario: Scenario = {
  name: 'latency',
  summary: 'one subscriber, writes at a steady rate; time from the write\'s 2xx to the webhook\'s arrival',
  async run(context) {
    const sizes = { writes: context.quick ? LATENCY_WRITES.quick : LATENCY_WRITES.full, perSecond: context.latencyPerSecond };
    const stack = await context.startStack('latency');
    const api = new ApiClient(stack.apiUrl, stack.apiToken);
    const receiver = context.receiver;

    await warmUp(stack, api, receiver);
    await api.createSubscription(`${KIND}/*`, receiver.url('/latency'), receiver.secret);

    const arrivals = new Map<string, number>();
    const stopListening = receiver.onArrival((arrival) => {
      if (arrival.kind === KIND) {
        arrivals.set(arrival.eventId, arrival.arrivedAt);
      }
    });

    // One entry per write, by index, so the report can show how the numbers change as events accumulate.
    const writes: WriteRecord[] = [];
    let acknowledged = 0;
    const progress = startProgress('writes at a steady rate', sizes.writes, 'writes');
    const endCpuWindow = startCpuWindow(stack.pids);
    const startedAt = performance.now();
    const loop = await runAtRate({
      count: sizes.writes,
      perSecond: sizes.perSecond,
      maxInFlight: MAX_IN_FLIGHT,
      timeLimitMs: (sizes.writes / sizes.perSecond) * 1000 + 60_000,
      task: async (index) => {
        writes[index] = { sentAt: performance.now(), acknowledgedAt: null, eventId: null };
        const result = await api.putRecord(KIND, `r-${index}`, sampleRecord(index));
        writes[index] = { sentAt: result.sentAt, acknowledgedAt: result.respondedAt, eventId: result.body.eventId };
        acknowledged++;
        progress.update(acknowledged, `${arrivals.size} delivered`);
      },
    });
    const writeSeconds = (performance.now() - startedAt) / 1000;
    const succeeded = writes.filter((write) => write.eventId !== null);
    await waitUntil(() => succeeded.every((write) => arrivals.has(write.eventId!)), {
      timeoutMs: ARRIVAL_TIMEOUT_MS,
      onPoll: () => {
        stack.assertRunning();
        progress.update(acknowledged, `${arrivals.size} delivered`);
      },
    });
    const cpu = endCpuWindow();
    progress.stop();
    stopListening();

    const latencyOf = (write: WriteRecord): number | undefined => {
      const arrivedAt = write.eventId === null ? undefined : arrivals.get(write.eventId);
      return arrivedAt === undefined || write.acknowledgedAt === null ? undefined : arrivedAt - write.acknowledgedAt;
    };
    const latencies = succeeded.map(latencyOf).filter((value): value is number => value !== undefined);
    const latency = summarize(latencies);
    const apiTimes = summarize(succeeded.map((write) => write.acknowledgedAt! - write.sentAt));
    const undelivered = succeeded.length - latencies.length;
    const blocks = summarizeBlocks(writes, latencyOf);

    await api.close();
    await stack.stop();

    return {
      tables: [
        {
          title: 'Doorbell delivery latency: from the write\'s 2xx to the webhook\'s arrival (ms)',
          columns: ['writes', 'rate /s', 'failed writes', 'delivered', 'undelivered', 'p50', 'p90', 'p99', 'max', 'API PUT p50', 'API PUT p99'],
          rows: [
            [
              formatCount(loop.started),
              formatNumber(loop.started / writeSeconds, 1),
              formatCount(loop.failed),
              formatCount(latencies.length),
              formatCount(undelivered),
              ...latencyCells(latency),
              formatNumber(apiTimes.p50, 1),
              formatNumber(apiTimes.p99, 1),
            ],
          ],
          notes: [
            `One subscription to ${KIND}/*, one new record per write. "rate /s" is the rate writes were sent at; the target was ${sizes.perSecond}/s.`,
            '"API PUT" is the time of the write request itself, from sending it to its 2xx response. Latency and PUT times cover the writes that succeeded.',
            ...(loop.failed > 0 ? [`${loop.failed} writes failed; the first error: ${loop.firstError}`] : []),
          ],
        },
        {
          title: `The same writes in blocks of ${blocks[0]?.writes ?? 0}, in the order sent (ms)`,
          columns: ['writes', 'writes sent before', 'failed writes', 'API PUT p50', 'API PUT p99', 'latency p50', 'latency p99'],
          rows: blocks.map((block) => [
            `${block.first + 1}-${block.first + block.writes}`,
            formatCount(block.first),
            formatCount(block.failed),
            formatNumber(block.apiPut.p50, 1),
            formatNumber(block.apiPut.p99, 1),
            formatNumber(block.latency.p50, 1),
            formatNumber(block.latency.p99, 1),
          ]),
          notes: ['Each write stores one event, so "writes sent before" is about the number of events in MongoDB when the block began.'],
        },
        cpuTable('CPU while writing and delivering', [{ label: 'writes and deliveries', window: cpu, webhooks: latencies.length }]),
      ],
      data: {
        sizes,
        sent: loop.started,
        failedWrites: loop.failed,
        firstError: loop.firstError,
        undelivered,
        latencyMs: latency,
        apiPutMs: apiTimes,
        blocks,
        cpu,
        samplesMs: latencies.map((value) => Math.round(value * 100) / 100),
      },
    };
  },
};

/** Splits the writes into BLOCKS blocks in the order sent and summarizes each. */
function summarizeBlocks(writes: WriteRecord[], latencyOf: (write: WriteRecord) => number | undefined): BlockSummary[] {
  const size = Math.max(1, Math.ceil(writes.length / BLOCKS));
  const blocks: BlockSummary[] = [];
  for (let first = 0; first < writes.length; first += size) {
    const block = writes.slice(first, first + size);
    const succeeded = block.filter((write) => write.acknowledgedAt !== null);
    blocks.push({
      first,
      writes: block.length,
      failed: block.length - succeeded.length,
      apiPut: summarize(succeeded.map((write) => write.acknowledgedAt! - write.sentAt)),
      latency: summarize(succeeded.map(latencyOf).filter((value): value is number => value !== undefined)),
    });
  }
  return blocks;
}
