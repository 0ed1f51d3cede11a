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
  /** Unique key that makes lookup-or-subscribe idempotent: one subscription per account, target, method and URL. */
  dedupeKey: string;
  /**
   * The account of the API key that created the subscription; only keys of this account and
   * admin keys see or change it. Absent on subscriptions created before the API had keys, which
   * only admin keys reach.
   */
  accountId?: string;
  createdAt: Date;
  updatedAt: Date;
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
  /** Digest of the caller's account, the method, the path and the key. */
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

/**
 * What a key may do: `provider` writes and reads records, `subscriber` looks up records and
 * manages its account's subscriptions and deliveries, `metrics` reads /metrics only, and `admin`
 * does everything, including managing keys.
 */
export const API_KEY_ROLES = ['provider', 'subscriber', 'admin', 'metrics'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** An API key. The token itself is never stored, only its SHA-256 digest. */
export interface ApiKeyDocument {
  _id: string;
  /** Who or what uses the key, for people reading the list. */
  name: string;
  role: ApiKeyRole;
  /** Keys of one account share its subscriptions and deliveries; by default a key is an account of its own. */
  accountId: string;
  /** Hex SHA-256 digest of the token. */
  tokenHash: string;
  /** The first characters of the token, such as `dbk_3kq9Vx2a`, so a key can be told apart without its token. */
  prefix: string;
  createdAt: Date;
  /** When the key was revoked, or null while it is valid. */
  revokedAt: Date | null;
}
