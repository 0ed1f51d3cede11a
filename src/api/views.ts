import type { DeliveryDocument, EventDocument, SubscriptionDocument } from '../store/documents.js';

/** How API responses show stored documents. Secrets and internal keys never appear here. */

/** Shows a record as of its latest event. */
export function recordView(latest: EventDocument) {
  return {
    kind: latest.kind,
    id: latest.recordId,
    version: latest.version,
    data: JSON.parse(latest.dataJson) as unknown,
    createdAt: latest.recordCreatedAt,
    updatedAt: latest.createdAt,
    eventId: latest._id,
  };
}

/**
 * Shows a subscription with its public signing details: the scheme, a v1a subscription's public
 * keys, and when the key replaced by the last rotation stops signing. Custom headers appear by
 * name only, because their values may be credentials.
 */
export function subscriptionView(subscription: SubscriptionDocument) {
  const previous = subscription.previousKey;
  const isPreviousActive = previous !== undefined && previous !== null && previous.expiresAt.getTime() > Date.now();
  return {
    id: subscription._id,
    target: subscription.target,
    url: subscription.url,
    method: subscription.method,
    signature: {
      scheme: subscription.signatureScheme ?? 'v1',
      publicKey: subscription.publicKey ?? null,
      previousKeyExpiresAt: isPreviousActive ? previous.expiresAt : null,
      previousPublicKey: isPreviousActive ? previous.publicKey : null,
    },
    headerNames: subscription.headerNames ?? [],
    status: subscription.status,
    statusReason: subscription.statusReason,
    retryWindowDays: subscription.retryWindowDays,
    createdAt: subscription.createdAt,
    updatedAt: subscription.updatedAt,
  };
}

export function deliveryView(delivery: DeliveryDocument, temporalUi: { uiUrl: string; namespace: string }, options: { withAttempts: boolean }) {
  return {
    id: delivery._id,
    webhookId: delivery._id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    subscriptionId: delivery.subscriptionId,
    record: { kind: delivery.kind, id: delivery.recordId, version: delivery.version },
    status: delivery.status,
    statusReason: delivery.statusReason,
    attemptCount: delivery.attemptCount,
    nextAttemptAt: delivery.nextAttemptAt,
    workflowId: delivery.workflowId,
    workflowUrl: workflowUrl(temporalUi, delivery.workflowId),
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
    ...(options.withAttempts ? { attempts: delivery.attempts } : {}),
  };
}

/** Returns the Temporal Web UI page of a workflow's most recent run. */
export function workflowUrl(temporalUi: { uiUrl: string; namespace: string }, workflowId: string): string {
  return `${temporalUi.uiUrl}/namespaces/${encodeURIComponent(temporalUi.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
