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
  status: string;
  statusReason: string | null;
  retryWindowDays: number | null;
  createdAt: string;
  updatedAt: string;
}

/** The response that created a subscription, the only one with its signing secret. */
export interface CreatedSubscription extends Subscription {
  secret: string;
}

export interface Delivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  subscriptionId: string;
  record: { kind: string; id: string; version: number };
  status: string;
  statusReason: string | null;
  attemptCount: number;
  nextAttemptAt: string | null;
  workflowId: string;
  workflowUrl: string;
  createdAt: string;
  updatedAt: string;
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
