import { trace } from '@opentelemetry/api';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DeliveryMode } from '../store/documents.js';
import {
  BULK_OPERATION_WORKFLOW,
  CATCH_UP_WORKFLOW,
  DELIVERY_WORKFLOW,
  DISPATCH_WORKFLOW,
  ENQUEUE_SIGNAL,
  RECORD_STREAM_WORKFLOW,
  SEARCH_ATTRIBUTES,
  catchUpWorkflowId,
  deliveryWorkflowId,
  dispatchWorkflowId,
  type BulkOperationWorkflowInput,
  recordStreamWorkflowId,
  type CatchUpWorkflowInput,
  type DeliveryWorkflowInput,
  type DispatchWorkflowInput,
  type RecordStreamInput,
  type StreamedDelivery,
} from '../workflows/definitions.js';
import { DAY_MS, type RetrySchedule } from '../workflows/retry-schedule.js';

export interface TemporalTarget {
  client: Client;
  taskQueue: string;
}

/**
 * Starts the dispatch workflow of an event. Returns false when it had already been started:
 * REJECT_DUPLICATE keeps a completed dispatch from running a second time, so the API and the
 * reconciler can both call this for the same event.
 */
export async function startDispatch(temporal: TemporalTarget, event: { eventId: string; kind: string; recordId: string }): Promise<boolean> {
  const input: DispatchWorkflowInput = { eventId: event.eventId };
  // The API request's span, when tracing is on; none otherwise.
  trace.getActiveSpan()?.setAttribute('doorbell.event_id', event.eventId);
  try {
    await temporal.client.workflow.start(DISPATCH_WORKFLOW, {
      taskQueue: temporal.taskQueue,
      workflowId: dispatchWorkflowId(event.eventId),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [input],
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.eventId, value: event.eventId },
        { key: SEARCH_ATTRIBUTES.record, value: `${event.kind}/${event.recordId}` },
      ],
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return false;
    }
    throw error;
  }
}

/**
 * Starts the workflow of a recover or replay operation. Its id is the operation's, so a repeated
 * start finds the running one.
 */
export async function startBulkOperation(temporal: TemporalTarget, operation: { operationId: string; subscriptionId: string; workflowId: string }): Promise<boolean> {
  const input: BulkOperationWorkflowInput = { operationId: operation.operationId };
  try {
    await temporal.client.workflow.start(BULK_OPERATION_WORKFLOW, {
      taskQueue: temporal.taskQueue,
      workflowId: operation.workflowId,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [input],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.subscriptionId, value: operation.subscriptionId }],
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return false;
    }
    throw error;
  }
}

export interface DeliveryStart {
  deliveryId: string;
  eventId: string;
  subscriptionId: string;
  kind: string;
  recordId: string;
  retryWindowDays: number | null;
  /** Attempts made before this run, when redelivering. */
  previousAttempts?: number;
  retrySchedule: RetrySchedule;
  /** The workflow id, when it is not derived from the event and subscription alone (a replay). */
  workflowId?: string;
}

/**
 * Starts the delivery workflow of one event to one subscription. Returns false when one with the
 * same id is running or, unless `rerun` is set, has ever run. `rerun` starts a new run after a
 * closed one, which is how a failed delivery is redelivered under the same workflow id.
 */
export async function startDelivery(temporal: TemporalTarget, delivery: DeliveryStart, options: { rerun: boolean }): Promise<boolean> {
  const input: DeliveryWorkflowInput = {
    deliveryId: delivery.deliveryId,
    eventId: delivery.eventId,
    subscriptionId: delivery.subscriptionId,
    retryWindowMs: delivery.retryWindowDays === null ? null : delivery.retryWindowDays * DAY_MS,
    previousAttempts: delivery.previousAttempts ?? 0,
    retrySchedule: delivery.retrySchedule,
  };

  try {
    await temporal.client.workflow.start(DELIVERY_WORKFLOW, {
      taskQueue: temporal.taskQueue,
      workflowId: delivery.workflowId ?? deliveryWorkflowId(delivery.eventId, delivery.subscriptionId),
      workflowIdReusePolicy: options.rerun ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      args: [input],
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.subscriptionId, value: delivery.subscriptionId },
        { key: SEARCH_ATTRIBUTES.record, value: `${delivery.kind}/${delivery.recordId}` },
        { key: SEARCH_ATTRIBUTES.eventId, value: delivery.eventId },
        { key: SEARCH_ATTRIBUTES.deliveryStatus, value: 'pending' },
      ],
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return false;
    }
    throw error;
  }
}

/**
 * Queues one delivery in the record stream of its subscription and record, starting the stream
 * if none runs. The stream drops a delivery it has already queued, so repeating this is safe.
 */
export async function enqueueStreamedDelivery(
  temporal: TemporalTarget,
  stream: { subscriptionId: string; kind: string; recordId: string; mode: DeliveryMode },
  delivery: StreamedDelivery,
): Promise<void> {
  const input: RecordStreamInput = { subscriptionId: stream.subscriptionId, kind: stream.kind, recordId: stream.recordId, mode: stream.mode };
  await temporal.client.workflow.signalWithStart(RECORD_STREAM_WORKFLOW, {
    taskQueue: temporal.taskQueue,
    workflowId: recordStreamWorkflowId(stream.subscriptionId, stream.kind, stream.recordId),
    args: [input],
    signal: ENQUEUE_SIGNAL,
    signalArgs: [delivery],
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.subscriptionId, value: stream.subscriptionId },
      { key: SEARCH_ATTRIBUTES.record, value: `${stream.kind}/${stream.recordId}` },
    ],
  });
}

/** Starts a subscription's catch-up workflow. Returns false when one is already running. */
export async function startCatchUp(temporal: TemporalTarget, input: CatchUpWorkflowInput): Promise<boolean> {
  try {
    await temporal.client.workflow.start(CATCH_UP_WORKFLOW, {
      taskQueue: temporal.taskQueue,
      workflowId: catchUpWorkflowId(input.subscriptionId),
      // A later outage of the same endpoint gets a new catch-up once the previous one has closed.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: [input],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.subscriptionId, value: input.subscriptionId }],
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return false;
    }
    throw error;
  }
}
