import type { RetryPlan, RetrySchedule } from '../workflows/retry-schedule.js';

export interface AttemptDeliveryInput {
  deliveryId: string;
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
export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number; durationMs: number }
  /** 410 Gone: the receiver asked to stop, so the subscription is disabled. */
  | { kind: 'gone'; statusCode: 410; durationMs: number }
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
    };

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
  status: 'failed' | 'cancelled';
  reason: string;
}
