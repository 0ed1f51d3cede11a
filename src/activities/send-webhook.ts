import { Agent, errors as undiciErrors, request } from 'undici';
import { signWebhook, type SigningKey } from '../domain/signing-keys.js';
import { checkLiteralHost, createGuardedLookup, type AddressPolicy } from './address-guard.js';

/** Bytes of a receiver's response that are read at most; the rest is discarded unread. */
export const MAX_RESPONSE_BYTES_READ = 64 * 1024;
/** Bytes of a receiver's response kept with the attempt, for debugging. */
export const RESPONSE_BODY_KEPT_BYTES = 1024;

export interface SignedRequest {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  webhookId: string;
  body: string;
  /** One signature per key goes into `webhook-signature`: the current key first, then a rotated one in its grace period. */
  signingKeys: SigningKey[];
  /** The subscription's custom headers, validated when it was created; Doorbell's own headers override them. */
  extraHeaders: Record<string, string>;
}

export type SendResult =
  | { kind: 'response'; statusCode: number; retryAfterMs: number | null; body: string; durationMs: number; abort: boolean }
  | { kind: 'network-error'; error: string; durationMs: number };

/**
 * Signs and sends webhooks. Signing happens here, at send time, because receivers reject
 * timestamps older than a few minutes and a retry may come days after the event.
 * One keep-alive agent is shared so repeated deliveries to one origin reuse connections.
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(private readonly options: { timeoutMs: number; userAgent: string; addressPolicy: AddressPolicy }) {
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      // Every socket resolves its host through the guard, so the address connected to is the one checked.
      connect: { timeout: options.timeoutMs, lookup: createGuardedLookup(options.addressPolicy) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  async send(signed: SignedRequest): Promise<SendResult> {
    const blocked = checkLiteralHost(new URL(signed.url), this.options.addressPolicy);
    if (blocked !== undefined) {
      return { kind: 'network-error', error: `${blocked.code}: ${blocked.message}`, durationMs: 0 };
    }

    const timestamp = new Date();
    const signature = signWebhook(signed.signingKeys, signed.webhookId, timestamp, signed.body);
    const startedAt = performance.now();

    try {
      // undici's request() never follows redirects, so a 3xx is reported as the receiver's response.
      const response = await request(signed.url, {
        dispatcher: this.agent,
        method: signed.method,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: {
          ...signed.extraHeaders,
          'content-type': 'application/json',
          'user-agent': this.options.userAgent,
          'webhook-id': signed.webhookId,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body: signed.body,
      });

      const body = await readBounded(response.body, MAX_RESPONSE_BYTES_READ);
      return {
        kind: 'response',
        statusCode: response.statusCode,
        retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()),
        abort: isAbortRequested(response.headers[ABORT_HEADER]),
        body: body.subarray(0, RESPONSE_BODY_KEPT_BYTES).toString('utf8'),
        durationMs: Math.round(performance.now() - startedAt),
      };
    } catch (error) {
      return { kind: 'network-error', error: describeNetworkError(error, this.options.timeoutMs), durationMs: Math.round(performance.now() - startedAt) };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.length;
    if (total >= maxBytes) {
      // Stop reading: a receiver must not make us buffer an unbounded response.
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

/** Response header by which a receiver stops the retries of one delivery: `webhook-delivery: abort`. */
export const ABORT_HEADER = 'webhook-delivery';

/** True when the header's value is `abort`, in any letter case. */
export function isAbortRequested(header: string | string[] | undefined): boolean {
  const values = Array.isArray(header) ? header : [header];
  return values.some((value) => value?.trim().toLowerCase() === 'abort');
}

/** IMF-fixdate, the HTTP date form senders must use (RFC 9110, section 5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Parses a Retry-After header (RFC 9110, section 10.2.3): either delay-seconds or an IMF-fixdate.
 * Returns the delay in milliseconds, or null when the header is absent or malformed; obsolete
 * date forms count as malformed, because they are parsed ambiguously (local time zones).
 */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') {
    return null;
  }

  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed) * 1000;
  }

  if (!IMF_FIXDATE.test(trimmed)) {
    return null;
  }
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) {
    return null;
  }
  return Math.max(0, dateMs - nowMs);
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError || error instanceof undiciErrors.ConnectTimeoutError)) {
    return `timed out after ${timeoutMs} ms`;
  }

  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
