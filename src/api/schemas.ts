import { z } from 'zod';
import { ACCOUNT_ID_PATTERN } from '../domain/api-keys.js';
import { RECORD_KEY_PATTERN, RECORD_KEY_RULE } from '../domain/ids.js';
import { describeInvalidSecret } from '../domain/secrets.js';
import { SIGNATURE_SCHEMES } from '../domain/signing-keys.js';
import { findHeaderIssues, MAX_HEADER_VALUE_LENGTH, MAX_HEADERS, MAX_HEADERS_TOTAL_BYTES } from '../domain/subscription-headers.js';
import { API_KEY_ROLES, DELIVERY_MODES, DELIVERY_ORDERINGS, DELIVERY_STATUSES, EVENT_TYPES, HTTP_METHODS, OPERATIONAL_EVENT_TYPES, OPERATIONAL_TARGET, RECORD_EVENT_TYPES, isOperationalEventType, type EventType } from '../store/documents.js';

const MAX_URL_LENGTH = 2048;
const MAX_RETRY_WINDOW_DAYS = 3650;

export const recordKey = z.string().regex(RECORD_KEY_PATTERN, RECORD_KEY_RULE);

export const recordParams = z
  .object({
    kind: recordKey.meta({ description: 'Record kind: 1 to 128 letters, digits, `_` or `-`, starting with a letter or digit.', example: 'orders' }),
    id: recordKey.meta({ description: 'Record id within its kind, with the same rule as the kind.', example: 'ord-2001' }),
  })
  .strict();

export const idParam = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be an id as returned by the API')
      .meta({ description: 'Id as returned by the API.', example: 'sub_01M91BFKZ2N5NSTJ93E7ZYQCX2' }),
  })
  .strict();

/** An endpoint URL: absolute http(s), no credentials in it, at most 2048 characters. */
export const endpointUrl = z
  .string()
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .superRefine((value, ctx) => {
    // The URL parser drops tabs and line breaks, so they would pass it and stay in the stored text.
    if (/[\x00-\x20\x7F]/.test(value)) {
      ctx.addIssue({ code: 'custom', message: 'must not contain spaces or control characters such as CR, LF or NUL; percent-encode them' });
      return;
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be an absolute URL such as https://example.com/hooks, got ${JSON.stringify(value)}` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `endpoint URL must use http or https, got ${url.protocol}` });
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'must not contain a username or password; authenticate receivers by the webhook signature' });
    }
  })
  .meta({ description: 'Absolute http or https URL without a username or password.', format: 'uri', example: 'https://example.com/hooks/orders' });

export const httpMethod = z.enum(HTTP_METHODS, { message: `must be one of ${HTTP_METHODS.join(', ')}` }).meta({ description: 'HTTP method of the webhook requests.' });

export const signingSecret = z
  .string()
  .superRefine((value, ctx) => {
    const problem = describeInvalidSecret(value);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem });
    }
  })
  .meta({
    description: 'Standard Webhooks signing secret: `whsec_` followed by standard base64 of 24 to 64 bytes.',
    example: 'whsec_+hdtegydQrecDUZvn2a0Hl1db5JJmLfh/Dbih7s76Vs=',
  });

const retryWindowDays = z
  .number({ message: 'must be a number of days, or null to retry without end' })
  .positive('must be greater than 0, or null to retry without end')
  .max(MAX_RETRY_WINDOW_DAYS, `must be at most ${MAX_RETRY_WINDOW_DAYS} days, or null to retry without end`)
  .nullable()
  .meta({ description: 'Days a delivery is retried, fractions allowed, or null to retry without end.', example: 7 });

/** RECORD_KEY_PATTERN without its anchors, to build the documented pattern of a target from it. */
const RECORD_KEY_BODY = RECORD_KEY_PATTERN.source.replace(/^\^/, '').replace(/\$$/, '');

/** `kind/id` for one record, `kind/*` for every record of a kind, or `operational` for operational events. */
export const subscriptionTarget = z
  .string()
  .superRefine((value, ctx) => {
    if (value === OPERATIONAL_TARGET) {
      return;
    }
    const [kind, id, ...rest] = value.split('/');
    const isValid = rest.length === 0 && kind !== undefined && id !== undefined && RECORD_KEY_PATTERN.test(kind) && (id === '*' || RECORD_KEY_PATTERN.test(id));
    if (!isValid) {
      ctx.addIssue({ code: 'custom', message: `must be "kind/id", "kind/*" or "${OPERATIONAL_TARGET}", where kind and id ${RECORD_KEY_RULE}; got ${JSON.stringify(value)}` });
    }
  })
  .meta({
    description: `\`kind/id\` for one record, \`kind/*\` for every record of a kind, or \`${OPERATIONAL_TARGET}\` for the operational events of the subscriptions that name this one.`,
    // This pattern only documents the rule for clients. The superRefine above validates it.
    pattern: `^(${RECORD_KEY_BODY}/(${RECORD_KEY_BODY}|\\*)|${OPERATIONAL_TARGET})$`,
    example: 'orders/*',
  });

