import { ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import { disableIfFailingTooLong, failingStreakStart, recordEndpointFailure, recordEndpointSuccess } from '../domain/endpoint-health.js';
import { operationalEventsAfter } from '../domain/operational-events.js';
import { buildWebhookBody } from '../domain/payload.js';
import type { SecretBox } from '../domain/secrets.js';
import type { SigningKey } from '../domain/signing-keys.js';
import type { HeaderPair } from '../domain/subscription-headers.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { AttemptDocument, DeliveryStatus, SubscriptionDocument } from '../store/documents.js';
import type { Store } from '../store/mongo.js';
import { planRetry } from '../workflows/retry-schedule.js';
import { startCatchUpIfWaiting } from './catch-up.js';
import type { AttemptDeliveryInput, AttemptOutcome } from './types.js';
import { endpointOrigin, type EndpointConcurrencyLimiter } from './endpoint-limiter.js';
import type { SendResult, WebhookSender } from './send-webhook.js';

/** Interval of the attempt's heartbeats; the workflow's heartbeat timeout (10 s) must exceed it. */
const HEARTBEAT_AFTER_MS = 4_000;

/** Attempts kept on the delivery document; every attempt stays in the workflow history regardless. */
const ATTEMPTS_KEPT = 50;

/**
 * Creates the activity that makes one delivery attempt: it loads the event and the subscription,
 * takes a slot of the endpoint's concurrency cap, decrypts the signing keys and custom headers,
 * signs, sends, and records the attempt with one MongoDB write. Keys and header values live only
 * in this function's memory; neither the input nor the returned outcome carries them.
 */
export function createAttemptDelivery(deps: {
  store: Store;
  secretBox: SecretBox;
  sender: WebhookSender;
  limiter: EndpointConcurrencyLimiter;
  metrics: Pick<WorkerMetrics, 'recordAttempt'>;
  /** How long every attempt to a subscription must fail before it is disabled. */
  endpointDisableAfterMs: number;
  catchUp: Parameters<typeof startCatchUpIfWaiting>[0];
}) {
  return async function attemptDelivery(input: AttemptDeliveryInput): Promise<AttemptOutcome> {
    // Most attempts end in well under HEARTBEAT_AFTER_MS and send no heartbeat at all.
    const heartbeats = setInterval(() => heartbeat(), HEARTBEAT_AFTER_MS);
    try {
      return await attempt(input);
    } finally {
      clearInterval(heartbeats);
    }
  };

  async function attempt(input: AttemptDeliveryInput): Promise<AttemptOutcome> {
    const delivery = await deliveryIds(deps.store, input);
    const ids = { deliveryId: delivery._id, eventId: delivery.eventId, subscriptionId: delivery.subscriptionId, attempt: input.attempt };

    const [event, subscription] = await Promise.all([
      deps.store.events.findOne({ _id: delivery.eventId }),
      deps.store.subscriptions.findOne({ _id: delivery.subscriptionId }),
    ]);
    if (event === null) {
      throw ApplicationFailure.nonRetryable(`event ${delivery.eventId} not found`, 'EventNotFound');
    }

    if (subscription === null || subscription.status !== 'active') {
      const reason = `subscription ${delivery.subscriptionId} is ${subscription?.status ?? 'deleted'}; nothing sent`;
      await deps.store.deliveries.updateOne(
        { _id: delivery._id },
        { $set: { status: 'cancelled', statusReason: reason, nextAttemptAt: null, updatedAt: new Date() } },
      );
      log.info('Delivery skipped', { ...ids, reason });
      deps.metrics.recordAttempt('skipped', null);
      return { kind: 'skipped', reason };
    }

    const origin = endpointOrigin(subscription.url);
    const release = deps.limiter.tryAcquire(origin);
    if (release === undefined) {
      // Nothing is written to the delivery: a deferral is not an attempt.
      log.debug('Delivery deferred: endpoint at its concurrency cap', { ...ids, origin, maxConcurrent: deps.limiter.maxPerEndpoint });
      deps.metrics.recordAttempt('deferred', null);
      return { kind: 'deferred', origin, maxConcurrent: deps.limiter.maxPerEndpoint };
    }

    const startedAt = new Date();
    const material = decryptSigningMaterial(deps.secretBox, subscription);
    let result: SendResult;
    try {
      result = material.ok
        ? await deps.sender.send({
            url: subscription.url,
            method: subscription.method,
            webhookId: delivery._id,
            body: buildWebhookBody(event),
            signingKeys: material.signingKeys,
            extraHeaders: material.headers,
          })
        : { kind: 'network-error', error: material.error, durationMs: 0 };
    } finally {
      // The exchange with the endpoint is over; the writes below need no slot of its origin.
      release();
    }

    let outcome: RecordedOutcome = toOutcome(result, input);
    // NOTE: a request the sender rejects before connecting is observed with its duration of 0 s.
    deps.metrics.recordAttempt(outcome.kind, material.ok ? result.durationMs : null);
    // The webhook is sent: from here on, a thrown error would make Temporal retry the activity and
    // send it again. So each write below is retried here, and if the attempt's record still fails,
    // the outcome goes back to the workflow marked unrecorded, which settles the delivery's status.
    let disabledStreakStart: Date | null = null;
    await writePatiently('endpoint health', ids, async () => {
      if (outcome.kind === 'delivered') {
        // A healthy endpoint needs no write; a success only has to end a streak it can see.
        if (failingStreakStart(subscription) !== null) {
          await recordEndpointSuccess(deps.store, subscription._id, startedAt);
        }
        return;
      }
      const afterFailure = await recordEndpointFailure(deps.store, subscription, startedAt);
      if (outcome.kind !== 'gone' && afterFailure !== null) {
        disabledStreakStart = await disableIfFailingTooLong(deps.store, afterFailure, Date.now(), deps.endpointDisableAfterMs);
      }
    });
    if (disabledStreakStart !== null && outcome.kind === 'failed') {
      // The subscription stops here, so this delivery ends now rather than at its next attempt.
      outcome = { ...outcome, plan: { kind: 'give-up', reason: `subscription disabled: every attempt failed since ${(disabledStreakStart as Date).toISOString()}` } };
      log.warn('Subscription disabled: every attempt failed for too long', { ...ids, failingSince: (disabledStreakStart as Date).toISOString() });
    }

    const attemptDocument = toAttemptDocument(result, input.attempt, startedAt);
    const recorded = await writePatiently('attempt record', ids, () => recordAttempt(deps.store, delivery._id, attemptDocument, outcome));

    if (outcome.kind === 'gone') {
      await writePatiently('subscription status', ids, () =>
        deps.store.subscriptions.updateOne(
          { _id: subscription._id, status: 'active' },
          { $set: { status: 'disabled', statusReason: 'endpoint responded 410 Gone', updatedAt: new Date() } },
        ),
      );
      log.warn('Subscription disabled: endpoint responded 410 Gone', ids);
    }

    if (outcome.kind === 'delivered' && failingStreakStart(subscription) !== null) {
      // The endpoint responds again after failing: deliveries of this subscription waiting on a
      // timer go now. A healthy endpoint has none waiting, so its successes skip the query.
      await startCatchUpIfWaiting(deps.catchUp, subscription._id);
    }

    logOutcome(outcome, ids);
    const summary = { ...delivery, eventType: event.type, kind: event.kind, recordId: event.recordId, version: event.version };
    const operationalEvents = operationalEventsAfter({ delivery: summary, subscription, outcome, attempt: input.attempt, retryStep: input.retryStep, disabledStreakStart });
    return {
      ...outcome,
      ...(operationalEvents.length === 0 ? {} : { operationalEvents }),
      ...(recorded ? {} : { unrecorded: true as const }),
    };
  }
}

/** Waits between the tries of a write after sending; FerretDB's SQLite backend reports a busy database for a moment under load. */
const WRITE_RETRY_DELAYS_MS = [100, 400, 1_000, 2_000];

/** Runs a MongoDB write that follows a sent webhook, retrying it; returns false, after a warning, when every try failed. */
async function writePatiently(what: string, ids: Record<string, unknown>, write: () => Promise<unknown>): Promise<boolean> {
  for (let retry = 0; ; retry++) {
    try {
      await write();
      return true;
    } catch (error) {
      const delayMs = WRITE_RETRY_DELAYS_MS[retry];
      if (delayMs === undefined) {
        log.warn(`Webhook sent but its ${what} was not written to MongoDB; the workflow history keeps the attempt`, { ...ids, error: (error as Error).message });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** Returns the ids of the delivery, its event and its subscription, reading the delivery only when the input lacks them. */
async function deliveryIds(store: Store, input: AttemptDeliveryInput): Promise<{ _id: string; eventId: string; subscriptionId: string }> {
  if (input.eventId !== undefined && input.subscriptionId !== undefined) {
    return { _id: input.deliveryId, eventId: input.eventId, subscriptionId: input.subscriptionId };
  }
  const delivery = await store.deliveries.findOne({ _id: input.deliveryId }, { projection: { eventId: 1, subscriptionId: 1 } });
  if (delivery === null) {
    throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} not found`, 'DeliveryNotFound');
  }
  return delivery;
}

/** The outcomes of an attempt that was made, which are the ones written to the delivery. */
type RecordedOutcome = Exclude<AttemptOutcome, { kind: 'deferred' }>;

type SigningMaterial = { ok: true; signingKeys: SigningKey[]; headers: Record<string, string> } | { ok: false; error: string };

/**
 * Decrypts a subscription's signing keys and custom headers. The key a rotation replaced is
 * included, after the current one, until its grace period ends. A failure, such as the wrong
 * DOORBELL_ENCRYPTION_KEY after a misconfigured deploy, counts as a failed attempt rather than an
 * activity error. So it shows on the delivery and follows the retry schedule, and the next
 * attempt after the key is fixed goes through.
 */
function decryptSigningMaterial(secretBox: SecretBox, subscription: SubscriptionDocument): SigningMaterial {
  const scheme = subscription.signatureScheme ?? 'v1';
  const toKey = (plaintext: string): SigningKey => (scheme === 'v1a' ? { scheme, privateKey: plaintext } : { scheme, secret: plaintext });
  try {
    const signingKeys = [toKey(secretBox.decrypt(subscription.secretCiphertext, subscription._id))];
    const previous = subscription.previousKey;
    if (previous !== undefined && previous !== null && previous.expiresAt.getTime() > Date.now()) {
      signingKeys.push(toKey(secretBox.decrypt(previous.ciphertext, subscription._id)));
    }

    const headers: Record<string, string> = {};
    if (subscription.headersCiphertext !== undefined && subscription.headersCiphertext !== null) {
      for (const [name, value] of JSON.parse(secretBox.decrypt(subscription.headersCiphertext, subscription._id, 'headers')) as HeaderPair[]) {
        headers[name] = value;
      }
    }
    return { ok: true, signingKeys, headers };
  } catch (error) {
    // Only decryption and the JSON of decrypted headers can fail here, and neither message repeats a value.
    const message = (error as Error).message;
    log.error('Signing key or headers cannot be decrypted; nothing sent', { subscriptionId: subscription._id, error: message });
    return { ok: false, error: `not sent: ${message}` };
  }
}

function toOutcome(result: SendResult, input: AttemptDeliveryInput): RecordedOutcome {
  if (result.kind === 'response' && result.statusCode >= 200 && result.statusCode < 300) {
    return { kind: 'delivered', statusCode: result.statusCode, durationMs: result.durationMs };
  }
  if (result.kind === 'response' && result.statusCode === 410) {
    return { kind: 'gone', statusCode: 410, durationMs: result.durationMs };
  }
  if (result.kind === 'response' && result.abort) {
    return { kind: 'aborted', statusCode: result.statusCode, durationMs: result.durationMs };
  }

  const retryAfterMs = result.kind === 'response' ? result.retryAfterMs : null;
  const plan = planRetry({ failedAttempt: input.retryStep, schedule: input.retrySchedule, retryAfterMs, failedAtMs: input.scheduledAtMs + result.durationMs, retryDeadlineMs: input.retryDeadlineMs });
  return {
    kind: 'failed',
    statusCode: result.kind === 'response' ? result.statusCode : null,
    error: result.kind === 'network-error' ? result.error : null,
    durationMs: result.durationMs,
    retryAfterMs,
    plan,
  };
}

function toAttemptDocument(result: SendResult, attempt: number, startedAt: Date): AttemptDocument {
  return {
    attempt,
    startedAt,
    durationMs: result.durationMs,
    statusCode: result.kind === 'response' ? result.statusCode : null,
    error: result.kind === 'network-error' ? result.error : null,
    responseBody: result.kind === 'response' ? result.body : null,
  };
}

async function recordAttempt(store: Store, deliveryId: string, attempt: AttemptDocument, outcome: RecordedOutcome): Promise<void> {
  const { status, statusReason, nextAttemptAt } = deliveryStateAfter(outcome);
  await store.deliveries.updateOne(
    { _id: deliveryId },
    {
      $push: { attempts: { $each: [attempt], $slice: -ATTEMPTS_KEPT } },
      $max: { attemptCount: attempt.attempt },
      $set: { status, statusReason, nextAttemptAt, updatedAt: new Date() },
    },
  );
}

function deliveryStateAfter(outcome: RecordedOutcome): { status: DeliveryStatus; statusReason: string | null; nextAttemptAt: Date | null } {
  switch (outcome.kind) {
    case 'delivered':
      return { status: 'succeeded', statusReason: null, nextAttemptAt: null };
    case 'gone':
      return { status: 'failed', statusReason: 'endpoint responded 410 Gone; subscription disabled', nextAttemptAt: null };
    case 'aborted':
      return { status: 'aborted', statusReason: `endpoint responded HTTP ${outcome.statusCode} with webhook-delivery: abort`, nextAttemptAt: null };
    case 'skipped':
      return { status: 'cancelled', statusReason: outcome.reason, nextAttemptAt: null };

    case 'failed':
      return outcome.plan.kind === 'give-up'
        ? { status: 'failed', statusReason: outcome.plan.reason, nextAttemptAt: null }
        : { status: 'retrying', statusReason: describeFailure(outcome), nextAttemptAt: new Date(outcome.plan.nextAttemptAtMs) };
    default:
      return assertNever(outcome);
  }
}

function describeFailure(outcome: Extract<AttemptOutcome, { kind: 'failed' }>): string {
  return outcome.statusCode === null ? `network error: ${outcome.error}` : `endpoint responded HTTP ${outcome.statusCode}`;
}

function logOutcome(outcome: RecordedOutcome, ids: Record<string, unknown>): void {
  switch (outcome.kind) {
    case 'delivered':
      log.info('Webhook delivered', { ...ids, statusCode: outcome.statusCode, durationMs: outcome.durationMs });
      return;
    case 'failed':
      // Receivers being down is expected, so a failed attempt is info, not an error of ours.
      log.info('Webhook attempt failed', { ...ids, statusCode: outcome.statusCode, error: outcome.error, durationMs: outcome.durationMs, plan: outcome.plan.kind });
      return;
    case 'aborted':
      log.info('Webhook delivery aborted by the receiver', { ...ids, statusCode: outcome.statusCode, durationMs: outcome.durationMs });
      return;
    case 'gone':
    case 'skipped':
      return;
    default:
      assertNever(outcome);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected attempt outcome: ${JSON.stringify(value)}`);
}
