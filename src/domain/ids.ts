import { createHash } from 'node:crypto';
import { ulid } from 'ulid';

/** Kinds and record ids: letters, digits, `_` and `-`, starting with a letter or digit, at most 128 characters. */
export const RECORD_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export const RECORD_KEY_RULE = 'must be 1-128 letters, digits, "_" or "-", starting with a letter or digit';

export function newEventId(): string {
  return `evt_${ulid()}`;
}

export function newSubscriptionId(): string {
  return `sub_${ulid()}`;
}

/**
 * Returns the id of the delivery of one event to one subscription. It is derived, not random,
 * so every retry, reconciler pass or second dispatch arrives at the same id, and it doubles as
 * the `webhook-id` header receivers deduplicate by. It starts with the event's time-ordered ULID,
 * so sorting deliveries by id sorts them by event time; a digest of the pair follows.
 */
export function deliveryIdFor(eventId: string, subscriptionId: string): string {
  const digest = createHash('sha256').update(`${eventId}\n${subscriptionId}`).digest('base64url');
  return `msg_${eventId.replace(/^evt_/, '')}_${digest.slice(0, 16)}`;
}

/** The `kind/id` path of a record, as shown in logs, search attributes and subscription targets. */
export function recordPath(kind: string, recordId: string): string {
  return `${kind}/${recordId}`;
}