export const subscriptionId = z.string().regex(/^sub_[A-Za-z0-9]{1,40}$/, 'must be a subscription id such as sub_01J...');

const eventTypes = z
  .array(z.enum(EVENT_TYPES as [EventType, ...EventType[]], { message: `must be one of ${EVENT_TYPES.join(', ')}` }))
  .min(1, 'must name at least one event type, or be omitted to receive every type')
  .refine((types) => new Set(types).size === types.length, 'must not repeat an event type')
  .meta({ description: 'Only these event types are sent to the subscription. Omitted: every type its target receives.', example: ['record.created', 'record.deleted'] });

export const callbackBody = z
  .object({
    url: endpointUrl,
    method: httpMethod.default('POST'),
    secret: signingSecret.optional().meta({ description: 'Signing secret to use. When omitted, Doorbell generates one and returns it once.' }),
    retryWindowDays: retryWindowDays.optional(),
  })
  .strict();

export const lookupBody = z.object({ callback: callbackBody }).strict();

export const deliveryOrdering = z.enum(DELIVERY_ORDERINGS, { message: `must be one of ${DELIVERY_ORDERINGS.join(', ')}` }).meta({
  description:
    '`per-record` delivers the versions of each record in version order: a newer version waits until the delivery of the older one succeeded, failed or was cancelled. Different records stay parallel. `none` sends every delivery on its own schedule.',
});

export const deliveryMode = z.enum(DELIVERY_MODES, { message: `must be one of ${DELIVERY_MODES.join(', ')}` }).meta({
  description:
    '`latest` lets a newer version of a record replace a delivery of an older one that is still pending, which then ends as `superseded`. It also delivers each record in version order. `every-event` delivers every version.',
});

/**
 * Custom headers of a subscription. JSON.parse keeps a `__proto__` key as an own property, but
 * zod's record drops it without an issue, so the preprocess step rejects it first.
 */
export const subscriptionHeaders = z
  .preprocess(
    (value, ctx) => {
      if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
        ctx.issues.push({ code: 'custom', message: 'header name __proto__ is not allowed; remove it', path: ['__proto__'], input: value });
      }
      return value;
    },
    z.record(z.string(), z.string({ message: 'header value must be a string' }), { message: 'must be an object of header names and string values' }),
  )
  .superRefine((headers, ctx) => {
    for (const issue of findHeaderIssues(headers)) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.name === undefined ? [] : [issue.name] });
    }
  })
  .meta({
    description:
      `Headers added to every delivery, such as a token the receiver checks: at most ${MAX_HEADERS}, names are HTTP tokens, values at most ${MAX_HEADER_VALUE_LENGTH} ` +
      `visible ASCII characters, ${MAX_HEADERS_TOTAL_BYTES} bytes in all. Host, Content-Type, Content-Length, Content-Encoding, User-Agent, Expect, hop-by-hop ` +
      'headers, Proxy-* and webhook-* are rejected. Values are stored encrypted and never returned; responses list the names only.',
    example: { Authorization: 'Bearer rcv_token_123', 'X-Tenant': 'acme' },
  });

const signatureOptions = z
  .strictObject({
    scheme: z.enum(SIGNATURE_SCHEMES, { message: `must be one of ${SIGNATURE_SCHEMES.join(', ')}` }).meta({
      description: '`v1`: HMAC-SHA256 with a shared `whsec_` secret. `v1a`: ed25519; Doorbell keeps the private key and returns the `whpk_` public key.',
    }),
  })
  .meta({ description: 'Signature scheme of the deliveries. Omit it for `v1`.' });

