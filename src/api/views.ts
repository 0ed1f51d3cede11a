import type { ApiKeyDocument, DeliveryDocument, EventDocument, SubscriptionDocument } from '../store/documents.js';

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

export function subscriptionView(subscription: SubscriptionDocument) {
  return {
    id: subscription._id,
    target: subscription.target,
    url: subscription.url,
    method: subscription.method,
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

/** Shows an API key without its token or the token's digest. */
export function apiKeyView(key: ApiKeyDocument) {
  return {
    id: key._id,
    name: key.name,
    role: key.role,
    account: key.accountId,
    prefix: key.prefix,
    createdAt: key.createdAt,
    revokedAt: key.revokedAt,
  };
}
