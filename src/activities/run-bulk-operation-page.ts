import { ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import { recoverFilter, replayFilter } from '../domain/bulk-operations.js';
import { acceptsEventType } from '../domain/event-type-filter.js';
import type { BulkOperationDocument, DeliveryDocument, SubscriptionDocument } from '../store/documents.js';
import type { Store } from '../store/mongo.js';
import { startDelivery, type TemporalTarget } from '../temporal/start-workflows.js';
import type { RetrySchedule } from '../workflows/retry-schedule.js';
import { newDeliveryDocument } from './delivery-documents.js';
import { insertIgnoringDuplicates } from './start-deliveries.js';
import type { BulkOperationPageInput, BulkOperationPageResult } from './types.js';

type Deps = { store: Store; temporal: TemporalTarget; pageSize: number; retrySchedule: RetrySchedule };

/**
 * Creates the activity that works through one page of a recover or replay and stores the
 * running counts on the operation with `$max`, so a retried page neither counts nor starts twice.
 * The last page, or a subscription that stopped being active, ends the operation.
 */
export function createRunBulkOperationPage(deps: Deps) {
  return async function runBulkOperationPage(input: BulkOperationPageInput): Promise<BulkOperationPageResult> {
    const operation = await deps.store.bulkOperations.findOne({ _id: input.operationId });
    if (operation === null) {
      throw ApplicationFailure.nonRetryable(`operation ${input.operationId} not found`, 'OperationNotFound');
    }
    const subscription = await deps.store.subscriptions.findOne({ _id: operation.subscriptionId });
    if (subscription === null || subscription.status !== 'active') {
      const reason = `subscription ${operation.subscriptionId} is ${subscription?.status ?? 'deleted'}; resume it and start the ${operation.type} again`;
      await finishOperation(deps.store, operation, { processed: input.processedBefore, started: input.startedBefore }, { status: 'failed', reason });
      return { processed: 0, started: 0, nextAfterId: null };
    }

    const page = operation.type === 'recover' ? await recoverPage(deps, operation, subscription, input.afterId) : await replayPage(deps, operation, subscription, input.afterId);
    const counts = { processed: input.processedBefore + page.processed, started: input.startedBefore + page.started };
    if (page.nextAfterId === null) {
      await finishOperation(deps.store, operation, counts, { status: 'completed', reason: null });
      log.info('Bulk operation completed', { operationId: operation._id, type: operation.type, subscriptionId: operation.subscriptionId, ...counts });
    } else {
      await deps.store.bulkOperations.updateOne({ _id: operation._id }, { $max: counts, $set: { updatedAt: new Date() } });
    }
    return page;
  };

  /** Claims each failed or cancelled delivery by its status and last update, then starts a new run of it. */
  async function recoverPage(deps: Deps, operation: BulkOperationDocument, subscription: SubscriptionDocument, afterId: string | null): Promise<BulkOperationPageResult> {
    const filter = { ...recoverFilter(operation, operation._id), ...(afterId === null ? {} : { _id: { $gt: afterId } }) };
    const deliveries = await deps.store.deliveries.find(filter).sort({ _id: 1 }).limit(deps.pageSize).project<DeliveryDocument>({ attempts: 0 }).toArray();

    let started = 0;
    for (const delivery of deliveries) {
      heartbeat();
      if (!(await claim(deps.store, delivery, operation._id))) {
        continue;
      }
      const isNew = await startDelivery(
        deps.temporal,
        {
          deliveryId: delivery._id,
          eventId: delivery.eventId,
          subscriptionId: delivery.subscriptionId,
          kind: delivery.kind,
          recordId: delivery.recordId,
          retryWindowDays: subscription.retryWindowDays,
          previousAttempts: delivery.attemptCount,
          retrySchedule: deps.retrySchedule,
          workflowId: delivery.workflowId,
        },
        { rerun: true },
      );
      if (isNew) {
        started++;
      } else {
        // Its previous run has not closed yet: release the claim, so the status is not left
        // pending with nothing running, and a later recover can take it.
        await deps.store.deliveries.updateOne(
          { _id: delivery._id, status: 'pending', recoverOperationId: operation._id },
          { $set: { status: delivery.status, statusReason: delivery.statusReason, nextAttemptAt: delivery.nextAttemptAt, updatedAt: new Date() } },
        );
      }
    }
    return { processed: deliveries.length, started, nextAfterId: nextAfter(deliveries, deps.pageSize) };
  }

  /** Creates one new delivery per event, with an id of its own, and starts it. */
  async function replayPage(deps: Deps, operation: BulkOperationDocument, subscription: SubscriptionDocument, afterId: string | null): Promise<BulkOperationPageResult> {
    const filter = { ...replayFilter(operation.selection), ...(afterId === null ? {} : { _id: { $gt: afterId } }) };
    const events = await deps.store.events.find(filter).sort({ _id: 1 }).limit(deps.pageSize).toArray();

    const now = new Date();
    const receivable = events.filter((event) => acceptsEventType(subscription, event.type));
    const deliveries = receivable.map((event) => newDeliveryDocument(event, subscription._id, now, operation._id));
    if (deliveries.length > 0) {
      await insertIgnoringDuplicates(deps.store, deliveries);
    }

    let started = 0;
    for (const delivery of deliveries) {
      heartbeat();
      const isNew = await startDelivery(
        deps.temporal,
        {
          deliveryId: delivery._id,
          eventId: delivery.eventId,
          subscriptionId: subscription._id,
          kind: delivery.kind,
          recordId: delivery.recordId,
          retryWindowDays: subscription.retryWindowDays,
          retrySchedule: deps.retrySchedule,
          workflowId: delivery.workflowId,
        },
        { rerun: false },
      );
      if (isNew) {
        started++;
      }
    }
    return { processed: events.length, started, nextAfterId: nextAfter(events, deps.pageSize) };
  }
}

/**
 * Marks a failed or cancelled delivery pending for this operation. The filter on the status and
 * `updatedAt` read a moment ago makes a second recover, or a redelivery, that got there first win.
 * A delivery this operation claimed on an earlier try of the page counts as claimed.
 */
async function claim(store: Store, delivery: DeliveryDocument, operationId: string): Promise<boolean> {
  if (delivery.status === 'pending' && delivery.recoverOperationId === operationId) {
    return true;
  }
  const now = new Date();
  const result = await store.deliveries.updateOne(
    { _id: delivery._id, status: delivery.status, updatedAt: delivery.updatedAt },
    { $set: { status: 'pending', statusReason: `recover ${operationId}`, nextAttemptAt: now, updatedAt: now, recoverOperationId: operationId } },
  );
  // NOTE: FerretDB runs this update as a read and a write, so two recovers racing on one delivery
  // may both claim it. The second start then finds the first run still open and starts nothing.
  return result.modifiedCount === 1;
}

function nextAfter(items: Array<{ _id: string }>, pageSize: number): string | null {
  return items.length < pageSize ? null : items[items.length - 1]!._id;
}

async function finishOperation(
  store: Store,
  operation: BulkOperationDocument,
  counts: { processed: number; started: number },
  end: { status: 'completed' | 'failed'; reason: string | null },
): Promise<void> {
  const now = new Date();
  await store.bulkOperations.updateOne(
    { _id: operation._id, status: 'running' },
    {
      $max: counts,
      $set: { status: end.status, statusReason: end.reason, updatedAt: now, completedAt: now },
    },
  );
}