export const createSubscriptionBody = callbackBody
  .extend({
    target: subscriptionTarget,
    eventTypes: eventTypes.optional(),
    operationalSubscriptionId: subscriptionId.optional().meta({
      description: `Id of a subscription with target \`${OPERATIONAL_TARGET}\` that receives this subscription's operational events: ${OPERATIONAL_EVENT_TYPES.join(', ')}.`,
    }),
    ordering: deliveryOrdering.default('none'),
    mode: deliveryMode.default('every-event'),
    headers: subscriptionHeaders.optional(),
    signature: signatureOptions.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.signature?.scheme === 'v1a' && body.secret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'must be omitted when signature.scheme is v1a, because Doorbell generates the ed25519 key pair' });
    }
    const isOperational = body.target === OPERATIONAL_TARGET;
    const misfits = (body.eventTypes ?? []).filter((type) => isOperationalEventType(type) !== isOperational);
    if (misfits.length > 0) {
      const allowed = isOperational ? OPERATIONAL_EVENT_TYPES : RECORD_EVENT_TYPES;
      ctx.addIssue({ code: 'custom', path: ['eventTypes'], message: `${misfits.join(', ')} never reach target ${JSON.stringify(body.target)}; use ${allowed.join(', ')}` });
    }
    if (isOperational && body.operationalSubscriptionId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['operationalSubscriptionId'], message: 'an operational subscription has no operational events of its own; remove this field' });
    }
  });

/** Oldest `since` a recover accepts: failed deliveries further back are left alone. */
export const MAX_RECOVER_WINDOW_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

const since = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time such as 2026-12-01T00:00:00Z' }).transform((text) => new Date(text));

export const recoverBody = z
  .object({
    since: since.meta({ description: `Recover deliveries created at or after this time, at most ${MAX_RECOVER_WINDOW_DAYS} days ago.`, example: '2026-12-01T00:00:00Z' }),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (!(body.since instanceof Date)) {
      // Zod runs this refinement even when `since` itself failed, and that failure is reported already.
      return;
    }
    const oldestMs = Date.now() - MAX_RECOVER_WINDOW_DAYS * DAY_MS;
    if (body.since.getTime() < oldestMs) {
      ctx.addIssue({ code: 'custom', path: ['since'], message: `must be at most ${MAX_RECOVER_WINDOW_DAYS} days ago (not before ${new Date(oldestMs).toISOString()}); recover older deliveries one by one with redeliver` });
    }
    if (body.since.getTime() > Date.now()) {
      ctx.addIssue({ code: 'custom', path: ['since'], message: 'must not be in the future' });
    }
  });

export const replayBody = z
  .object({
    record: z
      .string()
      .superRefine((value, ctx) => {
        const [kind, id, ...rest] = value.split('/');
        if (rest.length > 0 || kind === undefined || id === undefined || !RECORD_KEY_PATTERN.test(kind) || !RECORD_KEY_PATTERN.test(id)) {
          ctx.addIssue({ code: 'custom', message: `must be "kind/id", where kind and id ${RECORD_KEY_RULE}; got ${JSON.stringify(value)}` });
        }
      })
      .optional()
      .meta({ description: 'Replay every event of this record (`kind/id`), oldest first.', example: 'products/p21' }),
    kind: recordKey.optional().meta({ description: 'Replay the events of every record of this kind since `since`. Requires `since`.', example: 'products' }),
    since: since.optional().meta({ description: 'With `kind`: replay events written at or after this time.', example: '2026-12-01T00:00:00Z' }),
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.record === undefined) === (body.kind === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['record'], message: 'give either record ("kind/id") or kind with since, not both and not neither' });
    }
    if (body.kind !== undefined && body.since === undefined) {
      ctx.addIssue({ code: 'custom', path: ['since'], message: 'is required with kind: replay events written at or after this time' });
    }
    if (body.record !== undefined && body.since !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['since'], message: 'applies only to kind; a record replay sends every event of the record' });
    }
  });

export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 60 * 60;
export const DEFAULT_GRACE_PERIOD_SECONDS = 24 * 60 * 60;

export const rotateSecretBody = z
  .strictObject({
    secret: signingSecret.optional().meta({ description: 'New `whsec_` secret of a `v1` subscription. When omitted, Doorbell generates one. Not allowed for `v1a`.' }),
    gracePeriodSeconds: z
      .int({ message: `must be a whole number of seconds from 0 to ${MAX_GRACE_PERIOD_SECONDS}` })
      .min(0, `must be a whole number of seconds from 0 to ${MAX_GRACE_PERIOD_SECONDS}`)
      .max(MAX_GRACE_PERIOD_SECONDS, `must be at most ${MAX_GRACE_PERIOD_SECONDS} seconds (30 days)`)
      .default(DEFAULT_GRACE_PERIOD_SECONDS)
      .meta({ description: 'Seconds the replaced secret or key keeps signing beside the new one; 0 drops it at once.', example: DEFAULT_GRACE_PERIOD_SECONDS }),
  })
  .optional()
  .meta({ description: 'Optional. An empty request rotates to a generated secret with a grace period of 24 hours.' });

