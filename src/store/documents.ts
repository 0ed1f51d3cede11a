/** The shapes of Doorbell's MongoDB documents. Ids are strings so they read the same in logs, URLs and Temporal. */

export type EventType = 'record.created' | 'record.updated';

export const HTTP_METHODS = ['POST', 'PUT', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * One create or update of a record. The events collection is both the record's history and the
 * outbox that dispatch reads from: a record is its event with the highest version. Nothing is
 * projected into a second collection, because FerretDB runs an update as a read and a write, so
 * a conditional update is not atomic there; only the unique version index is.
 */
export interface EventDocument {
  _id: string;
  type: EventType;
  kind: string;
  recordId: string;
  version: number;
  /** The record body as received, kept as JSON text so it is delivered byte for byte and never read as a query. */
  dataJson: string;
  createdAt: Date;
  /** When version 1 of the record was written, carried forward so a read needs one document. */
  recordCreatedAt: Date;
  /** When a dispatch workflow was started for this event; null until then, which the reconciler looks for. */
  dispatchedAt: Date | null;
}

export type SubscriptionStatus = 'active' | 'paused' | 'disabled' | 'deleted';

export interface SubscriptionDocument {
  _id: string;
  /** `kind/id` for one record or `kind/*` for every record of a kind. */
  target: string;
  kind: string;
  /** Null when the subscription watches the whole kind. */
  recordId: string | null;
  url: string;
  method: HttpMethod;
  /** The signing secret, encrypted with AES-256-GCM; never returned by the API after creation. */
  secretCiphertext: string;
  status: SubscriptionStatus;
  statusReason: string | null;
  /** How long a delivery is retried; null retries until it succeeds or the subscription stops. */
  retryWindowDays: number | null;
  /** `per-record` delivers each record's versions one at a time, in version order; absent means `none`. */
  ordering?: DeliveryOrdering;
  /** `latest` lets a newer version of a record replace a pending delivery of an older one; absent means `every-event`. */
  mode?: DeliveryMode;
  /** Unique key that makes lookup-or-subscribe idempotent: one subscription per target, method and URL. */
  dedupeKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export const DELIVERY_ORDERINGS = ['none', 'per-record'] as const;
export type DeliveryOrdering = (typeof DELIVERY_ORDERINGS)[number];

export const DELIVERY_MODES = ['every-event', 'latest'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** `superseded`: a newer version of the record replaced the delivery before it succeeded (`mode: "latest"`). */
export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' | 'superseded';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled', 'superseded'];

export interface AttemptDocument {
  attempt: number;
  startedAt: Date;
  durationMs: number;
  /** HTTP status of the response, or null when no response arrived. */
  statusCode: number | null;
  /** Network error or timeout, or null when a response arrived. */
  error: string | null;
  /** The first bytes of the response body, for debugging a receiver. */
  responseBody: string | null;
}

/** One event to one subscription; its id is also the `webhook-id` header. */
export interface DeliveryDocument {
  _id: string;
  eventId: string;
  eventType: EventType;
  subscriptionId: string;
  kind: string;
  recordId: string;
  version: number;
  status: DeliveryStatus;
  statusReason: string | null;
  attemptCount: number;
  /** The most recent attempts, oldest first; older ones stay in the workflow history. */
  attempts: AttemptDocument[];
  nextAttemptAt: Date | null;
  /** The newer version that replaced this delivery, when its status is `superseded`. */
  supersededBy?: { version: number; deliveryId: string };
  workflowId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The first response to a request with an Idempotency-Key, replayed to repeats for 24 hours. */
export interface IdempotencyDocument {
  /** Digest of the method, path and key. */
  _id: string;
  /** Digest of the request body, to tell a retry from a different request under the same key. */
  fingerprint: string;
  state: 'in-progress' | 'completed';
  status?: number;
  contentType?: string;
  location?: string;
  /** The response body, encrypted, because a creation response can carry a signing secret. */
  bodyCiphertext?: string;
  createdAt: Date;
  expiresAt: Date;
}
