import { createHash } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Filter } from 'mongodb';
import type { Logger } from 'pino';
import type { DeliveryMode, DeliveryOrdering, EventType, HttpMethod, SubscriptionDocument, SubscriptionStatus } from '../store/documents.js';
import { isDuplicateKeyError, type Store } from '../store/mongo.js';
import type { TemporalTarget } from '../temporal/start-workflows.js';
import { newSubscriptionId } from './ids.js';
import { generateSigningSecret, type SecretBox } from './secrets.js';
import { generateEd25519KeyPair, type SignatureScheme } from './signing-keys.js';
import type { HeaderPair } from './subscription-headers.js';

export interface SubscriptionRequest {
  /** The account of the calling API key, which owns the subscription. */
  accountId: string;
  target: string;
  kind: string;
  recordId: string | null;
  url: string;
  method: HttpMethod;
  secret: string | undefined;
  retryWindowDays: number | null;
  /** Absent sends every event type the target receives. */
  eventTypes?: EventType[];
  /** An existing subscription with target `operational`; the caller checks it. */
  operationalSubscriptionId?: string;
  /** Defaults to `none`. */
  ordering?: DeliveryOrdering;
  /** Defaults to `every-event`. */
  mode?: DeliveryMode;
  /** `v1` when omitted. A v1a subscription gets a generated ed25519 key pair and takes no `secret`. */
  signatureScheme?: SignatureScheme;
  headers?: HeaderPair[];
}

export interface CreatedSubscription {
  subscription: SubscriptionDocument;
  /** The plaintext `whsec_` secret, present only when this call created a v1 subscription. */
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
  const scheme = request.signatureScheme ?? 'v1';
  const key = newSigningKey(scheme, request.secret);
  const headers = request.headers ?? [];
  const now = new Date();
  const subscription: SubscriptionDocument = {
    _id: id,
    target: request.target,
    kind: request.kind,
    recordId: request.recordId,
    url: request.url,
    method: request.method,
    signatureScheme: scheme,
    secretCiphertext: deps.secretBox.encrypt(key.sealed, id),
    publicKey: key.publicKey,
    previousKey: null,
    headersCiphertext: headers.length === 0 ? null : deps.secretBox.encrypt(JSON.stringify(headers), id, 'headers'),
    headerNames: headers.map(([name]) => name),
    status: 'active',
    statusReason: null,
    retryWindowDays: request.retryWindowDays,
    ordering: request.ordering ?? 'none',
    mode: request.mode ?? 'every-event',
    dedupeKey,
    accountId: request.accountId,
    ...(request.eventTypes === undefined ? {} : { eventTypes: request.eventTypes }),
    ...(request.operationalSubscriptionId === undefined ? {} : { operationalSubscriptionId: request.operationalSubscriptionId }),
    createdAt: now,
    updatedAt: now,
  };
  await deps.store.subscriptions.insertOne(subscription);
  return { subscription, secret: key.secret, created: true };
}

/**
 * Makes a new signing key: for v1 the given `whsec_` secret or a generated one, for v1a a new
 * ed25519 key pair. `sealed` is what gets encrypted, `secret` what the caller may see once.
 */
function newSigningKey(scheme: SignatureScheme, givenSecret: string | undefined): { sealed: string; secret: string | null; publicKey: string | null } {
  if (scheme === 'v1a') {
    const pair = generateEd25519KeyPair();
    return { sealed: pair.privateKey, secret: null, publicKey: pair.publicKey };
  }
  const secret = givenSecret ?? generateSigningSecret();
  return { sealed: secret, secret, publicKey: null };
}

/** Error raised when a rotation request does not fit the subscription; `field` names the request field. */
export class InvalidRotationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidRotationError';
  }
}

/** Error raised when another request changed the subscription's key while this rotation ran. */
export class RotationConflictError extends Error {
  constructor(readonly subscriptionId: string) {
    super(`the signing key of subscription ${subscriptionId} changed while it was being rotated; send the request again`);
    this.name = 'RotationConflictError';
  }
}

/**
 * Replaces a subscription's signing secret (v1) or key pair (v1a). The replaced one keeps signing
 * beside the new one for `gracePeriodSeconds`, so receivers can switch without missing a webhook.
 * Only one replaced key is kept: rotating again during a grace period drops the older one at once.
 * Returns null when no subscription has this id (deleted ones count as absent).
 *
 * @throws InvalidRotationError when a secret is given for a v1a subscription, or equals the current one.
 * @throws RotationConflictError when a concurrent rotation changed the key first.
 */
export async function rotateSigningKey(
  deps: Deps,
  subscriptionId: string,
  options: { secret: string | undefined; gracePeriodSeconds: number },
): Promise<CreatedSubscription | null> {
  const current = await deps.store.subscriptions.findOne({ _id: subscriptionId, status: { $ne: 'deleted' } });
  if (current === null) {
    return null;
  }

  const scheme = current.signatureScheme ?? 'v1';
  if (scheme === 'v1a' && options.secret !== undefined) {
    throw new InvalidRotationError('secret', 'must be omitted for a v1a subscription, because Doorbell generates its ed25519 key pair');
  }
  if (options.secret !== undefined && deps.secretBox.decrypt(current.secretCiphertext, current._id) === options.secret) {
    throw new InvalidRotationError('secret', 'must differ from the current secret; omit it to have one generated');
  }

  const key = newSigningKey(scheme, options.secret);
  const now = new Date();
  const previousKey = options.gracePeriodSeconds === 0 ? null : { ciphertext: current.secretCiphertext, publicKey: current.publicKey ?? null, expiresAt: new Date(now.getTime() + options.gracePeriodSeconds * 1000) };

  // Matching the old ciphertext makes two concurrent rotations fail one of them instead of losing a key.
  // NOTE: FerretDB runs an update as a read and a write, so there the guard narrows the race but does not close it.
  const updated = await deps.store.subscriptions.findOneAndUpdate(
    { _id: subscriptionId, status: { $ne: 'deleted' }, secretCiphertext: current.secretCiphertext },
    { $set: { secretCiphertext: deps.secretBox.encrypt(key.sealed, subscriptionId), publicKey: key.publicKey, previousKey, updatedAt: now } },
    { returnDocument: 'after' },
  );
  if (updated === null) {
    throw new RotationConflictError(subscriptionId);
  }
  return { subscription: updated, secret: key.secret, created: false };
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
    // Resuming starts the endpoint's health afresh, so the old failing streak cannot disable it again at once.
    status === 'active' ? { $set: set, $unset: { failingSince: '' } } : { $set: set },
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
