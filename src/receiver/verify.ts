import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { hasValidAsymmetricSignature, PUBLIC_KEY_PREFIX } from '../domain/signing-keys.js';

/** Tolerance of the Standard Webhooks reference libraries: a timestamp may be this far from now, either way. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/**
 * The body of a Doorbell record webhook. `TRecord` is the type of the record as the provider wrote
 * it; `record` is null in a `record.deleted` event. Operational events carry other `data`.
 */
export interface WebhookEvent<TRecord = unknown> {
  type: 'record.created' | 'record.updated' | 'record.deleted';
  timestamp: string;
  data: { kind: string; id: string; version: number; eventId: string; record: TRecord };
}

export type RejectionReason = 'missing-headers' | 'invalid-timestamp' | 'invalid-signature' | 'stale-timestamp' | 'invalid-payload';

/** Reason a webhook was rejected. `status` is the HTTP status the receiver should respond with. */
export class WebhookRejectedError extends Error {
  constructor(
    readonly reason: RejectionReason,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookRejectedError';
  }
}

/**
 * Verifies a webhook and returns its event. `secret` is the subscription's `whsec_` secret, or for
 * a subscription with ed25519 signatures its `whpk_` public key, which checks the `v1a` entries.
 * The signature must be over the exact bytes received, so pass the raw body, never one parsed and
 * serialized again.
 *
 * @param options.toleranceSeconds how far `webhook-timestamp` may be from now, either way (default 300).
 * @throws WebhookRejectedError with status 400 when a header is missing, the timestamp is not Unix
 * seconds or is outside the tolerance, or the body is not a Doorbell event, and with status 401
 * when no signature matches.
 */
export function verifyWebhook<TRecord = unknown>(
  secret: string,
  rawBody: string | Buffer,
  headers: Record<string, string | string[] | undefined>,
  options: { toleranceSeconds?: number } = {},
): WebhookEvent<TRecord> {
  const webhookId = headerValue(headers, 'webhook-id');
  const timestampText = headerValue(headers, 'webhook-timestamp');
  const signatures = headerValue(headers, 'webhook-signature');
  const missing = Object.entries({ 'webhook-id': webhookId, 'webhook-timestamp': timestampText, 'webhook-signature': signatures })
    .filter(([, value]) => value === undefined || value === '')
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new WebhookRejectedError('missing-headers', 400, `missing header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  if (!/^\d{1,12}$/.test(timestampText!)) {
    throw new WebhookRejectedError('invalid-timestamp', 400, 'webhook-timestamp must be Unix time in seconds');
  }

  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const timestampSeconds = Number(timestampText);
  const ageSeconds = Math.floor(Date.now() / 1000) - timestampSeconds;
  if (Math.abs(ageSeconds) > toleranceSeconds) {
    const direction = ageSeconds > 0 ? `${ageSeconds} s old` : `${-ageSeconds} s in the future`;
    throw new WebhookRejectedError('stale-timestamp', 400, `webhook-timestamp is ${direction}, outside the tolerance of ${toleranceSeconds} s: check the receiver's clock`);
  }

  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const matches = secret.startsWith(PUBLIC_KEY_PREFIX)
    ? hasValidAsymmetricSignature(secret, webhookId!, timestampSeconds, body.toString('utf8'), signatures!)
    : hasMatchingSymmetricSignature(secret, webhookId!, timestampSeconds, body, signatures!);
  if (!matches) {
    throw new WebhookRejectedError('invalid-signature', 401, 'no webhook-signature matches the body: check the signing secret, and verify the raw body before any JSON parser');
  }

  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    throw new WebhookRejectedError('invalid-payload', 400, 'body is not JSON');
  }
  if (!isWebhookEvent(payload)) {
    throw new WebhookRejectedError('invalid-payload', 400, 'body is not a Doorbell event: expected type, timestamp and data');
  }
  return payload as WebhookEvent<TRecord>;
}

/**
 * Checks the `v1` (HMAC) entries of a signature header. The library's sign() computes the Standard
 * Webhooks HMAC; its verify() is not used because its timestamp tolerance is fixed at 5 minutes.
 */
function hasMatchingSymmetricSignature(secret: string, webhookId: string, timestampSeconds: number, body: Buffer, signatures: string): boolean {
  const expected = Buffer.from(new Webhook(secret).sign(webhookId, new Date(timestampSeconds * 1000), body));
  return signatures.split(' ').some((signature) => {
    const candidate = Buffer.from(signature);
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
}

/** Reads a header by its lower-case name from Node's headers or from a plain object in any case. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
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
