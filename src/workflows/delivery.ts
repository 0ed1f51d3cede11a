import {
  CancellationScope,
  condition,
  continueAsNew,
  defineSignal,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { AttemptOutcome } from '../activities/types.js';
import {
  SEARCH_ATTRIBUTES,
  SUPERSEDE_SIGNAL,
  WAKE_SIGNAL,
  type DeliveryWorkflowInput,
  type DeliveryWorkflowResult,
  type SupersededBy,
} from './definitions.js';

type Activities = ReturnType<typeof createActivities>;

/**
 * One attempt is one activity call. HTTP failures are returned as outcomes, not thrown, so every
 * attempt lands in history with its status. Thrown errors mean Doorbell itself failed (MongoDB
 * unreachable, worker lost), and Temporal retries those without counting an attempt.
 */
const ATTEMPT_OPTIONS = {
  startToCloseTimeout: '2 minutes',
  // An attempt running longer than a few seconds heartbeats, so one lost with its worker is
  // retried about 10 s later rather than after the whole start-to-close timeout.
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

const BOOKKEEPING_OPTIONS = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/**
 * Attempts per run before the workflow continues as new, which keeps a years-long retry history
 * small. Deferrals count too, since each one adds an activity and a timer to the history.
 */
const ATTEMPTS_PER_RUN = 100;

/** Wait after a deferral before the first jitter; it doubles with each deferral in a row, up to the maximum. */
const DEFERRAL_BASE_DELAY_MS = 1_000;
const DEFERRAL_MAX_DELAY_MS = 10_000;

/**
 * Returns the wait after the n-th deferral in a row: the doubled base delay scaled by a random
 * factor from 0.5 to 1.5, so deliveries deferred together do not all come back at once. The
 * workflow's Math.random is seeded by Temporal, so a replay computes the same delay.
 */
function deferralDelayMs(consecutiveDeferrals: number): number {
  const baseMs = Math.min(DEFERRAL_BASE_DELAY_MS * 2 ** (consecutiveDeferrals - 1), DEFERRAL_MAX_DELAY_MS);
  return Math.round(baseMs * (0.5 + Math.random()));
}

const { attemptDelivery } = proxyActivities<Activities>(ATTEMPT_OPTIONS);
const { finishDelivery, emitOperationalEvents } = proxyActivities<Activities>(BOOKKEEPING_OPTIONS);

export const wakeSignal = defineSignal(WAKE_SIGNAL);
export const supersedeSignal = defineSignal<[SupersededBy]>(SUPERSEDE_SIGNAL);

/**
 * Delivers one event to one subscription: attempts, then waits on a durable timer by the retry
 * schedule, until the receiver responds 2xx or 410 Gone, aborts the delivery with the header
 * `webhook-delivery: abort`, the subscription stops, or the retry window ends. Cancelling the
 * workflow (pausing or deleting the subscription) ends it.
 */
export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<DeliveryWorkflowResult> {
  const retryDeadlineMs =
    input.retryDeadlineMs !== undefined
      ? input.retryDeadlineMs
      : input.retryWindowMs === null
        ? null
        : workflowInfo().runStartTime.getTime() + input.retryWindowMs;

  const previousAttempts = input.previousAttempts ?? 0;
  let attemptsMade = input.attemptsMade ?? 0;
  let attempt = previousAttempts + attemptsMade;

  // A wake that lands during an attempt is kept for the wait after it: that attempt may have
  // started before the endpoint recovered. Each attempt clears it, so a wake buys one early attempt.
  let isWakeRequested = false;
  let supersededBy = input.supersededBy ?? null;
  setHandler(wakeSignal, () => {
    isWakeRequested = true;
  });
  setHandler(supersedeSignal, (newer) => {
    if (supersededBy === null || newer.version > supersededBy.version) {
      supersededBy = newer;
    }
  });

  let consecutiveDeferrals = 0;
  try {
    for (let attemptsThisRun = 0; ; attemptsThisRun++) {
      if (supersededBy !== null) {
        return await finishSuperseded(input.deliveryId, attempt, supersededBy);
      }
      if (attemptsThisRun >= ATTEMPTS_PER_RUN || workflowInfo().continueAsNewSuggested) {
        return await continueAsNew<typeof deliveryWorkflow>({ ...input, retryDeadlineMs, attemptsMade, supersededBy });
      }

      attemptsMade++;
      attempt = previousAttempts + attemptsMade;
      isWakeRequested = false;
      const outcome = await attemptDelivery({
        deliveryId: input.deliveryId,
        eventId: input.eventId,
        subscriptionId: input.subscriptionId,
        attempt,
        retryStep: attemptsMade,
        scheduledAtMs: Date.now(),
        retryDeadlineMs,
        retrySchedule: input.retrySchedule,
      });
      if (outcome.operationalEvents !== undefined && outcome.operationalEvents.length > 0) {
        await emitOperationalEvents({ deliveryId: input.deliveryId, events: outcome.operationalEvents });
      }

      if (outcome.kind !== 'deferred') {
        consecutiveDeferrals = 0;
      }
      switch (outcome.kind) {
        case 'deferred':
          // Nothing was sent, so the attempt is not counted and the next try keeps its number.
          attemptsMade--;
          attempt = previousAttempts + attemptsMade;
          consecutiveDeferrals++;
          log.debug('Delivery deferred: endpoint at its concurrency cap', { deliveryId: input.deliveryId, origin: outcome.origin, consecutiveDeferrals });
          await condition(() => supersededBy !== null, deferralDelayMs(consecutiveDeferrals));
          break;
        case 'delivered':
          return await settle(input.deliveryId, outcome, 'succeeded', attempt, null);
        case 'gone':
          return await settle(input.deliveryId, outcome, 'failed', attempt, 'receiver responded 410 Gone; subscription disabled');
        case 'aborted':
          return await settle(input.deliveryId, outcome, 'aborted', attempt, `receiver responded HTTP ${outcome.statusCode} with webhook-delivery: abort`);
        case 'skipped':
          return finish('cancelled', attempt - 1, outcome.reason);
        case 'failed':
          if (outcome.plan.kind === 'give-up') {
            return await settle(input.deliveryId, outcome, 'failed', attempt, outcome.plan.reason);
          }
          setStatus('retrying');
          log.info('Delivery attempt failed, retrying later', {
            deliveryId: input.deliveryId,
            attempt,
            statusCode: outcome.statusCode,
            error: outcome.error,
            delayMs: outcome.plan.delayMs,
          });
          await condition(() => isWakeRequested || supersededBy !== null, outcome.plan.delayMs);
          if (isWakeRequested) {
            log.info('Delivery woken early: its endpoint recovered', { deliveryId: input.deliveryId, attempt });
          }
          break;
        default:
          return assertNever(outcome);
      }
    }
  } catch (error) {
    if (!isCancellation(error)) {
      throw error;
    }

    const reason = 'delivery cancelled: the subscription was paused or deleted, or the workflow was cancelled';
    await CancellationScope.nonCancellable(() => finishDelivery({ deliveryId: input.deliveryId, status: 'cancelled', reason }));
    setStatus('cancelled');
    throw error;
  }
}

/** Ends the delivery, first writing its final status when the attempt could not record it. */
async function settle(
  deliveryId: string,
  outcome: AttemptOutcome,
  status: 'succeeded' | 'failed' | 'aborted',
  attempts: number,
  reason: string | null,
): Promise<DeliveryWorkflowResult> {
  if (outcome.unrecorded === true) {
    await finishDelivery({ deliveryId, status, reason });
  }
  return finish(status, attempts, reason);
}

/** Ends a delivery that a newer version of its record replaced; the next run of the loop never attempts it. */
async function finishSuperseded(deliveryId: string, attempts: number, newer: SupersededBy): Promise<DeliveryWorkflowResult> {
  const reason = `superseded by version ${newer.version} (delivery ${newer.deliveryId})`;
  await finishDelivery({ deliveryId, status: 'superseded', reason, supersededBy: newer });
  log.info('Delivery superseded by a newer version', { deliveryId, supersededBy: newer.deliveryId, version: newer.version });
  return finish('superseded', attempts, reason);
}

function finish(status: DeliveryWorkflowResult['status'], attempts: number, reason: string | null): DeliveryWorkflowResult {
  setStatus(status);
  return { status, attempts, reason };
}

function setStatus(status: string): void {
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.deliveryStatus, value: status }]);
}

function assertNever(value: never): never {
  throw new Error(`unexpected attempt outcome: ${JSON.stringify(value)}`);
}
