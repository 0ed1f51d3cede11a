import type { AttemptOutcome, OperationalEventRequest } from '../activities/types.js';
import { OPERATIONAL_KIND, type DeliveryDocument, type SubscriptionDocument } from '../store/documents.js';

/** The fields of a delivery that its operational events carry. */
export type DeliverySummary = Pick<DeliveryDocument, '_id' | 'subscriptionId' | 'eventId' | 'eventType' | 'kind' | 'recordId' | 'version'>;

/** The failed attempt of one retry schedule after which `delivery.failing` is sent. */
export const FAILING_AFTER_ATTEMPTS = 4;

/**
 * Decides which operational events an attempt causes. Each gets a key that is the same however
 * often the attempt's activity runs, which makes the event, its delivery and its `webhook-id`
 * unique. Deliveries of operational events never cause operational events, so they cannot loop.
 */
export function operationalEventsAfter(options: {
  delivery: DeliverySummary;
  subscription: SubscriptionDocument;
  outcome: AttemptOutcome;
  attempt: number;
  retryStep: number;
  /** The failing streak start when this attempt disabled the subscription for its health. */
  disabledStreakStart: Date | null;
}): OperationalEventRequest[] {
  const { delivery, subscription, outcome, attempt } = options;
  if (delivery.kind === OPERATIONAL_KIND) {
    return [];
  }

  if (options.disabledStreakStart !== null) {
    const reason = subscription.statusReason ?? `every attempt failed since ${options.disabledStreakStart.toISOString()}`;
    return [subscriptionDisabled(subscription, `${subscription._id}:${options.disabledStreakStart.getTime()}`, reason, options.disabledStreakStart)];
  }

  switch (outcome.kind) {
    case 'gone':
      return [subscriptionDisabled(subscription, `${subscription._id}:gone:${delivery._id}:${attempt}`, 'endpoint responded 410 Gone', null)];
    case 'failed':
      if (outcome.plan.kind === 'give-up') {
        return [deliveryEvent('delivery.exhausted', delivery, attempt, outcome, null)];
      }
      if (options.retryStep === FAILING_AFTER_ATTEMPTS) {
        return [deliveryEvent('delivery.failing', delivery, attempt, outcome, new Date(outcome.plan.nextAttemptAtMs))];
      }
      return [];
    case 'delivered':
    case 'aborted':
    case 'skipped':
    case 'deferred':
      return [];
    default:
      return assertNever(outcome);
  }
}

function deliveryEvent(
  type: 'delivery.failing' | 'delivery.exhausted',
  delivery: DeliverySummary,
  attempt: number,
  outcome: Extract<AttemptOutcome, { kind: 'failed' }>,
  nextAttemptAt: Date | null,
): OperationalEventRequest {
  return {
    type,
    key: `${type}:${delivery._id}:${attempt}`,
    data: {
      subscriptionId: delivery.subscriptionId,
      deliveryId: delivery._id,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      record: { kind: delivery.kind, id: delivery.recordId, version: delivery.version },
      attemptCount: attempt,
      lastAttempt: { statusCode: outcome.statusCode, error: outcome.error },
      nextAttemptAt: nextAttemptAt?.toISOString() ?? null,
      reason: outcome.plan.kind === 'give-up' ? outcome.plan.reason : null,
    },
  };
}

function subscriptionDisabled(subscription: SubscriptionDocument, key: string, reason: string, failingSince: Date | null): OperationalEventRequest {
  return {
    type: 'subscription.disabled',
    key: `subscription.disabled:${key}`,
    data: {
      subscriptionId: subscription._id,
      target: subscription.target,
      url: subscription.url,
      reason,
      failingSince: failingSince?.toISOString() ?? null,
    },
  };
}

function assertNever(value: never): never {
  throw new Error(`unexpected attempt outcome: ${JSON.stringify(value)}`);
}
