import { ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import { deliveryIdFor } from '../domain/ids.js';
import { acceptsEventType } from '../domain/event-type-filter.js';
import type { DeliveryDocument, EventDocument, SubscriptionDocument } from '../store/documents.js';
import type { Store } from '../store/mongo.js';
import { enqueueStreamedDelivery, startDelivery, type TemporalTarget } from '../temporal/start-workflows.js';
import { deliveryWorkflowId } from '../workflows/definitions.js';
import { DAY_MS, type RetrySchedule } from '../workflows/retry-schedule.js';
import { forEachConcurrently } from './concurrency.js';
import type { StartDeliveriesInput, StartDeliveriesResult } from './types.js';

/** Workflow starts in flight at once while a page is fanned out. */
const START_CONCURRENCY = 16;

/** Earlier versions a record stream is sent at most along with one event (see `earlierUndeliveredEvents`). */
const MAX_EARLIER_EVENTS = 100;

type Deps = { store: Store; temporal: TemporalTarget; pageSize: number; retrySchedule: RetrySchedule };

/** True for subscriptions whose deliveries of one record go through a record stream, one at a time. */
function isStreamed(subscription: SubscriptionDocument): boolean {
  return subscription.ordering === 'per-record' || subscription.mode === 'latest';
}

/**
 * Creates the activity that fans one page of an event's subscribers out: it records a pending
 * delivery for each and starts its workflow. Both steps are idempotent by id, so a retried page
 * creates and starts nothing twice.
 */
export function createStartDeliveries(deps: Deps) {
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
    await insertIgnoringDuplicates(deps.store, subscriptions.map((subscription) => pendingDelivery(event, subscription, now)));

    let started = 0;
    await forEachConcurrently(subscriptions, START_CONCURRENCY, async (subscription: SubscriptionDocument) => {
      if (isStreamed(subscription)) {
        await enqueueInRecordStream(deps, event, subscription);
        started++;
        heartbeat();
        return;
      }

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

function pendingDelivery(event: EventDocument, subscription: SubscriptionDocument, now: Date): DeliveryDocument {
  return {
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
  };
}

/**
 * Queues the event in the record stream of the subscription, together with the earlier versions
 * that the stream has not been sent yet. The dispatches of two versions run concurrently, so the
 * one of a newer version can reach the stream first. Sending the earlier versions along makes
 * the stream see them before the newer one, and the stream drops the repeat when their own
 * dispatch arrives.
 */
async function enqueueInRecordStream(deps: Deps, event: EventDocument, subscription: SubscriptionDocument): Promise<void> {
  const earlier = (await earlierUndeliveredEvents(deps.store, event, subscription)).filter((earlierEvent) => acceptsEventType(subscription, earlierEvent.type));
  if (earlier.length > 0) {
    const now = new Date();
    await insertIgnoringDuplicates(deps.store, earlier.map((earlierEvent) => pendingDelivery(earlierEvent, subscription, now)));
  }

  const stream = { subscriptionId: subscription._id, kind: event.kind, recordId: event.recordId, mode: subscription.mode ?? 'every-event' };
  for (const streamed of [...earlier, event]) {
    await enqueueStreamedDelivery(deps.temporal, stream, {
      deliveryId: deliveryIdFor(streamed._id, subscription._id),
      eventId: streamed._id,
      version: streamed.version,
      retryWindowMs: subscription.retryWindowDays === null ? null : subscription.retryWindowDays * DAY_MS,
      retrySchedule: deps.retrySchedule,
    });
  }
}

/**
 * Returns the events of the record between the highest version that already has a delivery to
 * this subscription and this event, written since the subscription was created, oldest first.
 * NOTE: an event written while the subscription was paused is among them, and so is sent to it.
 */
async function earlierUndeliveredEvents(store: Store, event: EventDocument, subscription: SubscriptionDocument): Promise<EventDocument[]> {
  const latestKnown = await store.deliveries
    .find({ subscriptionId: subscription._id, kind: event.kind, recordId: event.recordId, version: { $lt: event.version } })
    .sort({ version: -1 })
    .limit(1)
    .project<{ version: number }>({ version: 1 })
    .next();
  const fromVersion = latestKnown?.version ?? 0;
  if (fromVersion >= event.version - 1) {
    return [];
  }

  return store.events
    .find({ kind: event.kind, recordId: event.recordId, version: { $gt: fromVersion, $lt: event.version }, createdAt: { $gte: subscription.createdAt } })
    .sort({ version: 1 })
    .limit(MAX_EARLIER_EVENTS)
    .toArray();
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
