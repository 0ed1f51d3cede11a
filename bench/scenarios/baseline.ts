/**
 * baseline: the latency run without Doorbell. This process builds the same webhook body, signs it
 * with the standardwebhooks package and POSTs it with undici to the same receiver, at the same
 * rate. No Temporal and no MongoDB are involved, so Doorbell's latency divided by this one is the
 * factor that its durability costs.
 */
import { Agent, request } from 'undici';
import { Webhook } from 'standardwebhooks';
import { buildWebhookBody } from '../../src/domain/payload.js';
import { sampleRecord } from '../lib/api-client.js';
import { runAtRate, waitUntil } from '../lib/pacing.js';
import { startProgress } from '../lib/progress.js';
import { latencyCells } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { formatCount, formatNumber, summarize, type Summary } from '../lib/stats.js';
import { LATENCY_WRITES } from './latency.js';

const KIND = 'baseline';
const WARM_UP_SENDS = 10;
const ARRIVAL_TIMEOUT_MS = 30_000;
const MAX_IN_FLIGHT = 100;

export const baselineScenario: Scenario = {
  name: 'baseline',
  summary: 'the latency run as a plain in-process signed POST (standardwebhooks + undici), without Temporal or MongoDB',
  async run(context) {
    const sizes = { writes: context.quick ? LATENCY_WRITES.quick : LATENCY_WRITES.full, perSecond: context.latencyPerSecond };
    const receiver = context.receiver;
    const url = receiver.url('/baseline');
    const webhook = new Webhook(receiver.secret);
    // The same keep-alive settings as Doorbell's sender (src/activities/send-webhook.ts).
    const agent = new Agent({ keepAliveTimeout: 10_000 });

    const arrivals = new Map<string, number>();
    const stopListening = receiver.onArrival((arrival) => {
      if (arrival.kind === KIND) {
        arrivals.set(arrival.eventId, arrival.arrivedAt);
      }
    });

    const startTimes = new Map<string, number>();
    const send = async (index: number): Promise<void> => {
      const now = new Date();
      const eventId = `evt_baseline_${index}`;
      const body = buildWebhookBody({
        _id: eventId,
        type: 'record.created',
        kind: KIND,
        recordId: `r-${index}`,
        version: 1,
        dataJson: JSON.stringify(sampleRecord(index)),
        createdAt: now,
        recordCreatedAt: now,
        dispatchedAt: null,
      });
      startTimes.set(eventId, performance.now());
      const webhookId = `dlv_baseline_${index}`;
      const response = await request(url, {
        dispatcher: agent,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': webhookId,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': webhook.sign(webhookId, now, body),
        },
        body,
      });
      await response.body.dump();
      if (response.statusCode !== 204) {
        throw new Error(`the receiver responded HTTP ${response.statusCode} to a baseline webhook, expected 204`);
      }
    };

    for (let index = 0; index < WARM_UP_SENDS; index++) {
      await send(sizes.writes + index);
    }
    arrivals.clear();
    startTimes.clear();

    const progress = startProgress('signed POSTs at a steady rate', sizes.writes, 'webhooks');
    const startedAt = performance.now();
    const loop = await runAtRate({
      count: sizes.writes,
      perSecond: sizes.perSecond,
      maxInFlight: MAX_IN_FLIGHT,
      timeLimitMs: (sizes.writes / sizes.perSecond) * 1000 + 60_000,
      task: async (index) => {
        await send(index);
        progress.update(arrivals.size);
      },
    });
    const sendSeconds = (performance.now() - startedAt) / 1000;
    await waitUntil(() => arrivals.size >= startTimes.size, { timeoutMs: ARRIVAL_TIMEOUT_MS });
    progress.update(arrivals.size);
    progress.stop();
    stopListening();
    await agent.close();

    const latencies = [...startTimes].filter(([eventId]) => arrivals.has(eventId)).map(([eventId, startedAtMs]) => arrivals.get(eventId)! - startedAtMs);
    const latency = summarize(latencies);

    const doorbell = (context.earlierResults.get('latency')?.data as { latencyMs?: Summary } | undefined)?.latencyMs;
    const rows = [['plain signed POST', formatCount(startTimes.size), formatNumber(startTimes.size / sendSeconds, 1), formatCount(latencies.length), ...latencyCells(latency)]];
    if (doorbell !== undefined) {
      rows.push(['Doorbell (latency scenario)', formatCount(doorbell.count), 'see latency', formatCount(doorbell.count), ...latencyCells(doorbell)]);
      const ratio = (key: keyof Summary): string => `${formatNumber(doorbell[key] / latency[key], 0)}×`;
      rows.push(['ratio Doorbell / plain', '', '', '', ratio('p50'), ratio('p90'), ratio('p99'), ratio('max')]);
    }

    return {
      tables: [
        {
          title: 'Baseline: time from building the event to its arrival at the receiver (ms)',
          columns: ['sender', 'webhooks', 'rate /s', 'delivered', 'p50', 'p90', 'p99', 'max'],
          rows,
          notes: [
            'The plain sender builds the body (buildWebhookBody), signs it and POSTs it over a keep-alive undici Agent from this process.',
            'Doorbell\'s latency starts at the write\'s 2xx, when the event is stored and its dispatch workflow started.',
            ...(doorbell === undefined ? ['Run the latency scenario in the same run (it runs first by default) to get the ratio.'] : []),
            ...(loop.failed > 0 ? [`${loop.failed} sends failed; the first error: ${loop.firstError}`] : []),
          ],
        },
      ],
      data: { sizes, sent: startTimes.size, failed: loop.failed, firstError: loop.firstError, latencyMs: latency, samplesMs: latencies.map((value) => Math.round(value * 100) / 100) },
    };
  },
};
