/** The shapes of Doorbell's MongoDB documents. Ids are strings so they read the same in logs, URLs and Temporal. */

import type { SignatureScheme } from '../domain/signing-keys.js';

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
  /** Absent on subscriptions stored before ed25519 signatures existed, which all use `v1`. */
  signatureScheme?: SignatureScheme;
  /**
   * The `whsec_` secret (v1) or `whsk_` private key (v1a), encrypted with AES-256-GCM. The API
   * returns a secret only in the response that created or rotated it, and a private key never.
   */
  secretCiphertext: string;
  /** The `whpk_` public key of a v1a subscription; it is public, so it is stored and shown as is. */
  publicKey?: string | null;
  /** The secret or key that the last rotation replaced; it signs beside the current one until it expires. */
  previousKey?: PreviousSigningKey | null;
  /** The custom headers as encrypted JSON `[name, value]` pairs, because values may be credentials. */
  headersCiphertext?: string | null;
  /** The names of the custom headers, shown by the API in place of the values. */
  headerNames?: string[];
  status: SubscriptionStatus;
  statusReason: string | null;
  /** How long a delivery is retried; null retries until it succeeds or the subscription stops. */
  retryWindowDays: number | null;
  /** Unique key that makes lookup-or-subscribe idempotent: one subscription per target, method and URL. */
  dedupeKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface PreviousSigningKey {
  /** Encrypted like `secretCiphertext`, with the same associated data. */
  ciphertext: string;
  publicKey: string | null;
  expiresAt: Date;
}

export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled'];

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
