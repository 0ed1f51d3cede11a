import { z } from 'zod';
import type { ZodOpenApiResponseObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import {
  bulkOperationResponse,
  createdSubscriptionResponse,
  deliveryResponse,
  deliveryWithAttemptsResponse,
  healthResponse,
  lookupFoundResponse,
  lookupPendingResponse,
  pageResponse,
  problemResponse,
  readinessResponse,
  recordResponse,
  recordWrittenResponse,
  rotatedSecretResponse,
  subscriptionResponse,
} from './response-schemas.js';
import type { ApiKeyRole } from '../store/documents.js';
import { apiKeyResponse, createdApiKeyResponse } from './response-schemas.js';
import {
  createApiKeyBody,
  createSubscriptionBody,
  idParam,
  listApiKeysQuery,
  listDeliveriesQuery,
  listSubscriptionsQuery,
  lookupBody,
  recordBody,
  recordParams,
  recoverBody,
  replayBody,
  rotateSecretBody,
} from './schemas.js';

/**
 * The route registry: every HTTP operation of the API, declared once. routes/*.ts mount each
 * one with handleOperation, which parses the request with these schemas, and openapi.ts builds
 * the OpenAPI document from the same objects.
 */
export interface ApiOperation {
  method: 'get' | 'put' | 'post' | 'delete';
  /** OpenAPI path template, such as `/v1/records/{kind}/{id}`. */
  path: string;
  tags: string[];
  summary: string;
  description?: string;
  request: {
    path?: z.ZodObject;
    query?: z.ZodObject;
    body?: z.ZodType;
  };
  responses: ZodOpenApiResponsesObject;
  /** The callers it accepts: `public`, or the roles of the API keys it accepts. */
  access: Access;
  /** Accepts an Idempotency-Key header; its route must mount the idempotency middleware. */
  idempotent?: true;
}

/** `public` operations need no API key; the others list the roles whose keys they accept. */
export type Access = 'public' | readonly ApiKeyRole[];

const RECORD_WRITERS: Access = ['provider', 'admin'];
const RECORD_READERS: Access = ['provider', 'subscriber', 'admin'];
const SUBSCRIBERS: Access = ['subscriber', 'admin'];
const ADMINS: Access = ['admin'];
const METRICS_READERS: Access = ['metrics', 'admin'];

const JSON_TYPE = 'application/json';
const PROBLEM_TYPE = 'application/problem+json';

function json(description: string, schema: z.ZodType, headers?: z.ZodObject): ZodOpenApiResponseObject {
  return { description, content: { [JSON_TYPE]: { schema } }, ...(headers === undefined ? {} : { headers }) };
}

function problem(description: string, headers?: z.ZodObject): ZodOpenApiResponseObject {
  return { description, content: { [PROBLEM_TYPE]: { schema: problemResponse } }, ...(headers === undefined ? {} : { headers }) };
}

const locationHeader = (example: string) => z.object({ location: z.string().meta({ description: 'Path of the created resource.', example }) });
const retryAfterHeader = (seconds: number) => z.object({ 'retry-after': z.string().meta({ description: 'Seconds to wait before sending the request again.', example: String(seconds) }) });

/** Responses that the problem handler can send for any route. */
const unexpectedError = problem('Unexpected error. The API logs it and returns no internals.');
const databaseUnreachable = problem('MongoDB is unreachable and nothing was written.', retryAfterHeader(5));
const invalidPathOrQuery = problem('Invalid path or query parameter; `errors` names each one.');

/** Responses of a route that reads a JSON body. */
const bodyErrors: ZodOpenApiResponsesObject = {
  400: problem('Invalid path parameter, or a body that is not valid JSON or not UTF-8.'),
  413: problem('Body larger than `MAX_REQUEST_BODY_BYTES`.'),
  415: problem('Body without `Content-Type: application/json`, or with a charset other than UTF-8.'),
  422: problem('Valid JSON that breaks a field rule; `errors` names each field.'),
};

const challengeHeader = z.object({ 'www-authenticate': z.string().meta({ description: 'The Bearer challenge of RFC 6750.', example: 'Bearer realm="doorbell"' }) });
const rateLimitHeaders = z.object({
  'retry-after': z.string().meta({ description: 'Seconds until the key may send requests again.', example: '17' }),
  ratelimit: z.string().meta({ description: 'The remaining quota (IETF RateLimit header fields, draft 8).', example: '"600-in-60sec"; r=0; t=17' }),
  'ratelimit-policy': z.string().meta({ description: 'The quota policy (IETF RateLimit header fields, draft 8).', example: '"600-in-60sec"; q=600; w=60' }),
});

/** Responses of every operation that needs an API key; openapi.ts adds them to each one. */
export const accessErrors: ZodOpenApiResponsesObject = {
  401: problem('Missing, malformed, unknown or revoked API key.', challengeHeader),
  403: problem('The API key has a role this operation does not accept.'),
  429: problem('The API key sent more requests than `API_RATE_LIMIT_REQUESTS` in the window; retry after `Retry-After` seconds.', rateLimitHeaders),
};

const storeErrors: ZodOpenApiResponsesObject = { 500: unexpectedError, 503: databaseUnreachable };

export const operations = {
  writeRecord: {
    idempotent: true,
    access: RECORD_WRITERS,
    method: 'put',
    path: '/v1/records/{kind}/{id}',
    tags: ['Records'],
    summary: 'Write a record',
    description:
      'Stores the body as the next version of the record. Each write is an event, sent to every active subscriber of the record and of its kind. The body may nest objects and arrays at most 64 levels deep and must not contain a `__proto__` key.',
    request: { path: recordParams, body: recordBody },
    responses: {
      200: json('A later version was written.', recordWrittenResponse),
      201: json('Version 1 was written.', recordWrittenResponse, locationHeader('/v1/records/orders/ord-2001')),
      ...bodyErrors,
      409: problem('Another writer took the next version several times in a row; send the request again.', retryAfterHeader(1)),
      ...storeErrors,
    },
  },

  getRecord: {
    access: RECORD_READERS,
    method: 'get',
    path: '/v1/records/{kind}/{id}',
    tags: ['Records'],
    summary: 'Read a record',
    request: { path: recordParams },
    responses: {
      200: json('The latest version of the record.', recordResponse),
      400: invalidPathOrQuery,
      404: problem('The record was never written.'),
      410: problem('The record was deleted.'),
      ...storeErrors,
    },
  },

  deleteRecord: {
    idempotent: true,
    access: RECORD_WRITERS,
    method: 'delete',
    path: '/v1/records/{kind}/{id}',
    tags: ['Records'],
    summary: 'Delete a record',
    description:
      'Writes a `record.deleted` event with the next version, sent to subscribers like any write. Afterwards a read returns 410 and a lookup leaves a callback; a later write creates the record again as `record.created`.',
    request: { path: recordParams },
    responses: {
      200: json('The delete event was written.', recordWrittenResponse),
      400: invalidPathOrQuery,
      404: problem('The record was never written.'),
      409: problem('Another writer took the next version several times in a row; send the request again.', retryAfterHeader(1)),
      410: problem('The record is deleted already.'),
      ...storeErrors,
    },
  },

  lookupRecord: {
    idempotent: true,
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/records/{kind}/{id}/lookup',
    tags: ['Records'],
    summary: 'Look up a record or leave a callback',
    description:
      'Returns the record when it exists. Otherwise finds or creates the lookup subscription for this record, method and URL, and returns 202; the callback receives the record when it is written.',
    request: { path: recordParams, body: lookupBody },
    responses: {
      200: json('The record exists.', lookupFoundResponse),
      202: json('The record does not exist yet.', lookupPendingResponse),
      ...bodyErrors,
      409: problem('A lookup subscription for this record, method and URL exists with another secret.'),
      ...storeErrors,
    },
  },

  createSubscription: {
    idempotent: true,
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/subscriptions',
    tags: ['Subscriptions'],
    summary: 'Create a subscription',
    description:
      'Creates a subscription to one record (`kind/id`), to every record of a kind (`kind/*`), or to the operational events of the subscriptions that name it (`operational`). Every call creates a new one. ' +
      'With `signature: {"scheme": "v1a"}` deliveries are signed with a generated ed25519 key instead of a shared secret.',
    request: { body: createSubscriptionBody },
    responses: {
      201: json('The subscription, with its signing secret.', createdSubscriptionResponse, locationHeader('/v1/subscriptions/sub_01M91BFKZ2N5NSTJ93E7ZYQCX2')),
      ...bodyErrors,
      422: problem('Valid JSON that breaks a field rule, or an `operationalSubscriptionId` that names no active subscription with target `operational`; `errors` names each field.'),
      ...storeErrors,
    },
  },

  listSubscriptions: {
    access: SUBSCRIBERS,
    method: 'get',
    path: '/v1/subscriptions',
    tags: ['Subscriptions'],
    summary: 'List subscriptions',
    description: 'Lists the subscriptions of the caller\'s account (every account for an admin key), oldest first. Deleted ones are not listed.',
    request: { query: listSubscriptionsQuery },
    responses: {
      200: json('One page of subscriptions.', pageResponse(subscriptionResponse, 'SubscriptionPage')),
      400: invalidPathOrQuery,
      ...storeErrors,
    },
  },

  getSubscription: {
    access: SUBSCRIBERS,
    method: 'get',
    path: '/v1/subscriptions/{id}',
    tags: ['Subscriptions'],
    summary: 'Read a subscription',
    request: { path: idParam },
    responses: {
      200: json('The subscription, without its secret.', subscriptionResponse),
      400: invalidPathOrQuery,
      404: problem('No subscription of this account has this id, or it was deleted.'),
      ...storeErrors,
    },
  },

  pauseSubscription: {
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/subscriptions/{id}/pause',
    tags: ['Subscriptions'],
    summary: 'Pause a subscription',
    description: 'Cancels its pending and retrying deliveries. Events written while it is paused are never sent to it.',
    request: { path: idParam },
    responses: {
      200: json('The paused subscription.', subscriptionResponse),
      400: invalidPathOrQuery,
      404: problem('No subscription of this account has this id, or it was deleted.'),
      ...storeErrors,
    },
  },

  resumeSubscription: {
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/subscriptions/{id}/resume',
    tags: ['Subscriptions'],
    summary: 'Resume a subscription',
    description: 'Makes a paused or disabled subscription active again, and starts its endpoint health afresh.',
    request: { path: idParam },
    responses: {
      200: json('The active subscription.', subscriptionResponse),
      400: invalidPathOrQuery,
      404: problem('No subscription of this account has this id, or it was deleted.'),
      ...storeErrors,
    },
  },

  rotateSubscriptionSecret: {
    idempotent: true,
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/subscriptions/{id}/secret/rotate',
    tags: ['Subscriptions'],
    summary: 'Rotate the signing secret',
    description:
      'Replaces the signing secret (v1) or the ed25519 key pair (v1a). For `gracePeriodSeconds` (default 86400) every delivery carries two signatures, ' +
      'the new one first, so a receiver holding either key verifies. Rotating again during a grace period drops the oldest key at once: only the ' +
      'current key and the one it replaced ever sign.',
    request: { path: idParam, body: rotateSecretBody },
    responses: {
      200: json('The subscription with its new secret, which no later response repeats.', rotatedSecretResponse),
      ...bodyErrors,
      404: problem('No subscription of this account has this id, or it was deleted.'),
      409: problem('Another rotation of this subscription ran at the same time; send the request again.'),
      ...storeErrors,
    },
  },

  deleteSubscription: {
    access: SUBSCRIBERS,
    method: 'delete',
    path: '/v1/subscriptions/{id}',
    tags: ['Subscriptions'],
    summary: 'Delete a subscription',
    description: 'Cancels its pending deliveries. Its deliveries stay listed.',
    request: { path: idParam },
    responses: {
      204: { description: 'The subscription was deleted.' },
      400: invalidPathOrQuery,
      404: problem('No subscription of this account has this id, or it was already deleted.'),
      ...storeErrors,
    },
  },

  recoverSubscription: {
    idempotent: true,
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/subscriptions/{id}/recover',
    tags: ['Subscriptions'],
    summary: 'Redeliver every failed delivery since a time',
    description:
      'Starts an operation that redelivers every `failed` or `cancelled` delivery of the subscription created at or after `since`, at most 14 days ago, each with its own `webhook-id` as before. A delivery that another recover or a redelivery restarted first is skipped, so a repeated call starts nothing twice. Poll the operation for progress.',
    request: { path: idParam, body: recoverBody },
    responses: {
      202: json('The operation started.', bulkOperationResponse, locationHeader('/v1/operations/op_01M91BFKZ2N5NSTJ93E7ZYQCX2')),
      ...bodyErrors,
      404: problem('No subscription of this account has this id, or it was deleted.'),
      409: problem('The subscription is not active; resume it first.'),
      ...storeErrors,
    },
  },

  replaySubscription: {
    idempotent: true,
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/subscriptions/{id}/replay',
    tags: ['Subscriptions'],
    summary: 'Send past events again to one subscription',
    description:
      'Starts an operation that sends every event of one record, or every event of a kind written since a time, to this subscription again, as new deliveries with new `webhook-id`s. The events must be ones the subscription\'s target and event types receive. Poll the operation for progress.',
    request: { path: idParam, body: replayBody },
    responses: {
      202: json('The operation started.', bulkOperationResponse, locationHeader('/v1/operations/op_01M91BFKZ2N5NSTJ93E7ZYQCX2')),
      ...bodyErrors,
      404: problem('No subscription of this account has this id, or it was deleted.'),
      409: problem('The subscription is not active; resume it first.'),
      ...storeErrors,
    },
  },

  getBulkOperation: {
    access: SUBSCRIBERS,
    method: 'get',
    path: '/v1/operations/{id}',
    tags: ['Subscriptions'],
    summary: 'Read a recover or replay operation',
    request: { path: idParam },
    responses: {
      200: json('The operation and its progress.', bulkOperationResponse),
      400: invalidPathOrQuery,
      404: problem('No operation of this account has this id.'),
      ...storeErrors,
    },
  },

  listDeliveries: {
    access: SUBSCRIBERS,
    method: 'get',
    path: '/v1/deliveries',
    tags: ['Deliveries'],
    summary: 'List deliveries',
    description: 'Lists the deliveries to subscriptions of the caller\'s account (every account for an admin key), newest event first, without their attempts.',
    request: { query: listDeliveriesQuery },
    responses: {
      200: json('One page of deliveries.', pageResponse(deliveryResponse, 'DeliveryPage')),
      400: invalidPathOrQuery,
      ...storeErrors,
    },
  },

  getDelivery: {
    access: SUBSCRIBERS,
    method: 'get',
    path: '/v1/deliveries/{id}',
    tags: ['Deliveries'],
    summary: 'Read a delivery with its attempts',
    request: { path: idParam },
    responses: {
      200: json('The delivery with its latest 50 attempts.', deliveryWithAttemptsResponse),
      400: invalidPathOrQuery,
      404: problem('No delivery to a subscription of this account has this id.'),
      ...storeErrors,
    },
  },

  redeliver: {
    idempotent: true,
    access: SUBSCRIBERS,
    method: 'post',
    path: '/v1/deliveries/{id}/redeliver',
    tags: ['Deliveries'],
    summary: 'Redeliver an ended delivery',
    description: 'Starts a new run of a delivery that succeeded, failed or was cancelled, with the same `webhook-id` and a new retry window. The subscription must be active.',
    request: { path: idParam },
    responses: {
      202: json('The redelivery started.', deliveryResponse),
      400: invalidPathOrQuery,
      404: problem('No delivery to a subscription of this account has this id.'),
      409: problem('The delivery is still pending or retrying, its subscription is not active, or a run is already in progress.'),
      ...storeErrors,
    },
  },

  createApiKey: {
    access: ADMINS,
    method: 'post',
    path: '/v1/api-keys',
    tags: ['API keys'],
    summary: 'Create an API key',
    description:
      'Creates a key with a role. The response contains its token, the only time the API returns it; only a SHA-256 digest is stored. Without `account` the key is an account of its own; with the `account` of another key it shares that key\'s subscriptions and deliveries.',
    request: { body: createApiKeyBody },
    responses: {
      201: json('The key with its token.', createdApiKeyResponse, locationHeader('/v1/api-keys/key_01M91BFKZ2N5NSTJ93E7ZYQCX2')),
      ...bodyErrors,
      ...storeErrors,
    },
  },

  listApiKeys: {
    access: ADMINS,
    method: 'get',
    path: '/v1/api-keys',
    tags: ['API keys'],
    summary: 'List API keys',
    description: 'Lists keys oldest first, revoked ones included, without tokens or their digests.',
    request: { query: listApiKeysQuery },
    responses: {
      200: json('One page of API keys.', pageResponse(apiKeyResponse, 'ApiKeyPage')),
      400: invalidPathOrQuery,
      ...storeErrors,
    },
  },

  getApiKey: {
    access: ADMINS,
    method: 'get',
    path: '/v1/api-keys/{id}',
    tags: ['API keys'],
    summary: 'Read an API key',
    request: { path: idParam },
    responses: {
      200: json('The key, without its token.', apiKeyResponse),
      400: invalidPathOrQuery,
      404: problem('No API key has this id.'),
      ...storeErrors,
    },
  },

  revokeApiKey: {
    access: ADMINS,
    method: 'post',
    path: '/v1/api-keys/{id}/revoke',
    tags: ['API keys'],
    summary: 'Revoke an API key',
    description: 'Requests with the key get 401 from now on. Revoking a revoked key changes nothing. The subscriptions of its account stay, and other keys of the account still reach them.',
    request: { path: idParam },
    responses: {
      200: json('The revoked key.', apiKeyResponse),
      400: invalidPathOrQuery,
      404: problem('No API key has this id.'),
      ...storeErrors,
    },
  },

  liveness: {
    access: 'public',
    method: 'get',
    path: '/healthz',
    tags: ['Operations'],
    summary: 'Liveness check',
    description: 'Returns 200 while the process serves HTTP.',
    request: {},
    responses: { 200: json('The process serves HTTP.', healthResponse) },
  },

  readiness: {
    access: 'public',
    method: 'get',
    path: '/readyz',
    tags: ['Operations'],
    summary: 'Readiness check',
    description: 'Checks that MongoDB responds to a ping and Temporal describes the configured namespace, each within 2 s.',
    request: {},
    responses: {
      200: json('Both checks passed.', readinessResponse),
      503: json('A check failed; its entry holds the error.', readinessResponse),
    },
  },

  metrics: {
    access: METRICS_READERS,
    method: 'get',
    path: '/metrics',
    tags: ['Operations'],
    summary: 'Prometheus metrics of this API process',
    request: {},
    responses: {
      200: {
        description: 'Metrics in the Prometheus text exposition format 0.0.4.',
        content: { 'text/plain': { schema: z.string().meta({ example: 'doorbell_api_events_written_total{type="record.created"} 1' }) } },
      },
    },
  },

  openApiDocument: {
    access: 'public',
    method: 'get',
    path: '/openapi.json',
    tags: ['Operations'],
    summary: 'This OpenAPI document',
    request: {},
    responses: { 200: json('The OpenAPI 3.1 document of the API.', z.record(z.string(), z.unknown())) },
  },

  apiReference: {
    access: 'public',
    method: 'get',
    path: '/docs',
    tags: ['Operations'],
    summary: 'Browsable API reference',
    description: 'Swagger UI for this document, served from this host with no outside requests.',
    request: {},
    responses: { 200: { description: 'HTML page.', content: { 'text/html': { schema: z.string() } } } },
  },
} satisfies Record<string, ApiOperation>;

export type OperationId = keyof typeof operations;
