import type { ApiClient } from './api-client.js';
import { sampleRecord } from './api-client.js';
import { waitUntil } from './pacing.js';
import type { BenchReceiver } from './receiver.js';
import type { BenchStack } from './stack.js';

const WARM_UP_WRITES = 10;
const WARM_UP_TIMEOUT_MS = 60_000;

/**
 * Writes a few records to a subscriber and waits for their webhooks, so the first measured
 * request does not pay for cold code paths, connection set-up and the first workflow tasks.
 */
export async function warmUp(stack: BenchStack, api: ApiClient, receiver: BenchReceiver): Promise<void> {
  const kind = 'warm-up';
  await api.createSubscription(`${kind}/*`, receiver.url('/warm-up'), receiver.secret);

  let arrived = 0;
  const stopListening = receiver.onArrival((arrival) => {
    if (arrival.kind === kind) {
      arrived++;
    }
  });
  try {
    for (let index = 0; index < WARM_UP_WRITES; index++) {
      await api.putRecord(kind, `r-${index}`, sampleRecord(index));
    }
    const done = await waitUntil(() => arrived >= WARM_UP_WRITES, { timeoutMs: WARM_UP_TIMEOUT_MS, onPoll: () => stack.assertRunning() });
    if (!done) {
      throw new Error(`warm-up: ${arrived} of ${WARM_UP_WRITES} webhooks arrived within ${WARM_UP_TIMEOUT_MS / 1000} s; see the logs in .doorbell/logs/bench/`);
    }
  } finally {
    stopListening();
  }
}
