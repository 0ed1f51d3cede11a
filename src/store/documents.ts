/** The shapes of Doorbell's MongoDB documents. Ids are strings so they read the same in logs, URLs and Temporal. */

import type { SignatureScheme } from '../domain/signing-keys.js';

export const RECORD_EVENT_TYPES = ['record.created', 'record.updated', 'record.deleted'] as const;
export type RecordEventType = (typeof RECORD_EVENT_TYPES)[number];

/** Events about deliveries and subscriptions themselves, sent to a subscription's operational subscription. */
export const OPERATIONAL_EVENT_TYPES = ['delivery.failing', 'delivery.exhausted', 'subscription.disabled'] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

export type EventType = RecordEventType | OperationalEventType;
export const EVENT_TYPES: readonly EventType[] = [...RECORD_EVENT_TYPES, ...OPERATIONAL_EVENT_TYPES];

export function isOperationalEventType(type: EventType): type is OperationalEventType {
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * The target of a subscription that receives operational events instead of record events. It has
 * no slash, so it never equals a record target, and dispatch never selects it.
 */
export const OPERATIONAL_TARGET = 'operational';

/**
 * The `kind` stored on operational events and subscriptions. It starts with `_`, which no record
 * kind may, so record reads, replays and dispatch never meet it.
 */
export const OPERATIONAL_KIND = '_operational';

export const HTTP_METHODS = ['POST', 'PUT', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * One create, update or delete of a record, or one operational event. The events collection is both the record's history and the
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
  /**
   * The record body as received, kept as JSON text so it is delivered byte for byte and never read
   * as a query. `null` for a delete, and the event's `data` object for an operational event.
   */
  dataJson: string;
  createdAt: Date;
  /** When the record was created (version 1, or the first write after a delete), carried forward so a read needs one document. */
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
  /** Unique key that makes lookup-or-subscribe idempotent: one subscription per account, target, method and URL. */
  dedupeKey: string;
  /**
   * The account of the API key that created the subscription; only keys of this account and
   * admin keys see or change it. Absent on subscriptions created before the API had keys, which
   * only admin keys reach.
   */
  accountId?: string;
  /** `per-record` delivers each record's versions one at a time, in version order; absent means `none`. */
  ordering?: DeliveryOrdering;
  /** `latest` lets a newer version of a record replace a pending delivery of an older one; absent means `every-event`. */
  mode?: DeliveryMode;
  /** The event types sent to this subscription; absent or null sends every type its target receives. */
  eventTypes?: EventType[] | null;
  /** The subscription (target `operational`) that receives this one's operational events; absent or null sends none. */
  operationalSubscriptionId?: string | null;
  /**
   * Start time of the first failed attempt after the last success. Only failures move it, with
   * `$min`, so it is stale, and the endpoint healthy, whenever it is not after `lastSuccessAt`.
   */
  failingSince?: Date;
  /** Start time of the latest successful attempt, moved forward only, with `$max`. */
  lastSuccessAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export const DELIVERY_ORDERINGS = ['none', 'per-record'] as const;
export type DeliveryOrdering = (typeof DELIVERY_ORDERINGS)[number];

export interface PreviousSigningKey {
  /** Encrypted like `secretCiphertext`, with the same associated data. */
  ciphertext: string;
  publicKey: string | null;
  expiresAt: Date;
}


export const DELIVERY_MODES = ['every-event', 'latest'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** `superseded`: a newer version of the record replaced the delivery before it succeeded (`mode: "latest"`). */
/** `aborted`: the receiver responded with `webhook-delivery: abort`, which stops retries. */
export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' | 'aborted' | 'superseded';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled', 'aborted', 'superseded'];

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
  /** The replay operation that created this delivery; absent for deliveries made by dispatch. */
  replayOperationId?: string;
  /** The recover operation that last restarted this delivery; lets a retried page finish its starts. */
  recoverOperationId?: string;
  createdAt: Date;
  updatedAt: Date;
}

export type BulkOperationType = 'recover' | 'replay';
export type BulkOperationStatus = 'running' | 'completed' | 'failed';

/** A recover or replay of one subscription, run by a workflow that reports its progress here. */
export interface BulkOperationDocument {
  _id: string;
  type: BulkOperationType;
  subscriptionId: string;
  /** What the request selected: a time for recover, a record or a kind and a time for replay. */
  selection: { since: Date | null; kind: string | null; recordId: string | null };
  status: BulkOperationStatus;
  statusReason: string | null;
  /** Items that matched when the operation was created; the progress bar's end. */
  total: number;
  /** Items looked at so far. Moved with `$max`, so a retried page never counts twice. */
  processed: number;
  /** Deliveries started. Also moved with `$max`. */
  started: number;
  workflowId: string;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
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
  /** The first characters of the token, such as `dbk_3kq9Vx2a`, so a key can be recognized without its token. */
  prefix: string;
  createdAt: Date;
  /** When the key was revoked, or null while it is valid. */
  revokedAt: Date | null;
}

/**
 * A pointer to a record's latest event, stored under the record's path. FerretDB's SQLite backend
 * uses an index only for a lookup by `_id`, so finding the latest version in `events` reads every
 * event. With this document a read takes two lookups by `_id`.
 */
export interface RecordHeadDocument {
  /** The record's path, `kind/recordId`. */
  _id: string;
  /** The highest version written so far. Moved with `$max`, so a slower writer never moves it back. */
  version: number;
  /**
   * Event ids by version, keyed `v<version>`. Each writer sets its own entry in the same update as
   * the `$max`, so the entry of `version` is always present. The update also removes the entry of
   * the version before, which keeps the map small.
   */
  eventIds: Record<string, string>;
}
