import type { Filter } from 'mongodb';
import { ulid } from 'ulid';
import type { BulkOperationDocument, BulkOperationType, DeliveryDocument, EventDocument, SubscriptionDocument } from '../store/documents.js';
import type { Store } from '../store/mongo.js';
import { startBulkOperation, type TemporalTarget } from '../temporal/start-workflows.js';
import { bulkOperationWorkflowId } from '../workflows/definitions.js';

/**
 * Recover and replay, the two bulk operations on one subscription. The API creates the operation
 * document and starts its workflow; the workflow works through the matching items page by page
 * and stores its progress on the document, which clients poll.
 */

/** Delivery statuses a recover restarts: deliveries that ended without reaching the receiver. */
export const RECOVERABLE_STATUSES = ['failed', 'cancelled'] as const;

export type BulkSelection = BulkOperationDocument['selection'];

export function newOperationId(): string {
  return `op_${ulid()}`;
}

/** Returns the deliveries a recover restarts; `operationId` adds the ones it claimed before a retry. */
export function recoverFilter(operation: Pick<BulkOperationDocument, 'subscriptionId' | 'selection'>, operationId?: string): Filter<DeliveryDocument> {
  const ended: Filter<DeliveryDocument> = { status: { $in: [...RECOVERABLE_STATUSES] } };
  return {
    subscriptionId: operation.subscriptionId,
    ...(operation.selection.since === null ? {} : { createdAt: { $gte: operation.selection.since } }),
    // A claimed delivery is pending until its first attempt, and a retried page starts it again.
    ...(operationId === undefined ? ended : { $or: [ended, { status: 'pending', recoverOperationId: operationId }] }),
  };
}

/** Returns the events a replay resends: every event of one record, or those of a kind since a time. */
export function replayFilter(selection: BulkSelection): Filter<EventDocument> {
  if (selection.kind === null) {
    throw new Error('a replay selection needs a kind');
  }
  return {
    kind: selection.kind,
    ...(selection.recordId === null ? {} : { recordId: selection.recordId }),
    ...(selection.since === null ? {} : { createdAt: { $gte: selection.since } }),
  };
}

/**
 * Creates a recover or replay operation and starts its workflow. When the start fails, the
 * operation is marked failed so no client polls it forever, and the error is raised.
 */
export async function createBulkOperation(
  deps: { store: Store; temporal: TemporalTarget },
  request: { type: BulkOperationType; subscription: SubscriptionDocument; selection: BulkSelection },
): Promise<BulkOperationDocument> {
  const id = newOperationId();
  const now = new Date();
  const base = { subscriptionId: request.subscription._id, selection: request.selection };
  const total = request.type === 'recover' ? await deps.store.deliveries.countDocuments(recoverFilter(base)) : await deps.store.events.countDocuments(replayFilter(request.selection));

  const operation: BulkOperationDocument = {
    _id: id,
    type: request.type,
    ...base,
    status: 'running',
    statusReason: null,
    total,
    processed: 0,
    started: 0,
    workflowId: bulkOperationWorkflowId(id),
    createdAt: now,
    updatedAt: now,
    completedAt: null,
  };
  await deps.store.bulkOperations.insertOne(operation);

  try {
    await startBulkOperation(deps.temporal, { operationId: id, subscriptionId: request.subscription._id, workflowId: operation.workflowId });
  } catch (error) {
    await deps.store.bulkOperations.updateOne({ _id: id }, { $set: { status: 'failed', statusReason: 'the operation workflow could not be started', updatedAt: new Date(), completedAt: new Date() } });
    throw error;
  }
  return operation;
}
