/**
 * Names, inputs and search attributes shared by the workflows, the activities and the API.
 * This module is imported into the workflow sandbox, so it must stay free of Node.js APIs.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { RetrySchedule } from './retry-schedule.js';

export const DISPATCH_WORKFLOW = 'dispatchWorkflow';
export const DELIVERY_WORKFLOW = 'deliveryWorkflow';
export const BULK_OPERATION_WORKFLOW = 'bulkOperationWorkflow';

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
  status: 'succeeded' | 'failed' | 'cancelled' | 'aborted';
  attempts: number;
  reason: string | null;
};
