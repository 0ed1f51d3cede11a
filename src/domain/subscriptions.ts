import { createHash } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Filter } from 'mongodb';
import type { Logger } from 'pino';
import type { HttpMethod, SubscriptionDocument, SubscriptionStatus } from '../store/documents.js';
import { isDuplicateKeyError, type Store } from '../store/mongo.js';
import type { TemporalTarget } from '../temporal/start-workflows.js';
import { newSubscriptionId } from './ids.js';
import { generateSigningSecret, type SecretBox } from './secrets.js';

export interface SubscriptionRequest {
  /** The account of the API key that asks; it owns the subscription. */
  accountId: string;
  target: string;
  kind: string;
  recordId: string | null;
  url: string;
  method: HttpMethod;
  secret: string | undefined;
  retryWindowDays: number | null;
}

export interface CreatedSubscription {
  subscription: SubscriptionDocument;
  /** The plaintext secret, present only when this call created the subscription. */
  secret: string | null;
  created: boolean;
}

/** Error raised when a lookup repeats an existing subscription with another secret. */
export class SecretMismatchError extends Error {
  constructor(readonly subscriptionId: string) {
    super(`subscription ${subscriptionId} already exists for this record, method and URL with another secret`);
    this.name = 'SecretMismatchError';
  }
}

type Deps = { store: Store; secretBox: SecretBox };

/** Creates a subscription. Every call creates a new one, as several teams may watch one URL. */
export async function createSubscription(deps: Deps, request: SubscriptionRequest): Promise<CreatedSubscription> {
  const id = newSubscriptionId();
  return insertSubscription(deps, request, id, `id:${id}`);
}

/**
 * Finds or creates the subscription a lookup leaves behind, keyed by account, target, method and
 * URL, so a client repeating its lookup gets the same subscription instead of a second webhook per
 * change. Another account's lookup of the same URL gets a subscription of its own.
 *
 * @throws SecretMismatchError when the repeat names another secret than the existing subscription's.
 */
export async function findOrCreateLookupSubscription(deps: Deps, request: SubscriptionRequest): Promise<CreatedSubscription> {
  const dedupeKey = lookupDedupeKey(request);
  const existing = await deps.store.subscriptions.findOne({ dedupeKey });
  if (existing !== null) {
    return reuse(deps, existing, request);
  }

  try {
    return await insertSubscription(deps, request, newSubscriptionId(), dedupeKey);
  } catch (error) {
    if (!isDuplicateKeyError(error)) {
      throw error;
    }
    // A concurrent identical lookup won the insert, so return its subscription.
    const winner = await deps.store.subscriptions.findOne({ dedupeKey });
    if (winner === null) {
      throw error;
    }
    return reuse(deps, winner, request);
  }
}

function reuse(deps: Deps, existing: SubscriptionDocument, request: SubscriptionRequest): CreatedSubscription {
  if (request.secret !== undefined && deps.secretBox.decrypt(existing.secretCiphertext, existing._id) !== request.secret) {
    throw new SecretMismatchError(existing._id);
  }
  return { subscription: existing, secret: null, created: false };
}

async function insertSubscription(deps: Deps, request: SubscriptionRequest, id: string, dedupeKey: string): Promise<CreatedSubscription> {
  const secret = request.secret ?? generateSigningSecret();
  const now = new Date();
  const subscription: SubscriptionDocument = {
    _id: id,
    target: request.target,
    kind: request.kind,
    recordId: request.recordId,
    url: request.url,
    method: request.method,
    secretCiphertext: deps.secretBox.encrypt(secret, id),
    status: 'active',
    statusReason: null,
    retryWindowDays: request.retryWindowDays,
    dedupeKey,
    accountId: request.accountId,
    createdAt: now,
    updatedAt: now,
  };
  await deps.store.subscriptions.insertOne(subscription);
  return { subscription, secret, created: true };
}

function lookupDedupeKey(request: SubscriptionRequest): string {
  const digest = createHash('sha256').update(`${request.accountId}\n${request.target}\n${request.method}\n${request.url}`).digest('hex');
  return `lookup:${digest}`;
}

/**
 * Changes a subscription's status. Pausing or deleting it also cancels its pending deliveries,
 * so nothing more is sent; they show as cancelled and can be redelivered after a resume.
 * Returns null when no subscription has this id (deleted ones count as absent), or when it lies
 * outside `scope`, a filter such as `{ accountId }` that limits the change to one owner.
 */
export async function setSubscriptionStatus(
  deps: { store: Store; temporal: TemporalTarget; logger: Logger },
  subscriptionId: string,
  status: Exclude<SubscriptionStatus, 'disabled'>,
  scope: Filter<SubscriptionDocument> = {},
): Promise<SubscriptionDocument | null> {
  const set: Partial<SubscriptionDocument> = { status, statusReason: null, updatedAt: new Date() };
  if (status === 'deleted') {
    // Free the lookup key so a later lookup for the same endpoint creates a fresh subscription.
    set.dedupeKey = `deleted:${subscriptionId}`;
  }

  const updated = await deps.store.subscriptions.findOneAndUpdate(
    { ...scope, _id: subscriptionId, status: { $ne: 'deleted' } },
    { $set: set },
    { returnDocument: 'after' },
  );
  if (updated === null) {
    return null;
  }

  if (status === 'paused' || status === 'deleted') {
    await cancelPendingDeliveries(deps, subscriptionId);
  }
  return updated;
}

async function cancelPendingDeliveries(deps: { store: Store; temporal: TemporalTarget; logger: Logger }, subscriptionId: string): Promise<void> {
  const pending = deps.store.deliveries.find({ subscriptionId, status: { $in: ['pending', 'retrying'] } }).project<{ _id: string; workflowId: string }>({ workflowId: 1 });

  let cancelled = 0;
  for await (const delivery of pending) {
    try {
      await deps.temporal.client.workflow.getHandle(delivery.workflowId).cancel();
      cancelled++;
    } catch (error) {
      // A workflow that already closed has nothing left to cancel.
      if (!(error instanceof WorkflowNotFoundError)) {
        throw error;
      }
    }
  }
  deps.logger.info({ subscriptionId, cancelled }, 'Pending deliveries cancelled');
}
