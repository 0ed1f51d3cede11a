import type { SubscriptionDocument } from '../store/documents.js';
import type { Store } from '../store/mongo.js';

/**
 * Endpoint health: a subscription whose every attempt fails for a configured time is disabled.
 *
 * The subscription document carries two times, and each moves in one direction only:
 * `lastSuccessAt` forward with `$max` on each success, and `failingSince` backward with `$min` on
 * each failure. The failing streak is `failingSince` when it is after `lastSuccessAt`; otherwise
 * the endpoint is healthy. Every update is a single-field `$max`, `$min` or a `$set` guarded by
 * the value it replaces, so concurrent attempts agree in any order. This holds on FerretDB too,
 * where an update is a read and a write rather than one atomic step.
 */

type HealthFields = Pick<SubscriptionDocument, 'failingSince' | 'lastSuccessAt'>;

/** Returns the start of the current failing streak, or null when the endpoint is healthy. */
export function failingStreakStart(subscription: HealthFields): Date | null {
  const { failingSince, lastSuccessAt } = subscription;
  if (failingSince === undefined || failingSince === null) {
    return null;
  }
  if (lastSuccessAt !== undefined && lastSuccessAt !== null && failingSince.getTime() <= lastSuccessAt.getTime()) {
    return null;
  }
  return failingSince;
}

/** True when every attempt since the streak started has failed for at least `disableAfterMs`. */
export function isFailingTooLong(subscription: HealthFields, nowMs: number, disableAfterMs: number): boolean {
  const start = failingStreakStart(subscription);
  return start !== null && nowMs - start.getTime() >= disableAfterMs;
}

/** Records a successful attempt that started at `startedAt`, which ends any failing streak that began before it. */
export async function recordEndpointSuccess(store: Store, subscriptionId: string, startedAt: Date): Promise<void> {
  await store.subscriptions.updateOne({ _id: subscriptionId }, { $max: { lastSuccessAt: startedAt } });
}

/**
 * Records a failed attempt that started at `startedAt` and returns the subscription as stored
 * afterwards, for the disable check. A failure older than the last success changes nothing.
 */
export async function recordEndpointFailure(store: Store, subscription: SubscriptionDocument, startedAt: Date): Promise<SubscriptionDocument | null> {
  const current = (await store.subscriptions.findOne({ _id: subscription._id })) ?? subscription;
  const lastSuccessMs = current.lastSuccessAt?.getTime() ?? Number.NEGATIVE_INFINITY;

  if (startedAt.getTime() > lastSuccessMs) {
    if (failingStreakStart(current) === null) {
      // A new streak: replace the stale start only if no concurrent failure replaced it first.
      // Should two replace it at once, both values are after the last success, so either is right.
      const stale = current.failingSince === undefined ? { $exists: false } : current.failingSince;
      await store.subscriptions.updateOne({ _id: subscription._id, failingSince: stale }, { $set: { failingSince: startedAt } });
    } else {
      await store.subscriptions.updateOne({ _id: subscription._id }, { $min: { failingSince: startedAt } });
    }
  }
  return store.subscriptions.findOne({ _id: subscription._id });
}

/**
 * Disables an active subscription whose streak has lasted `disableAfterMs`. Returns the streak
 * start when this call disabled it, or null when it stays active or was not active.
 */
export async function disableIfFailingTooLong(store: Store, subscription: SubscriptionDocument, nowMs: number, disableAfterMs: number): Promise<Date | null> {
  if (subscription.status !== 'active' || !isFailingTooLong(subscription, nowMs, disableAfterMs)) {
    return null;
  }

  const start = failingStreakStart(subscription)!;
  const reason = `every attempt failed since ${start.toISOString()}, for longer than ${formatDuration(disableAfterMs)}`;
  const result = await store.subscriptions.updateOne(
    { _id: subscription._id, status: 'active' },
    { $set: { status: 'disabled', statusReason: reason, updatedAt: new Date(nowMs) } },
  );
  return result.modifiedCount === 1 ? start : null;
}

/** Formats milliseconds as the largest whole unit that fits, such as `5 days` or `90 seconds`. */
export function formatDuration(durationMs: number): string {
  const units: Array<[string, number]> = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ];
  for (const [name, unitMs] of units) {
    if (durationMs >= unitMs && durationMs % unitMs === 0) {
      const count = durationMs / unitMs;
      return `${count} ${name}${count === 1 ? '' : 's'}`;
    }
  }
  return `${durationMs} ms`;
}
