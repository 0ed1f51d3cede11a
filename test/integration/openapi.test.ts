import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validate } from '@readme/openapi-parser';
import type { Express } from 'express';
import type { z } from 'zod';
import type { ZodOpenApiMediaTypeObject, ZodOpenApiResponseObject } from 'zod-openapi';
import { createApp } from '../../src/api/app.js';
import { BEARER_SCHEME, openApiDocument } from '../../src/api/openapi.js';
import { accessErrors, operations, type ApiOperation, type OperationId } from '../../src/api/operations.js';
import { TestReceiver, eventually } from '../support/receiver.js';
import { Stack, type ApiResponse } from '../support/stack.js';

const CALLBACK_URL = 'http://127.0.0.1:9/hooks';

/** The parts of Express's router layers that the route walk reads. */
interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  slash?: boolean;
  rawPath?: unknown;
}

/**
 * Walks the router stack of an app and returns every route as `METHOD /path/{param}`, in the
 * OpenAPI path syntax. Routers mounted at a path add that path in front of their routes.
 */
function expressRoutes(app: Express): string[] {
  const routes: string[] = [];
  const visit = (layers: RouterLayer[], prefix: string): void => {
    for (const layer of layers) {
      if (layer.route !== undefined) {
        assert.equal(typeof layer.route.path, 'string', `route paths must be strings to be documented, got ${String(layer.route.path)}`);
        for (const method of Object.keys(layer.route.methods)) {
          assert.notEqual(method, '_all', `${String(layer.route.path)} is registered for every method; register each method on its own`);
          routes.push(`${method.toUpperCase()} ${prefix}${String(layer.route.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack !== undefined) {
        const mountPath = layer.slash === true ? '' : String(layer.rawPath);
        visit(layer.handle.stack, `${prefix}${mountPath}`);
      }
    }
  };
  visit((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '');
  return routes.sort();
}

function documentedOperations(): string[] {
  const document = openApiDocument();
  const found: string[] = [];
  for (const [path, pathItem] of Object.entries(document.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      if (pathItem?.[method] !== undefined) {
        found.push(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return found.sort();
}

/**
 * Parses a real response with the schemas the registry documents for its operation and status:
 * the body with the content type's schema, and the headers with the declared header schema.
 */
function assertDocumented(operationId: OperationId, response: ApiResponse): void {
  const operation: ApiOperation = operations[operationId];
  // openapi.ts adds the 401, 403 and 429 responses to every operation that needs a key.
  const responses = operation.access === 'public' ? operation.responses : { ...operation.responses, ...accessErrors };
  const documented = responses[String(response.status) as `${1 | 2 | 3 | 4 | 5}${string}`];
  assert.ok(documented !== undefined, `${operationId} does not document status ${response.status}: ${JSON.stringify(response.body)}`);
  assert.ok(!('$ref' in documented), `${operationId} ${response.status} must be declared in place`);

  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!;
  if (documented.content === undefined) {
    assert.equal(response.body, undefined, `${operationId} ${response.status} documents no body`);
  } else {
    const schema = documented.content[contentType]?.schema as z.ZodType | undefined;
    assert.ok(schema !== undefined, `${operationId} ${response.status} does not document ${contentType}`);
    const parsed = schema.safeParse(response.body);
    assert.ok(parsed.success, `${operationId} ${response.status} body does not match its schema: ${parsed.error?.message}\n${JSON.stringify(response.body)}`);
  }

  if (documented.headers !== undefined) {
    const headers = Object.fromEntries(response.headers.entries());
    const parsed = (documented.headers as z.ZodType).safeParse(headers);
    assert.ok(parsed.success, `${operationId} ${response.status} headers do not match: ${parsed.error?.message}`);
  }
}

describe('OpenAPI document and reference page', () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start();
  });

  after(async () => {
    await stack.stop();
  });

  test('document is valid OpenAPI 3.1', async () => {
    // The parser dereferences the object it is given, so it gets a copy.
    const result = await validate(structuredClone(openApiDocument()) as never);

    assert.equal(result.valid, true, JSON.stringify(result));
    assert.deepEqual(result.warnings, []);
    assert.equal(openApiDocument().openapi, '3.1.0');
  });

  test('served document is the generated one', async () => {
    const served = await stack.request('GET', '/openapi.json');

    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(served.body, JSON.parse(JSON.stringify(openApiDocument())));
  });

  test('every Express route is documented', () => {
    const app = createApp({ ...stack.services, logger: stack.logger, config: stack.config });
    const documented = new Set(documentedOperations());

    const routes = expressRoutes(app);
    assert.ok(routes.length >= 17, `expected the API's routes, found ${routes.join(', ')}`);
    for (const route of routes) {
      assert.ok(documented.has(route), `${route} is registered in Express but not in the OpenAPI document; declare it in src/api/operations.ts and mount it with handleOperation`);
    }
  });

  test('every documented operation is routed', () => {
    const app = createApp({ ...stack.services, logger: stack.logger, config: stack.config });
    const routes = new Set(expressRoutes(app));

    for (const operation of documentedOperations()) {
      assert.ok(routes.has(operation), `${operation} is documented but Express has no such route`);
    }
  });

  test('every operation declares its access', () => {
    const roles = new Set(['provider', 'subscriber', 'admin', 'metrics']);
    for (const [operationId, operation] of Object.entries<ApiOperation>(operations)) {
      const { access } = operation as { access?: unknown };
      assert.ok(access === 'public' || (Array.isArray(access) && access.length > 0), `${operationId} must declare access: 'public' or a list of roles`);
      if (Array.isArray(access)) {
        assert.ok(access.includes('admin'), `${operationId}: admin keys may do everything`);
        assert.ok(access.every((role: string) => roles.has(role)), `${operationId} names an unknown role`);
      }
    }
  });

  test('document shows the bearer scheme', () => {
    const document = openApiDocument();
    assert.deepEqual(document.components?.securitySchemes?.[BEARER_SCHEME], {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'dbk_ followed by 43 base64url characters',
      description: 'An API key, sent as `Authorization: Bearer <token>`. `npm start` writes a local admin key to `.doorbell/admin-api-key`.',
    });
    for (const [operationId, operation] of Object.entries<ApiOperation>(operations)) {
      const documented = document.paths?.[operation.path]?.[operation.method];
      const expected = operation.access === 'public' ? [] : [{ [BEARER_SCHEME]: [] }];
      assert.deepEqual(documented?.security, expected, `${operationId} security`);
      if (operation.access !== 'public') {
        assert.ok(documented?.responses?.['401'] !== undefined, `${operationId} documents no 401`);
      }
    }
  });

  test('every keyed operation rejects a request without a key', async () => {
    for (const [operationId, operation] of Object.entries<ApiOperation>(operations)) {
      if (operation.access === 'public') {
        continue;
      }
      const path = operation.path.replace('{kind}', 'orders').replace(/\{[A-Za-z]+\}/g, 'x1');
      const response = await stack.requestAs(null, operation.method.toUpperCase(), path, operation.request.body === undefined ? undefined : {});
      assert.equal(response.status, 401, `${operationId} answered ${response.status} without a key`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="doorbell"', operationId);
      assertDocumented(operationId as OperationId, response);
    }
  });

  test('path parameters have schemas', () => {
    for (const [operationId, operation] of Object.entries<ApiOperation>(operations)) {
      const templateParameters = [...operation.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
      const schemaParameters = Object.keys(operation.request.path?.shape ?? {}).sort();
      assert.deepEqual(schemaParameters, templateParameters, `${operationId}: the path schema must declare exactly the parameters of ${operation.path}`);
    }
  });

  test('responses with a body have schemas', () => {
    for (const [operationId, operation] of Object.entries<ApiOperation>(operations)) {
      for (const [status, response] of Object.entries(operation.responses) as Array<[string, ZodOpenApiResponseObject | { $ref: string }]>) {
        assert.ok(!('$ref' in response), `${operationId} ${status} must be declared in place`);
        if (status === '204') {
          assert.equal(response.content, undefined, `${operationId} 204 must document no body`);
          continue;
        }
        const contents: Array<ZodOpenApiMediaTypeObject | undefined> = Object.values(response.content ?? {});
        assert.ok(contents.length > 0, `${operationId} ${status} documents no content`);
        for (const content of contents) {
          assert.ok(content?.schema !== undefined, `${operationId} ${status} has content without a schema`);
        }
      }
    }
  });

  test('real responses match their schemas', async () => {
    const receiver = await new TestReceiver().start();
    try {
      const created = await stack.request('POST', '/v1/subscriptions', { target: 'orders/oa1', url: receiver.url });
      assertDocumented('createSubscription', created);
      const subscriptionId = created.body.id as string;
      assertDocumented('listSubscriptions', await stack.request('GET', '/v1/subscriptions?target=orders/oa1'));
      assertDocumented('getSubscription', await stack.request('GET', `/v1/subscriptions/${subscriptionId}`));
      assertDocumented('getSubscription', await stack.request('GET', '/v1/subscriptions/sub_NOPE'));
      assertDocumented('createSubscription', await stack.request('POST', '/v1/subscriptions', { target: 'orders', url: 'ftp://127.0.0.1/x' }));
      assertDocumented('createSubscription', await stack.request('POST', '/v1/subscriptions', '{"target": ', { 'content-type': 'application/json' }));

      const firstWrite = await stack.request('PUT', '/v1/records/orders/oa1', { status: 'shipped' });
      assertDocumented('writeRecord', firstWrite);
      assertDocumented('writeRecord', await stack.request('PUT', '/v1/records/orders/oa1', { status: 'delivered' }));
      assertDocumented('writeRecord', await stack.request('PUT', '/v1/records/orders/oa1', 'status=x', { 'content-type': 'text/plain' }));
      assertDocumented('getRecord', await stack.request('GET', '/v1/records/orders/oa1'));
      assertDocumented('getRecord', await stack.request('GET', '/v1/records/orders/none'));
      assertDocumented('getRecord', await stack.request('GET', '/v1/records/orders/a.b'));
      assertDocumented('lookupRecord', await stack.request('POST', '/v1/records/orders/oa1/lookup', { callback: { url: CALLBACK_URL } }));
      assertDocumented('lookupRecord', await stack.request('POST', '/v1/records/orders/oa2/lookup', { callback: { url: CALLBACK_URL } }));

      await receiver.waitForRequests(2);
      const delivery = await eventually('a succeeded delivery', async () => {
        const listed = await stack.request('GET', `/v1/deliveries?subscriptionId=${subscriptionId}&status=succeeded&limit=1`);
        return listed.body.data.length === 1 ? listed : undefined;
      });
      assertDocumented('listDeliveries', delivery);
      const deliveryId = delivery.body.data[0].id as string;
      const withAttempts = await stack.request('GET', `/v1/deliveries/${deliveryId}`);
      assertDocumented('getDelivery', withAttempts);
      assert.ok(withAttempts.body.attempts.length >= 1);
      assertDocumented('listDeliveries', await stack.request('GET', '/v1/deliveries?limit=1000'));
      assertDocumented('redeliver', await stack.request('POST', `/v1/deliveries/${deliveryId}/redeliver`));
      assertDocumented('redeliver', await stack.request('POST', `/v1/deliveries/${deliveryId}/redeliver`));

      assertDocumented('pauseSubscription', await stack.request('POST', `/v1/subscriptions/${subscriptionId}/pause`));
      assertDocumented('resumeSubscription', await stack.request('POST', `/v1/subscriptions/${subscriptionId}/resume`));
      assertDocumented('deleteSubscription', await stack.request('DELETE', `/v1/subscriptions/${subscriptionId}`));
      assertDocumented('deleteSubscription', await stack.request('DELETE', `/v1/subscriptions/${subscriptionId}`));

      assertDocumented('liveness', await stack.request('GET', '/healthz'));
      assertDocumented('readiness', await stack.request('GET', '/readyz'));
    } finally {
      await receiver.stop();
    }
  });

  test('docs page loads its assets from this host', async () => {
    const page = await fetch(`${stack.apiUrl}/docs`);
    const html = await page.text();

    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(html, /url: '\/openapi\.json'/);
    assert.match(html, /validatorUrl: null/);

    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    assert.deepEqual(references.sort(), ['/docs/assets/favicon-32x32.png', '/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']);
    const expectedTypes: Record<string, RegExp> = { '.png': /^image\/png/, '.js': /^application\/javascript|^text\/javascript/, '.css': /^text\/css/ };
    for (const reference of references) {
      const asset = await fetch(`${stack.apiUrl}${reference}`);
      const bytes = await asset.arrayBuffer();
      assert.equal(asset.status, 200, reference);
      assert.ok(bytes.byteLength > 0, `${reference} is empty`);
      const extension = reference.slice(reference.lastIndexOf('.'));
      assert.match(asset.headers.get('content-type') ?? '', expectedTypes[extension]!, reference);
    }
  });

  test('other swagger-ui-dist files are not served', async () => {
    // The package's own page loads a demo API from the internet.
    for (const path of ['/docs/assets/index.html', '/docs/assets/swagger-initializer.js', '/docs/assets/', '/docs/assets/../package.json']) {
      const response = await stack.request('GET', path);
      assert.equal(response.status, 404, path);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8', path);
    }
  });
});
