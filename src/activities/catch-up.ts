import { heartbeat, log } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Store } from '../store/mongo.js';
import { startCatchUp, type TemporalTarget } from '../temporal/start-workflows.js';
import { WAKE_SIGNAL } from '../workflows/definitions.js';
import { forEachConcurrently } from './concurrency.js';
import type { WakeWaitingDeliveriesInput, WakeWaitingDeliveriesResult } from './types.js';

/** Signals in flight at once while a batch is woken. */
const SIGNAL_CONCURRENCY = 16;

/**
 * Creates the activity that wakes one batch of a subscription's deliveries waiting on a retry
 * timer. It reads them from MongoDB, where each attempt records its status in the same write as
 * the attempt, because Temporal's visibility store is only eventually consistent.
 */
export function createWakeWaitingDeliveries(deps: { store: Store; temporal: TemporalTarget }) {
  return async function wakeWaitingDeliveries(input: WakeWaitingDeliveriesInput): Promise<WakeWaitingDeliveriesResult> {
    const filter = {
      subscriptionId: input.subscriptionId,
      status: 'retrying' as const,
      ...(input.afterDeliveryId === null ? {} : { _id: { $gt: input.afterDeliveryId } }),
    };
    const waiting = await deps.store.deliveries
      .find(filter)
      .sort({ _id: 1 })
      .limit(input.limit)
      .project<{ _id: string; workflowId: string }>({ workflowId: 1 })
      .toArray();

    let woken = 0;
    await forEachConcurrently(waiting, SIGNAL_CONCURRENCY, async (delivery) => {
      try {
        await deps.temporal.client.workflow.getHandle(delivery.workflowId).signal(WAKE_SIGNAL);
        woken++;
      } catch (error) {
        // The delivery ended since it was read; nothing waits any more.
        if (!(error instanceof WorkflowNotFoundError)) {
          throw error;
        }
      }
      heartbeat();
    });

    const last = waiting[waiting.length - 1];
    return { woken, lastDeliveryId: waiting.length < input.limit || last === undefined ? null : last._id };
  };
}

/**
 * How long this worker skips further catch-up starts for a subscription after it started one or
 * found one running. It matches the catch-up's quiet period, during which a start does nothing,
 * and spares the many successes of a catch-up burst one Temporal call each.
 */
const RECENT_CATCH_UP_MS = 60_000;

/** Subscription ids with a catch-up this worker started or found running, and until when to skip them. */
const recentCatchUps = new Map<string, number>();

/**
 * Starts the catch-up of a subscription after one of its attempts succeeded, if other deliveries
 * of the subscription wait on a retry timer. It runs only for a success that ends a failing
 * streak, so it costs one indexed query per recovery, not per attempt.
 *
 * A failure here is logged and not raised, because raising would retry the attempt activity and
 * send the webhook again. The waiting deliveries then keep their own timers.
 */
export async function startCatchUpIfWaiting(
  deps: { store: Store; temporal: TemporalTarget; catchUpRatePerSecond: number },
  subscriptionId: string,
): Promise<void> {
  const nowMs = Date.now();
  if ((recentCatchUps.get(subscriptionId) ?? 0) > nowMs) {
    return;
  }
  for (const [id, untilMs] of recentCatchUps) {
    if (untilMs <= nowMs) {
      recentCatchUps.delete(id);
    }
  }

  try {
    const waiting = await deps.store.deliveries.findOne({ subscriptionId, status: 'retrying' }, { projection: { _id: 1 } });
    if (waiting === null) {
      return;
    }
    const isNew = await startCatchUp(deps.temporal, { subscriptionId, ratePerSecond: deps.catchUpRatePerSecond });
    recentCatchUps.set(subscriptionId, nowMs + RECENT_CATCH_UP_MS);
    if (isNew) {
      log.info('Catch-up started: endpoint recovered while deliveries wait', { subscriptionId, ratePerSecond: deps.catchUpRatePerSecond });
    }
  } catch (error) {
    log.warn('Catch-up not started; the next successful attempt tries again', { subscriptionId, error: (error as Error).message });
  }
}
