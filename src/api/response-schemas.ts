import { z } from 'zod';
import type { ZodOpenApiOverrideMetaContext } from 'zod-openapi';
import { SIGNATURE_SCHEMES } from '../domain/signing-keys.js';
import { API_KEY_ROLES, DELIVERY_STATUSES, EVENT_TYPES, HTTP_METHODS } from '../store/documents.js';
import { deliveryMode, deliveryOrdering, recordKey, signingSecret, subscriptionTarget } from './schemas.js';

/**
 * The JSON bodies the API sends, as zod schemas for the OpenAPI document. They describe what
 * views.ts and problem.ts produce. test/integration/openapi.test.ts parses real responses with
 * them, so a view that drifts from its schema fails there, and strict objects also catch extra fields.
 */

const timestamp = z.iso.datetime().meta({
  description: 'UTC time in ISO 8601 with milliseconds.',
  example: '2026-12-04T20:21:10.190Z',
  // The generated regular expression of an ISO date is long and adds nothing to `format` for a reader.
  override: ({ jsonSchema }: ZodOpenApiOverrideMetaContext) => {
    delete jsonSchema.pattern;
  },
});

const kind = recordKey.meta({ description: 'Record kind.', example: 'orders' });
const recordId = recordKey.meta({ description: 'Record id within its kind.', example: 'ord-2001' });
const eventId = z.string().meta({ description: 'Id of the event a record write created.', example: 'evt_01M91BFHXETNV3QZSJ5VHR6VRH' });
const subscriptionId = z.string().meta({ description: 'Subscription id.', example: 'sub_01M91BFKZ2N5NSTJ93E7ZYQCX2' });
const version = z.int().min(1).meta({ description: 'Record version: 1 for the first write, one more for each later write.', example: 1 });

export const recordWrittenResponse = z
  .strictObject({ kind, id: recordId, version, eventId })
  .meta({ id: 'RecordWritten', description: 'The version and event a record write created.' });

export const recordResponse = z
  .strictObject({
    kind,
    id: recordId,
    version,
    data: z.record(z.string(), z.unknown()).meta({ description: 'The record as written, parsed and serialized again by the API.', example: { status: 'shipped', carrier: 'DHL', items: 2 } }),
    createdAt: timestamp.meta({ description: 'Time of version 1.' }),
    updatedAt: timestamp.meta({ description: 'Time of the returned version.' }),
    eventId,
  })
  .meta({ id: 'Record', description: 'A record as of its latest version.' });

