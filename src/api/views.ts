import { failingStreakStart } from '../domain/endpoint-health.js';
import { OPERATIONAL_KIND, type ApiKeyDocument, type BulkOperationDocument, type DeliveryDocument, type EventDocument, type SubscriptionDocument } from '../store/documents.js';

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
    eventTypes: subscription.eventTypes ?? null,
    operationalSubscriptionId: subscription.operationalSubscriptionId ?? null,
    failingSince: failingStreakStart(subscription),
    // Subscriptions stored before these options existed have neither field and behave as the defaults.
    ordering: subscription.ordering ?? 'none',
    mode: subscription.mode ?? 'every-event',
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
    record: delivery.kind === OPERATIONAL_KIND ? null : { kind: delivery.kind, id: delivery.recordId, version: delivery.version },
    replayOperationId: delivery.replayOperationId ?? null,
    status: delivery.status,
    statusReason: delivery.statusReason,
    attemptCount: delivery.attemptCount,
    nextAttemptAt: delivery.nextAttemptAt,
    supersededBy: delivery.supersededBy ?? null,
    workflowId: delivery.workflowId,
    workflowUrl: workflowUrl(temporalUi, delivery.workflowId),
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
    ...(options.withAttempts ? { attempts: delivery.attempts } : {}),
  };
}

export function bulkOperationView(operation: BulkOperationDocument, temporalUi: { uiUrl: string; namespace: string }) {
  return {
    id: operation._id,
    type: operation.type,
    subscriptionId: operation.subscriptionId,
    selection: operation.selection,
    status: operation.status,
    statusReason: operation.statusReason,
    total: operation.total,
    processed: operation.processed,
    started: operation.started,
    workflowId: operation.workflowId,
    workflowUrl: workflowUrl(temporalUi, operation.workflowId),
    createdAt: operation.createdAt,
    updatedAt: operation.updatedAt,
    completedAt: operation.completedAt,
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
