import { continueAsNew, log, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { CatchUpWorkflowInput } from './definitions.js';

type Activities = ReturnType<typeof createActivities>;

/** One batch of wakes per call; the heartbeat timeout notices a worker that died mid-batch. */
const WAKE_OPTIONS = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

const BATCH_INTERVAL_MS = 1000;

/**
 * How long a finished catch-up stays open. A success in this time finds it still running and
 * starts no second one, so the deliveries it woke, which succeed in a burst, wake nothing twice.
 */
const QUIET_PERIOD_MS = 60_000;

/** Batches per run before continuing as new, so a catch-up of any size keeps a short history. */
const BATCHES_PER_RUN = 500;

const { wakeWaitingDeliveries } = proxyActivities<Activities>(WAKE_OPTIONS);

/**
 * Wakes every delivery of one subscription that waits on a retry timer, after an attempt to its
 * endpoint succeeded. It pages through the waiting deliveries in MongoDB in id order, one batch
 * of `ratePerSecond` per second, so the endpoint that just recovered gets at most that many
 * early attempts per second. Timers in workflow time make the rate deterministic on replay.
 *
 * NOTE: a delivery whose failing attempt records `retrying` after the pages have passed its id is
 * not woken, and waits for its scheduled retry or the next catch-up.
 */
export async function catchUpWorkflow(input: CatchUpWorkflowInput): Promise<{ woken: number }> {
  let afterDeliveryId = input.afterDeliveryId ?? null;
  let woken = input.woken ?? 0;

  for (let batch = 0; ; batch++) {
    if (batch >= BATCHES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      return await continueAsNew<typeof catchUpWorkflow>({ ...input, afterDeliveryId, woken });
    }

    const batchStartedAtMs = Date.now();
    const result = await wakeWaitingDeliveries({ subscriptionId: input.subscriptionId, afterDeliveryId, limit: input.ratePerSecond });
    woken += result.woken;
    if (result.lastDeliveryId === null) {
      break;
    }
    afterDeliveryId = result.lastDeliveryId;

    // The batch's own duration counts toward its second, so the rate stays at most ratePerSecond.
    const elapsedMs = Date.now() - batchStartedAtMs;
    if (elapsedMs < BATCH_INTERVAL_MS) {
      await sleep(BATCH_INTERVAL_MS - elapsedMs);
    }
  }

  log.info('Catch-up finished', { subscriptionId: input.subscriptionId, woken });
  await sleep(QUIET_PERIOD_MS);
  return { woken };
}
