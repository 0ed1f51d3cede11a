import type { OperationalEventType } from '../store/documents.js';
import type { RetryPlan, RetrySchedule } from '../workflows/retry-schedule.js';

export interface AttemptDeliveryInput {
  deliveryId: string;
  /**
   * The delivery's event and subscription, which spare the attempt a read of the delivery document.
   * Absent in attempts scheduled by workflows started before they were passed.
   */
  eventId?: string;
  subscriptionId?: string;
  /** The attempt's number over the delivery's whole life, redeliveries included. */
  attempt: number;
  /** The attempt's place in the current retry schedule, which a redelivery starts again at 1. */
  retryStep: number;
  /**
   * Workflow time when the attempt was scheduled. Retry plans are computed from it, not from the
   * activity's clock, so they agree with the workflow's timers (also under a time-skipping test server).
   */
  scheduledAtMs: number;
  retryDeadlineMs: number | null;
  retrySchedule?: RetrySchedule;
}

/**
 * The result of one attempt, as recorded in the workflow history. It carries no secret and
 * no request body, only what a person debugging the receiver needs.
 */
export type AttemptOutcome = (
  | { kind: 'delivered'; statusCode: number; durationMs: number }
  /** 410 Gone: the receiver asked to stop, so the subscription is disabled. */
  | { kind: 'gone'; statusCode: 410; durationMs: number }
  /** A failed response with the header `webhook-delivery: abort`: the receiver requested that this delivery is not retried. */
  | { kind: 'aborted'; statusCode: number; durationMs: number }
  /** The subscription was paused, disabled or deleted before this attempt, so nothing was sent. */
  | { kind: 'skipped'; reason: string }
  /**
   * The endpoint's origin already had the maximum of concurrent attempts in this worker. Nothing
   * was sent and no attempt was counted, and the workflow tries again after a short wait.
   */
  | { kind: 'deferred'; origin: string; maxConcurrent: number }
  | {
      kind: 'failed';
      statusCode: number | null;
      error: string | null;
      durationMs: number;
      retryAfterMs: number | null;
      plan: RetryPlan;
    }
) & {
  /** Operational events the attempt caused, for the workflow to send; absent in histories from before they existed. */
  operationalEvents?: OperationalEventRequest[];
  /**
   * Set when the request went out but the delivery document could not be updated. The activity
   * does not throw then, because a retry would send the webhook again.
   */
  unrecorded?: true;
};

/** An operational event to send to the operational subscription of the delivery's subscription. */
export interface OperationalEventRequest {
  type: OperationalEventType;
  /** Unique per event, so a repeated activity finds the event it created before. */
  key: string;
  /** The webhook's `data` object. Only ids, statuses and times: never a secret or a record body. */
  data: Record<string, unknown>;
}

export interface EmitOperationalEventsInput {
  /** The delivery whose attempt caused the events; its subscription names the receiving one. */
  deliveryId: string;
  events: OperationalEventRequest[];
}

export interface BulkOperationPageInput {
  operationId: string;
  /** The last item id handled by earlier pages, or null for the first page. */
  afterId: string | null;
  /** Counts of earlier pages, so each page stores running totals with `$max`. */
  processedBefore: number;
  startedBefore: number;
}

export interface BulkOperationPageResult {
  processed: number;
  started: number;
  /** The last item id of this page, or null when there are no more pages. */
  nextAfterId: string | null;
}

export interface StartDeliveriesInput {
  eventId: string;
  afterSubscriptionId: string | null;
}

export interface StartDeliveriesResult {
  started: number;
  /** The last subscription id of this page, or null when there are no more pages. */
  nextAfterSubscriptionId: string | null;
}

export interface FinishDeliveryInput {
  deliveryId: string;
  status: 'succeeded' | 'failed' | 'aborted' | 'cancelled' | 'superseded';
  reason: string | null;
  /** Required with status `superseded`: the newer version that replaced the delivery. */
  supersededBy?: { version: number; deliveryId: string };
}

export interface MarkSupersededInput {
  deliveryIds: string[];
  supersededBy: { version: number; deliveryId: string };
  /** The stream that decided, shown as the superseded deliveries' workflow. */
  streamWorkflowId: string;
}

export interface WakeWaitingDeliveriesInput {
  subscriptionId: string;
  /** Wake only deliveries with a greater id; null starts at the first. */
  afterDeliveryId: string | null;
  limit: number;
}

export interface WakeWaitingDeliveriesResult {
  woken: number;
  /** The last delivery id of a full batch, or null when no delivery is left to wake. */
  lastDeliveryId: string | null;
}