const limit = z.coerce
  .number({ message: 'must be an integer from 1 to 100' })
  .int('must be an integer from 1 to 100')
  .min(1, 'must be an integer from 1 to 100')
  .max(100, 'must be an integer from 1 to 100')
  .default(50)
  .meta({ description: 'Maximum number of items in the page.' });
const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be the nextCursor of a previous page')
  .optional()
  .meta({ description: 'The `nextCursor` of the previous page. Omit it for the first page.' });

export const listSubscriptionsQuery = z
  .object({
    target: subscriptionTarget.optional().meta({ description: 'Only subscriptions with exactly this target; `orders/*` does not match `orders/ord-1`.' }),
    status: z.enum(['active', 'paused', 'disabled'], { message: 'must be one of active, paused, disabled' }).optional().meta({ description: 'Only subscriptions with this status.' }),
    limit,
    cursor,
  })
  .strict();

export const listDeliveriesQuery = z
  .object({
    subscriptionId: subscriptionId.optional().meta({ description: 'Only deliveries to this subscription.' }),
    eventId: z.string().regex(/^evt_[A-Za-z0-9]{1,40}$/, 'must be an event id such as evt_01J...').optional().meta({ description: 'Only deliveries of this event.' }),
    status: z
      .enum(DELIVERY_STATUSES as [string, ...string[]], { message: `must be one of ${DELIVERY_STATUSES.join(', ')}` })
      .optional()
      .meta({ description: 'Only deliveries with this status.' }),
    limit,
    cursor,
  })
  .strict();

/** Maximum nesting of objects and arrays in a record, so receivers' recursive JSON parsers cannot overflow their stack. */
export const MAX_RECORD_DEPTH = 64;

/**
 * Returns why a parsed record is rejected, or undefined. It walks the value without recursion
 * and stops at the first problem, so a deeply nested body cannot exhaust the stack here either.
 */
export function describeInvalidRecord(record: unknown): string | undefined {
  const pending: Array<{ value: unknown; depth: number }> = [{ value: record, depth: 1 }];
  while (pending.length > 0) {
    const { value, depth } = pending.pop()!;
    if (typeof value !== 'object' || value === null) {
      continue;
    }
    if (depth > MAX_RECORD_DEPTH) {
      return `nests objects and arrays more than ${MAX_RECORD_DEPTH} levels deep; flatten it`;
    }
    for (const [key, child] of Object.entries(value)) {
      // JSON.parse makes "__proto__" an own key; a receiver that merges the record into an object would change its prototype.
      if (key === '__proto__') {
        return 'contains the key "__proto__", which receivers may treat as a prototype; rename it';
      }
      pending.push({ value: child, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * A record body: any JSON object. The write route also checks the parsed JSON with
 * describeInvalidRecord, because this schema's output drops a top-level `__proto__` key.
 */
export const recordBody = z
  .record(z.string(), z.unknown(), { message: 'record body must be a JSON object' })
  .meta({ description: 'The record: any JSON object. It is stored and sent to subscribers as the bytes received.', example: { status: 'shipped', carrier: 'DHL', items: 2 } });

export const createApiKeyBody = z
  .object({
    name: z
      .string()
      .regex(/^[\x20-\x7E]{1,100}$/, 'must be 1 to 100 printable ASCII characters')
      .meta({ description: 'Who or what uses the key, shown in the list of keys.', example: 'orders-service' }),
    role: z.enum(API_KEY_ROLES, { message: `must be one of ${API_KEY_ROLES.join(', ')}` }).meta({ description: 'What the key may do.' }),
    account: z
      .string()
      .regex(ACCOUNT_ID_PATTERN, 'must be 1 to 64 letters, digits, "_" or "-", starting with a letter or digit, such as the account of an existing key')
      .optional()
      .meta({ description: 'Account to join, such as the `account` of an existing key, to share its subscriptions. Omit it to give the key an account of its own.', example: 'key_01M91BFKZ2N5NSTJ93E7ZYQCX2' }),
  })
  .strict();

export const listApiKeysQuery = z
  .object({
    role: z.enum(API_KEY_ROLES, { message: `must be one of ${API_KEY_ROLES.join(', ')}` }).optional().meta({ description: 'Only keys with this role.' }),
    limit,
    cursor,
  })
  .strict();