export const subscriptionResponse = z
  .strictObject({
    id: subscriptionId,
    target: subscriptionTarget,
    url: z.string().meta({ description: 'Callback URL.', example: 'https://example.com/hooks/orders' }),
    method: z.enum(HTTP_METHODS),
    signature: z
      .strictObject({
        scheme: z.enum(SIGNATURE_SCHEMES).meta({ description: '`v1` (HMAC-SHA256, `whsec_` secret) or `v1a` (ed25519, `whpk_` public key).' }),
        publicKey: z.string().nullable().meta({ description: 'The `whpk_` public key that verifies a v1a subscription\'s deliveries; null for v1.', example: null }),
        previousKeyExpiresAt: timestamp.nullable().meta({ description: 'While the key replaced by the last rotation still signs, when it stops; otherwise null.' }),
        previousPublicKey: z.string().nullable().meta({ description: 'The replaced `whpk_` public key of a v1a subscription while it still signs; otherwise null.', example: null }),
      })
      .meta({ description: 'How deliveries are signed. Secrets and private keys never appear here.' }),
    headerNames: z.array(z.string()).meta({ description: 'Names of the custom headers added to each delivery; their values are never returned.', example: ['Authorization'] }),
    status: z.enum(['active', 'paused', 'disabled']).meta({ description: '`disabled` after the receiver responded 410 Gone, or after every attempt failed for `ENDPOINT_DISABLE_AFTER`.' }),
    statusReason: z.string().nullable().meta({ description: 'Why the subscription was disabled, or null.' }),
    retryWindowDays: z.number().nullable().meta({ description: 'Days each delivery is retried, or null to retry without end.', example: 30 }),
    eventTypes: z.array(z.enum(EVENT_TYPES)).nullable().meta({ description: 'The event types sent to it, or null for every type its target receives.' }),
    operationalSubscriptionId: z.string().nullable().meta({ description: 'The subscription that receives its operational events, or null.' }),
    failingSince: timestamp.nullable().meta({ description: 'Start of the first failed attempt since the last success while every attempt fails, or null while the endpoint is healthy.' }),
    ordering: deliveryOrdering,
    mode: deliveryMode,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Subscription', description: 'A subscription, without its signing secret.' });

const secretOnce = signingSecret.meta({ description: 'The signing secret. Only the response that created the subscription contains it.' });

export const createdSubscriptionResponse = subscriptionResponse
  .extend({ secret: secretOnce.nullable().meta({ description: 'The `whsec_` signing secret, which no later response repeats; null for a v1a subscription, which has none.' }) })
  .meta({ id: 'CreatedSubscription', description: 'A new subscription with its signing secret, which no later response repeats.' });

export const rotatedSecretResponse = subscriptionResponse
  .extend({
    secret: secretOnce.nullable().meta({ description: 'The new `whsec_` secret, which no later response repeats; null for a v1a subscription, whose new public key is `signature.publicKey`.' }),
  })
  .meta({ id: 'RotatedSecret', description: 'The subscription after the rotation, with its new secret.' });

export const lookupFoundResponse = z
  .strictObject({
    status: z.literal('found'),
    record: recordResponse,
    subscription: subscriptionResponse.optional().meta({ description: 'Present when the record was written while this lookup created or found the subscription.' }),
    secret: secretOnce.optional(),
  })
  .meta({ id: 'LookupFound', description: 'The record exists.' });

export const lookupPendingResponse = z
  .strictObject({
    status: z.literal('pending'),
    message: z.string().meta({ example: 'record orders/ord-2001 does not exist yet; it will be sent to the callback URL when it is written' }),
    subscription: subscriptionResponse,
    secret: secretOnce.optional().meta({ description: 'Present only when this lookup created the subscription.' }),
  })
  .meta({ id: 'LookupPending', description: 'The record does not exist yet; the callback receives it when it is written.' });

const attemptResponse = z
  .strictObject({
    attempt: z.int().min(1).meta({ description: 'Attempt number over the whole life of the delivery, redeliveries included.' }),
    startedAt: timestamp,
    durationMs: z.int().min(0),
    statusCode: z.int().nullable().meta({ description: 'HTTP status of the response, or null when no response arrived.' }),
    error: z.string().nullable().meta({ description: 'Network error or timeout, or null when a response arrived.' }),
    responseBody: z.string().nullable().meta({ description: 'The first 1024 bytes of the response body.' }),
  })
  .meta({ id: 'Attempt' });

export const deliveryResponse = z
  .strictObject({
    id: z.string().meta({ description: 'Delivery id, also sent as the `webhook-id` header.', example: 'msg_01M91BG4ZF56KM0GBTRFWNMRQV_4H8Pa8seOy4l4zgY' }),
    webhookId: z.string().meta({ description: 'Same as `id`.' }),
    eventId,
    eventType: z.enum(EVENT_TYPES),
    subscriptionId,
    record: z.strictObject({ kind, id: recordId, version }).nullable().meta({ description: 'The record of a record event; null for an operational event.' }),
    replayOperationId: z.string().nullable().meta({ description: 'The replay that created this delivery, or null for a delivery made when its event was written.' }),
    status: z.enum(DELIVERY_STATUSES as [string, ...string[]]),
    statusReason: z.string().nullable().meta({ example: 'endpoint responded HTTP 503' }),
    attemptCount: z.int().min(0),
    nextAttemptAt: timestamp.nullable().meta({ description: 'When the next attempt is due, or null when none is planned.' }),
    supersededBy: z
      .strictObject({
        version: z.int().min(1).meta({ description: 'The newer record version that replaced this delivery.', example: 7 }),
        deliveryId: z.string().meta({ description: 'The delivery of that newer version.', example: 'msg_01M91BH0Q2Y7C9T3D5KX8RZC1A_Yq3Lk9wPz0aB2cDe' }),
      })
      .nullable()
      .meta({ description: 'With status `superseded`: the newer version that replaced the delivery. Null otherwise.' }),
    workflowId: z.string().meta({
      description: 'The delivery workflow, or the record stream workflow for a delivery superseded before its first attempt.',
      example: 'delivery:evt_01M91BG4ZF56KM0GBTRFWNMRQV:sub_01M91BG4YWSGSW57JEWFJAW2GJ',
    }),
    workflowUrl: z.url().meta({ description: 'Temporal Web UI page of the workflow named by `workflowId`.' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Delivery', description: 'One event sent to one subscription, without its attempts.' });

export const deliveryWithAttemptsResponse = deliveryResponse
  .extend({ attempts: z.array(attemptResponse).meta({ description: 'The latest 50 attempts, oldest first.' }) })
  .meta({ id: 'DeliveryWithAttempts', description: 'A delivery with its latest attempts.' });

export const bulkOperationResponse = z
  .strictObject({
    id: z.string().meta({ description: 'Operation id.', example: 'op_01M91BFKZ2N5NSTJ93E7ZYQCX2' }),
    type: z.enum(['recover', 'replay']),
    subscriptionId,
    selection: z.strictObject({
      since: timestamp.nullable(),
      kind: kind.nullable(),
      recordId: recordId.nullable(),
    }),
    status: z.enum(['running', 'completed', 'failed']),
    statusReason: z.string().nullable().meta({ description: 'Why the operation failed, or null.' }),
    total: z.int().min(0).meta({ description: 'Items that matched when the operation was created.' }),
    processed: z.int().min(0).meta({ description: 'Items looked at so far.' }),
    started: z.int().min(0).meta({ description: 'Deliveries started so far. A recover skips deliveries that another request restarted meanwhile.' }),
    workflowId: z.string().meta({ example: 'operation:op_01M91BFKZ2N5NSTJ93E7ZYQCX2' }),
    workflowUrl: z.url().meta({ description: 'Temporal Web UI page of the operation workflow.' }),
    createdAt: timestamp,
    updatedAt: timestamp,
    completedAt: timestamp.nullable(),
  })
  .meta({ id: 'BulkOperation', description: 'A recover or replay of one subscription, run as a workflow. Poll it until `status` is not `running`.' });

/** Builds the schema of one page of a list. Clients pass `nextCursor` as `cursor` to get the next page. */
export function pageResponse<T extends z.ZodType>(item: T, id: string) {
  return z
    .strictObject({
      data: z.array(item),
      nextCursor: z.string().nullable().meta({ description: 'Cursor of the next page, or null on the last page.' }),
    })
    .meta({ id });
}

export const apiKeyResponse = z
  .strictObject({
    id: z.string().meta({ description: 'API key id.', example: 'key_01M91BFKZ2N5NSTJ93E7ZYQCX2' }),
    name: z.string().meta({ example: 'orders-service' }),
    role: z.enum(API_KEY_ROLES),
    account: z.string().meta({ description: 'Keys of one account share its subscriptions and deliveries.', example: 'key_01M91BFKZ2N5NSTJ93E7ZYQCX2' }),
    prefix: z.string().meta({ description: 'The first characters of the token, to tell keys apart.', example: 'dbk_3kq9Vx2a' }),
    createdAt: timestamp,
    revokedAt: timestamp.nullable().meta({ description: 'When the key was revoked, or null while it is valid.' }),
  })
  .meta({ id: 'ApiKey', description: 'An API key, without its token.' });

export const createdApiKeyResponse = apiKeyResponse
  .extend({
    token: z.string().meta({ description: 'The token to send as `Authorization: Bearer <token>`. Only this response contains it.', example: 'dbk_3kq9Vx2aJ0m8bQ4yT7cW1nP5sR2uE6gH9kL3oZ8xV4d' }),
  })
  .meta({ id: 'CreatedApiKey', description: 'A new API key with its token, which no later response repeats.' });

export const healthResponse = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });

export const readinessResponse = z
  .strictObject({
    status: z.enum(['ready', 'not ready']),
    checks: z.strictObject({
      mongodb: z.string().meta({ description: '`ok`, or the error of the ping.', example: 'ok' }),
      temporal: z.string().meta({ description: '`ok`, or the error of describing the namespace.', example: 'ok' }),
    }),
  })
  .meta({ id: 'Readiness' });

/** RFC 9457 problem details, as problemHandler in problem.ts sends them. */
export const problemResponse = z
  .strictObject({
    type: z.literal('about:blank'),
    title: z.string().meta({ example: 'Unprocessable Content' }),
    status: z.int().min(400).max(599).meta({ example: 422 }),
    detail: z.string().meta({ description: 'What failed.', example: 'body.retryWindowDays: must be greater than 0, or null to retry without end' }),
    instance: z.string().meta({ description: 'Path and query of the request.', example: '/v1/subscriptions' }),
    errors: z
      .array(
        z.strictObject({
          field: z.string().meta({ description: 'Where the bad value is: `body.…`, `query.…` or `path.…`.', example: 'body.retryWindowDays' }),
          message: z.string().meta({ example: 'must be greater than 0, or null to retry without end' }),
        }),
      )
      .optional()
      .meta({ description: 'Each invalid field, for invalid input.' }),
  })
  .meta({ id: 'Problem', description: 'An error as RFC 9457 problem details.' });
