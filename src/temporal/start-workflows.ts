import { trace } from '@opentelemetry/api';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  DELIVERY_WORKFLOW,
  DISPATCH_WORKFLOW,
  SEARCH_ATTRIBUTES,
  deliveryWorkflowId,
  dispatchWorkflowId,
  type DeliveryWorkflowInput,
  type DispatchWorkflowInput,
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
      workflowId: deliveryWorkflowId(delivery.eventId, delivery.subscriptionId),
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
