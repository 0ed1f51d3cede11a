import { z } from 'zod';
import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import packageJson from '../../package.json' with { type: 'json' };
import { accessErrors, operations, type ApiOperation } from './operations.js';

/** The OpenAPI document as a plain JSON object. */
export type OpenApiDocument = ReturnType<typeof createDocument>;

let cached: OpenApiDocument | undefined;

/** Name of the API key security scheme in the document's components. */
export const BEARER_SCHEME = 'apiKey';

/**
 * Builds the OpenAPI 3.1 document of the API from the route registry in operations.ts, once per
 * process, because the schemas never change while it runs. Each operation's key in the registry
 * is its operationId.
 */
const idempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .meta({
      description:
        'Makes the request safe to retry: a repeat with the same key and body within 24 h gets the first response again (with `Idempotent-Replayed: true`) and changes nothing. The same key with another body returns 422; a repeat while the first is still running returns 409.',
      example: '6f1c2a9e-3b7d-4e5a-9c1f-2d8b7a6e5f40',
    }),
});

export function openApiDocument(): OpenApiDocument {
  cached ??= buildDocument();
  return cached;
}

function buildDocument(): OpenApiDocument {
  const paths: ZodOpenApiPathsObject = {};
  for (const [operationId, operation] of Object.entries<ApiOperation>(operations)) {
    const { path, query, body } = operation.request;
    const header = operation.idempotent === true ? idempotencyKeyHeader : undefined;
    const requestParams = { ...(path === undefined ? {} : { path }), ...(query === undefined ? {} : { query }), ...(header === undefined ? {} : { header }) };
    const { access } = operation;
    const isPublic = access === 'public';
    const roles = access === 'public' ? 'No API key needed.' : `API key roles: ${access.join(', ')}.`;
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = {
      operationId,
      tags: operation.tags,
      summary: operation.summary,
      description: operation.description === undefined ? roles : `${operation.description}\n\n${roles}`,
      // An empty list overrides the document's default requirement: no key needed.
      security: isPublic ? [] : [{ [BEARER_SCHEME]: [] }],
      // zod-openapi reads every key of requestParams, so an undeclared part must be absent, not undefined.
      ...(Object.keys(requestParams).length === 0 ? {} : { requestParams }),
      ...(body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: body } } } }),
      responses: isPublic ? operation.responses : { ...operation.responses, ...accessErrors },
    };
  }

  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Doorbell API',
      version: packageJson.version,
      description:
        'Doorbell delivers records to callbacks as signed webhooks (Standard Webhooks). Providers write records; clients look them up or leave a callback and receive each version by webhook. Every error is RFC 9457 problem details.',
      license: { name: packageJson.license, identifier: packageJson.license },
    },
    tags: [
      { name: 'Records', description: 'Write, read and look up records.' },
      { name: 'Subscriptions', description: 'Callbacks that receive the events of one record or of a whole kind.' },
      { name: 'Deliveries', description: 'One event sent to one subscription, with its attempts.' },
      { name: 'API keys', description: 'Keys that authenticate requests; admin keys only.' },
      { name: 'Operations', description: 'Health checks, metrics and this document.' },
    ],
    components: {
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'dbk_ followed by 43 base64url characters',
          description: 'An API key, sent as `Authorization: Bearer <token>`. `npm start` writes a local admin key to `.doorbell/admin-api-key`.',
        },
      },
    },
    security: [{ [BEARER_SCHEME]: [] }],
    paths,
  });
}
