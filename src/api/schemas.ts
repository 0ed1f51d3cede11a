import { z } from 'zod';
import { ACCOUNT_ID_PATTERN } from '../domain/api-keys.js';
import { RECORD_KEY_PATTERN, RECORD_KEY_RULE } from '../domain/ids.js';
import { describeInvalidSecret } from '../domain/secrets.js';
import { API_KEY_ROLES, DELIVERY_STATUSES, HTTP_METHODS } from '../store/documents.js';

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

/** `kind/id` for one record or `kind/*` for every record of a kind. */
export const subscriptionTarget = z
  .string()
  .superRefine((value, ctx) => {
    const [kind, id, ...rest] = value.split('/');
    const isValid = rest.length === 0 && kind !== undefined && id !== undefined && RECORD_KEY_PATTERN.test(kind) && (id === '*' || RECORD_KEY_PATTERN.test(id));
    if (!isValid) {
      ctx.addIssue({ code: 'custom', message: `must be "kind/id" or "kind/*", where kind and id ${RECORD_KEY_RULE}; got ${JSON.stringify(value)}` });
    }
  })
  .meta({
    description: '`kind/id` for one record or `kind/*` for every record of a kind.',
    // This pattern only documents the rule for clients. The superRefine above validates it.
    pattern: `^${RECORD_KEY_BODY}/(${RECORD_KEY_BODY}|\\*)$`,
    example: 'orders/*',
  });

export const callbackBody = z
  .object({
    url: endpointUrl,
    method: httpMethod.default('POST'),
    secret: signingSecret.optional().meta({ description: 'Signing secret to use. When omitted, Doorbell generates one and returns it once.' }),
    retryWindowDays: retryWindowDays.optional(),
  })
  .strict();

export const lookupBody = z.object({ callback: callbackBody }).strict();

export const createSubscriptionBody = callbackBody.extend({ target: subscriptionTarget }).strict();

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
    subscriptionId: z.string().regex(/^sub_[A-Za-z0-9]{1,40}$/, 'must be a subscription id such as sub_01J...').optional().meta({ description: 'Only deliveries to this subscription.' }),
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
