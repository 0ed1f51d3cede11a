import { deliveryIdFor } from '../domain/ids.js';
import type { DeliveryDocument, EventDocument } from '../store/documents.js';
import { deliveryWorkflowId } from '../workflows/definitions.js';

/**
 * Builds the pending delivery of an event to a subscription. A replay passes its operation id,
 * which gives the delivery its own id (so its own `webhook-id`) and its own workflow id.
 */
export function newDeliveryDocument(event: EventDocument, subscriptionId: string, now: Date, replayOperationId?: string): DeliveryDocument {
  const base = replayOperationId === undefined ? subscriptionId : `${subscriptionId}:${replayOperationId}`;
  return {
    _id: deliveryIdFor(event._id, base),
    eventId: event._id,
    eventType: event.type,
    subscriptionId,
    kind: event.kind,
    recordId: event.recordId,
    version: event.version,
    status: 'pending',
    statusReason: replayOperationId === undefined ? null : `replay ${replayOperationId}`,
    attemptCount: 0,
    attempts: [],
    nextAttemptAt: now,
    workflowId: replayOperationId === undefined ? deliveryWorkflowId(event._id, subscriptionId) : replayDeliveryWorkflowId(event._id, subscriptionId, replayOperationId),
    ...(replayOperationId === undefined ? {} : { replayOperationId }),
    createdAt: now,
    updatedAt: now,
  };
}

/** Returns the workflow id of a replayed delivery: the original's, plus the replay operation. */
export function replayDeliveryWorkflowId(eventId: string, subscriptionId: string, operationId: string): string {
  return `${deliveryWorkflowId(eventId, subscriptionId)}:${operationId}`;
}
