import { ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import { deliveryIdFor } from '../domain/ids.js';
import { acceptsEventType } from '../domain/event-type-filter.js';
import type { DeliveryDocument, SubscriptionDocument } from '../store/documents.js';
import type { Store } from '../store/mongo.js';
import { startDelivery, type TemporalTarget } from '../temporal/start-workflows.js';
import { deliveryWorkflowId } from '../workflows/definitions.js';
import type { RetrySchedule } from '../workflows/retry-schedule.js';
import type { StartDeliveriesInput, StartDeliveriesResult } from './types.js';

/** Workflow starts in flight at once while a page is fanned out. */
const START_CONCURRENCY = 16;

/**
 * Creates the activity that fans one page of an event's subscribers out: it records a pending
 * delivery for each and starts its workflow. Both steps are idempotent by id, so a retried page
 * creates and starts nothing twice.
 */
export function createStartDeliveries(deps: { store: Store; temporal: TemporalTarget; pageSize: number; retrySchedule: RetrySchedule }) {
  return async function startDeliveries(input: StartDeliveriesInput): Promise<StartDeliveriesResult> {
    const event = await deps.store.events.findOne({ _id: input.eventId });
    if (event === null) {
      throw ApplicationFailure.nonRetryable(`event ${input.eventId} not found`, 'EventNotFound');
    }

    const filter = {
      target: { $in: [`${event.kind}/${event.recordId}`, `${event.kind}/*`] },
      status: 'active' as const,
      ...(input.afterSubscriptionId === null ? {} : { _id: { $gt: input.afterSubscriptionId } }),
    };
    let subscriptions = await deps.store.subscriptions.find(filter).sort({ _id: 1 }).limit(deps.pageSize).toArray();
    if (subscriptions.length === 0) {
      return { started: 0, nextAfterSubscriptionId: null };
    }

    const last = subscriptions[subscriptions.length - 1]!;
    const nextAfterSubscriptionId = subscriptions.length < deps.pageSize ? null : last._id;
    // Filtered here rather than in the query, so the page boundary stays the unfiltered one.
    subscriptions = subscriptions.filter((subscription) => acceptsEventType(subscription, event.type));

    const now = new Date();
    const deliveries: DeliveryDocument[] = subscriptions.map((subscription) => ({
      _id: deliveryIdFor(event._id, subscription._id),
      eventId: event._id,
      eventType: event.type,
      subscriptionId: subscription._id,
      kind: event.kind,
      recordId: event.recordId,
      version: event.version,
      status: 'pending',
      statusReason: null,
      attemptCount: 0,
      attempts: [],
      nextAttemptAt: now,
      workflowId: deliveryWorkflowId(event._id, subscription._id),
      createdAt: now,
      updatedAt: now,
    }));
    await insertIgnoringDuplicates(deps.store, deliveries);

    let started = 0;
    await forEachConcurrently(subscriptions, START_CONCURRENCY, async (subscription: SubscriptionDocument) => {
      const isNew = await startDelivery(
        deps.temporal,
        {
          deliveryId: deliveryIdFor(event._id, subscription._id),
          eventId: event._id,
          subscriptionId: subscription._id,
          kind: event.kind,
          recordId: event.recordId,
          retryWindowDays: subscription.retryWindowDays,
          retrySchedule: deps.retrySchedule,
        },
        { rerun: false },
      );
      if (isNew) {
        started++;
      }
      heartbeat();
    });

    log.info('Deliveries started', { eventId: event._id, started, pageSize: subscriptions.length });
    return { started, nextAfterSubscriptionId };
  };
}

export async function insertIgnoringDuplicates(store: Store, deliveries: DeliveryDocument[]): Promise<void> {
  try {
    await store.deliveries.insertMany(deliveries, { ordered: false });
  } catch (error) {
    // An earlier try of this page inserted some of them; only duplicate keys are expected here.
    const writeErrors = (error as { writeErrors?: Array<{ code: number }> | { code: number } }).writeErrors;
    let list: Array<{ code: number }> = [];
    if (Array.isArray(writeErrors)) {
      list = writeErrors;
    } else if (writeErrors !== undefined) {
      list = [writeErrors];
    }
    if (list.length === 0 || list.some((writeError) => writeError.code !== 11000)) {
      throw error;
    }
  }
}

async function forEachConcurrently<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(runners);
}
