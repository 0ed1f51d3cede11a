/**
 * The receiver kit: what an application needs to accept Doorbell's webhooks safely. It verifies
 * the Standard Webhooks signature over the raw body, rejects stale timestamps (replays), and
 * drops repeats of a `webhook-id` that was already handled, since delivery is at least once.
 */
import express, { type RequestHandler } from 'express';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { hasValidAsymmetricSignature, PUBLIC_KEY_PREFIX } from '../domain/signing-keys.js';

/** How far `webhook-timestamp` may be from the receiver's clock, the Standard Webhooks default. */
const TIMESTAMP_TOLERANCE_IN_SECONDS = 5 * 60;

/** A record event. `record` is null in a `record.deleted` event. Operational events carry other `data`. */
export interface WebhookEvent<TRecord = unknown> {
  type: 'record.created' | 'record.updated' | 'record.deleted';
  timestamp: string;
  data: { kind: string; id: string; version: number; eventId: string; record: TRecord };
}

/** Remembers handled webhook ids. Implement it over a shared store when several instances receive. */
export interface DuplicateStore {
  has(webhookId: string): Promise<boolean> | boolean;
  add(webhookId: string): Promise<void> | void;
}

/**
 * Keeps handled ids in memory for ttlMs, at most maxEntries of them (oldest dropped first).
 * Suits one process; ids are forgotten on restart, so the handler should still be idempotent.
 */
export class MemoryDuplicateStore implements DuplicateStore {
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: { ttlMs: number; maxEntries: number } = { ttlMs: 24 * 60 * 60 * 1000, maxEntries: 100_000 }) {}

  has(webhookId: string): boolean {
    const expiresAt = this.seen.get(webhookId);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  add(webhookId: string): void {
    this.seen.delete(webhookId);
    this.seen.set(webhookId, Date.now() + this.options.ttlMs);
    // Map keeps insertion order, so the first keys are the oldest.
    for (const oldest of this.seen.keys()) {
      if (this.seen.size <= this.options.maxEntries) {
        break;
      }
      this.seen.delete(oldest);
    }
  }
}

/** Reason a webhook was rejected. `status` is the HTTP status the receiver should respond with. */
export class WebhookRejectedError extends Error {
  constructor(
    readonly reason: 'missing-headers' | 'invalid-timestamp' | 'invalid-signature' | 'stale-timestamp' | 'invalid-payload',
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookRejectedError';
  }
}

/**
 * Verifies a webhook and returns its event. `secret` is the subscription's `whsec_` secret, or
 * for a subscription with ed25519 signatures its `whpk_` public key, which checks the `v1a` entries.
 *
 * @throws WebhookRejectedError when a header is missing, the timestamp is outside the tolerance
 * (5 minutes, the Standard Webhooks default), the signature does not match, or the body is not an event.
 */
