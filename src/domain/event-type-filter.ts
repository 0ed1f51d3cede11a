import type { EventType, SubscriptionDocument } from '../store/documents.js';

/** True when the subscription's `eventTypes` filter lets this event type through; no filter lets every type through. */
export function acceptsEventType(subscription: Pick<SubscriptionDocument, 'eventTypes'>, type: EventType): boolean {
  return subscription.eventTypes === undefined || subscription.eventTypes === null || subscription.eventTypes.includes(type);
}
