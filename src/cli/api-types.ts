/** The JSON shapes of the API responses the CLI reads. Dates arrive as ISO 8601 strings. */

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface RecordWritten {
  kind: string;
  id: string;
  version: number;
  eventId: string;
}

export interface StoredRecord {
  kind: string;
  id: string;
  version: number;
  data: unknown;
  createdAt: string;
  updatedAt: string;
  eventId: string;
}

export interface Subscription {
  id: string;
  target: string;
  url: string;
  method: string;
  signature: { scheme: 'v1' | 'v1a'; publicKey: string | null; previousKeyExpiresAt: string | null; previousPublicKey: string | null };
  headerNames: string[];
  status: string;
  statusReason: string | null;
  retryWindowDays: number | null;
  createdAt: string;
  updatedAt: string;
}

/** The response that created a subscription, the only one with its signing secret; null for v1a. */
export interface CreatedSubscription extends Subscription {
  secret: string | null;
}

/** The response of a rotation, the only one with the new secret; null for v1a, whose new key is `signature.publicKey`. */
export interface RotatedSecret extends Subscription {
  secret: string | null;
}

export interface Delivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  subscriptionId: string;
  /** Null for an operational event. */
  record: { kind: string; id: string; version: number } | null;
  replayOperationId: string | null;
  status: string;
  statusReason: string | null;
  attemptCount: number;
  nextAttemptAt: string | null;
  workflowId: string;
  workflowUrl: string;
  createdAt: string;
  updatedAt: string;
}

/** A recover or replay of one subscription, as `GET /v1/operations/{id}` returns it. */
export interface BulkOperation {
  id: string;
  type: 'recover' | 'replay';
  subscriptionId: string;
  selection: { since: string | null; kind: string | null; recordId: string | null };
  status: 'running' | 'completed' | 'failed';
  statusReason: string | null;
  total: number;
  processed: number;
  started: number;
  workflowId: string;
  workflowUrl: string;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface ApiKey {
  id: string;
  name: string;
  role: string;
  account: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/** The response that created an API key, the only one with its token. */
export interface CreatedApiKey extends ApiKey {
  token: string;
}
