import { ApplicationFailure, log } from '@temporalio/activity';
import { deliveryIdFor, newEventId } from '../domain/ids.js';
import { acceptsEventType } from '../domain/event-type-filter.js';
import { OPERATIONAL_KIND, type EventDocument } from '../store/documents.js';
import { isDuplicateKeyError, type Store } from '../store/mongo.js';
import { startDelivery, type TemporalTarget } from '../temporal/start-workflows.js';
import type { RetrySchedule } from '../workflows/retry-schedule.js';
import { newDeliveryDocument } from './delivery-documents.js';
import { insertIgnoringDuplicates } from './start-deliveries.js';
import type { EmitOperationalEventsInput } from './types.js';

/**
 * Creates the activity that sends operational events to the operational subscription of a
 * delivery's subscription. Each event is stored in the events collection under OPERATIONAL_KIND,
 * keyed so a repeated activity finds it again, and goes out through an ordinary delivery
 * workflow: signed, retried, with a `webhook-id` that stays the same on every attempt.
 */
export function createEmitOperationalEvents(deps: { store: Store; temporal: TemporalTarget; retrySchedule: RetrySchedule }) {
  return async function emitOperationalEvents(input: EmitOperationalEventsInput): Promise<{ started: number }> {
    const delivery = await deps.store.deliveries.findOne({ _id: input.deliveryId });
    if (delivery === null) {
      throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} not found`, 'DeliveryNotFound');
    }
    const subject = await deps.store.subscriptions.findOne({ _id: delivery.subscriptionId });
    const receiverId = subject?.operationalSubscriptionId ?? null;
    if (receiverId === null) {
      return { started: 0 };
    }

    const receiver = await deps.store.subscriptions.findOne({ _id: receiverId });
    if (receiver === null || receiver.status !== 'active') {
      log.info('Operational events not sent: their subscription is not active', { subscriptionId: delivery.subscriptionId, operationalSubscriptionId: receiverId, status: receiver?.status ?? 'deleted' });
      return { started: 0 };
    }

    let started = 0;
    for (const request of input.events) {
      if (!acceptsEventType(receiver, request.type)) {
        continue;
      }
      const event = await findOrInsertEvent(deps.store, { type: request.type, key: request.key, dataJson: JSON.stringify(request.data) });
      const document = newDeliveryDocument(event, receiver._id, new Date());
      await insertIgnoringDuplicates(deps.store, [document]);
      const isNew = await startDelivery(
        deps.temporal,
        { deliveryId: document._id, eventId: event._id, subscriptionId: receiver._id, kind: event.kind, recordId: event.recordId, retryWindowDays: receiver.retryWindowDays, retrySchedule: deps.retrySchedule },
        { rerun: false },
      );
      if (isNew) {
        started++;
        log.info('Operational event sent', { eventId: event._id, type: event.type, subscriptionId: delivery.subscriptionId, operationalSubscriptionId: receiver._id, deliveryId: deliveryIdFor(event._id, receiver._id) });
      }
    }
    return { started };
  };
}

/** Inserts the operational event with this key, or returns the one an earlier try inserted. */
async function findOrInsertEvent(store: Store, request: { type: EventDocument['type']; key: string; dataJson: string }): Promise<EventDocument> {
  const existing = await store.events.findOne({ kind: OPERATIONAL_KIND, recordId: request.key, version: 1 });
  if (existing !== null) {
    return existing;
  }

  const now = new Date();
  const event: EventDocument = {
    _id: newEventId(),
    type: request.type,
    kind: OPERATIONAL_KIND,
    recordId: request.key,
    version: 1,
    dataJson: request.dataJson,
    createdAt: now,
    recordCreatedAt: now,
    // Sent directly rather than by a dispatch workflow, so the reconciler must not pick it up.
    dispatchedAt: now,
  };
  try {
    await store.events.insertOne(event);
    return event;
  } catch (error) {
    if (!isDuplicateKeyError(error)) {
      throw error;
    }
    const winner = await store.events.findOne({ kind: OPERATIONAL_KIND, recordId: request.key, version: 1 });
    if (winner === null) {
      throw error;
    }
    return winner;
  }
}
