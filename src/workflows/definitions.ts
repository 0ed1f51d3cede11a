/**
 * Names, inputs and search attributes shared by the workflows, the activities and the API.
 * This module is imported into the workflow sandbox, so it must stay free of Node.js APIs.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DeliveryMode } from '../store/documents.js';
import type { RetrySchedule } from './retry-schedule.js';

export const DISPATCH_WORKFLOW = 'dispatchWorkflow';
export const DELIVERY_WORKFLOW = 'deliveryWorkflow';
export const BULK_OPERATION_WORKFLOW = 'bulkOperationWorkflow';
export const RECORD_STREAM_WORKFLOW = 'recordStreamWorkflow';
export const CATCH_UP_WORKFLOW = 'catchUpWorkflow';

/** Signal to a delivery waiting on a retry timer: attempt now, because its endpoint recovered. */
export const WAKE_SIGNAL = 'wake';
/** Signal to a delivery of a `latest` subscription: a newer version of the record replaces it. */
export const SUPERSEDE_SIGNAL = 'supersede';
/** Signal to a record stream: one more event of the record to deliver. */
export const ENQUEUE_SIGNAL = 'enqueue';

/** Custom search attributes, registered with the Temporal server by the worker at start-up. */
export const SEARCH_ATTRIBUTES = {
  subscriptionId: defineSearchAttributeKey('DoorbellSubscriptionId', SearchAttributeType.KEYWORD),
  record: defineSearchAttributeKey('DoorbellRecord', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('DoorbellEventId', SearchAttributeType.KEYWORD),
  deliveryStatus: defineSearchAttributeKey('DoorbellDeliveryStatus', SearchAttributeType.KEYWORD),
} as const;

export function dispatchWorkflowId(eventId: string): string {
  return `dispatch:${eventId}`;
}

/** Returns the delivery's workflow id, made of the event id and subscription id, so a repeated start finds the first run. */
export function deliveryWorkflowId(eventId: string, subscriptionId: string): string {
  return `delivery:${eventId}:${subscriptionId}`;
}

/**
 * Returns the id of the workflow that serializes the deliveries of one record to one subscription
 * with `ordering: "per-record"` or `mode: "latest"`.
 */
export function recordStreamWorkflowId(subscriptionId: string, kind: string, recordId: string): string {
  return `stream:${subscriptionId}:${kind}/${recordId}`;
}

/** Returns the id of a subscription's catch-up workflow; one runs at a time, so a recovery wakes its deliveries once. */
export function catchUpWorkflowId(subscriptionId: string): string {
  return `catch-up:${subscriptionId}`;
}

export interface DispatchWorkflowInput {
  eventId: string;
  /** The last subscription id handled by an earlier run, when the workflow continued as new. */
  afterSubscriptionId?: string | null;
  deliveriesStarted?: number;
}

export interface DispatchWorkflowResult {
  deliveriesStarted: number;
}

export interface DeliveryWorkflowInput {
  deliveryId: string;
  eventId: string;
  subscriptionId: string;
  /** How long to keep retrying; null retries until the delivery succeeds or is stopped. */
  retryWindowMs: number | null;
  /** Absent in workflows started before schedules were configurable, which use the default. */
  retrySchedule?: RetrySchedule;
  /** Attempts made by earlier runs of this delivery, before a redelivery; numbering continues after them. */
  previousAttempts?: number;
  /** Carried across continue-as-new so the retry window and the schedule continue. */
  retryDeadlineMs?: number | null;
  attemptsMade?: number;
  /** A supersede signal received by an earlier run, carried across continue-as-new. */
  supersededBy?: SupersededBy | null;
}

/** The newer version of a record that replaced a delivery of a `latest` subscription. */
export interface SupersededBy {
  version: number;
  deliveryId: string;
}

/** Returns the workflow id of a recover or replay operation. */
export function bulkOperationWorkflowId(operationId: string): string {
  return `operation:${operationId}`;
}

export interface BulkOperationWorkflowInput {
  operationId: string;
  /** Carried across continue-as-new: the last item handled and the counts so far. */
  afterId?: string | null;
  processed?: number;
  started?: number;
}

export interface BulkOperationWorkflowResult {
  processed: number;
  started: number;
}

export type DeliveryWorkflowResult = {
  status: 'succeeded' | 'failed' | 'cancelled' | 'aborted' | 'superseded';
  attempts: number;
  reason: string | null;
};

/** One event of a record queued in its record stream. */
export interface StreamedDelivery {
  deliveryId: string;
  eventId: string;
  version: number;
  /** How long to keep retrying; null retries until the delivery succeeds or is stopped. */
  retryWindowMs: number | null;
  retrySchedule: RetrySchedule;
}

export interface RecordStreamInput {
  subscriptionId: string;
  kind: string;
  recordId: string;
  mode: DeliveryMode;
  /** Deliveries queued but not yet started, carried across continue-as-new. */
  queued?: StreamedDelivery[];
  /** The last delivery the stream started, carried across continue-as-new. */
  lastStarted?: { version: number; deliveryId: string } | null;
}

export interface CatchUpWorkflowInput {
  subscriptionId: string;
  /** Wakes per second, at most. */
  ratePerSecond: number;
  /** Carried across continue-as-new: the last delivery id woken, and how many were woken so far. */
  afterDeliveryId?: string | null;
  woken?: number;
}