export function verifyWebhook<TRecord = unknown>(secret: string, rawBody: string | Buffer, headers: Record<string, string | string[] | undefined>): WebhookEvent<TRecord> {
  const webhookHeaders = {
    'webhook-id': headerValue(headers, 'webhook-id'),
    'webhook-timestamp': headerValue(headers, 'webhook-timestamp'),
    'webhook-signature': headerValue(headers, 'webhook-signature'),
  };
  const missing = Object.entries(webhookHeaders).filter(([, value]) => value === undefined || value === '').map(([name]) => name);
  if (missing.length > 0) {
    throw new WebhookRejectedError('missing-headers', 400, `missing header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  if (!/^\d{1,12}$/.test(webhookHeaders['webhook-timestamp']!)) {
    throw new WebhookRejectedError('invalid-timestamp', 400, 'webhook-timestamp must be Unix time in seconds');
  }

  let payload: unknown;
  try {
    payload = secret.startsWith(PUBLIC_KEY_PREFIX)
      ? verifyAsymmetric(secret, rawBody.toString(), webhookHeaders as Record<string, string>)
      : new Webhook(secret).verify(rawBody.toString(), webhookHeaders as Record<string, string>);
  } catch (error) {
    if (error instanceof WebhookVerificationError && /timestamp/i.test(error.message)) {
      throw new WebhookRejectedError('stale-timestamp', 400, `webhook-timestamp is outside the accepted window: ${error.message}`);
    }
    if (error instanceof WebhookVerificationError) {
      throw new WebhookRejectedError('invalid-signature', 401, `signature does not match: ${error.message}`);
    }
    throw error;
  }

  if (!isWebhookEvent(payload)) {
    throw new WebhookRejectedError('invalid-payload', 400, 'body is not a Doorbell event: expected type, timestamp and data');
  }
  return payload as WebhookEvent<TRecord>;
}

/**
 * Verifies the `v1a` (ed25519) signatures of a webhook with a `whpk_` public key, raising the
 * same errors as the standardwebhooks package, whose JavaScript version checks `v1` only (1.3.0).
 */
function verifyAsymmetric(publicKey: string, body: string, headers: Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>): unknown {
  const timestampSeconds = Number(headers['webhook-timestamp']);
  const nowSeconds = Math.floor(Date.now() / 1000);
  if (nowSeconds - timestampSeconds > TIMESTAMP_TOLERANCE_IN_SECONDS) {
    throw new WebhookVerificationError('Message timestamp too old');
  }
  if (timestampSeconds - nowSeconds > TIMESTAMP_TOLERANCE_IN_SECONDS) {
    throw new WebhookVerificationError('Message timestamp too new');
  }
  if (!hasValidAsymmetricSignature(publicKey, headers['webhook-id'], timestampSeconds, body, headers['webhook-signature'])) {
    throw new WebhookVerificationError('No matching signature found');
  }
  return body.length === 0 ? undefined : (JSON.parse(body) as unknown);
}

/**
 * Express middleware that reads the raw body itself (signature checks fail once a JSON parser has
 * rewritten it, so mount this before express.json(), or after express.raw()), verifies it, skips duplicates, and calls
 * `onEvent`. It responds 204 when the event was handled or was a duplicate, the rejection's status
 * when verification fails, and 500 when onEvent throws, so Doorbell retries.
 */
export function webhookHandler<TRecord = unknown>(options: {
  secret: string;
  onEvent: (event: WebhookEvent<TRecord>, webhookId: string) => Promise<void> | void;
  duplicates?: DuplicateStore;
  onRejected?: (error: WebhookRejectedError) => void;
  maxBodyBytes?: number;
}): RequestHandler[] {
  const duplicates = options.duplicates ?? new MemoryDuplicateStore();
  const parseRaw = express.raw({ type: () => true, limit: options.maxBodyBytes ?? 1_048_576 });
  // A body an earlier express.raw() already read (to keep a copy, say) is verified as it is.
  const readRaw: RequestHandler = (req, res, next) => (Buffer.isBuffer(req.body) ? next() : parseRaw(req, res, next));

  const handle: RequestHandler = async (req, res) => {
    let event: WebhookEvent<TRecord>;
    try {
      event = verifyWebhook<TRecord>(options.secret, req.body as Buffer, req.headers);
    } catch (error) {
      if (error instanceof WebhookRejectedError) {
        options.onRejected?.(error);
        res.status(error.status).type('text/plain').send(error.message);
        return;
      }
      throw error;
    }

    const webhookId = headerValue(req.headers, 'webhook-id')!;
    if (await duplicates.has(webhookId)) {
      res.status(204).end();
      return;
    }

    await options.onEvent(event, webhookId);
    // Marked only after the handler succeeded: a failed handler must see the retry again.
    await duplicates.add(webhookId);
    res.status(204).end();
  };

  return [readRaw, handle];
}

/** Reads a header by its lower-case name from Node's headers or from a plain object in any case. */
function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const key = name in headers ? name : Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

function isWebhookEvent(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const event = value as Partial<WebhookEvent>;
  return typeof event.type === 'string' && typeof event.timestamp === 'string' && typeof event.data === 'object' && event.data !== null;
}
