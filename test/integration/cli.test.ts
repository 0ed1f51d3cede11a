import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyWebhook } from '../../src/receiver/index.js';
import { CliProcess, cliEnvironment, runCli } from '../support/cli.js';
import { TestReceiver, eventually } from '../support/receiver.js';
import { Stack } from '../support/stack.js';

/** Returns a loopback port that nothing listens on: one the system handed out and that was closed again. */
async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) {
    throw new Error('the probe server had no TCP address');
  }
  return address.port;
}

describe('doorbell CLI', () => {
  let stack: Stack;
  let receiver: TestReceiver;
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    stack = await Stack.start();
    receiver = await new TestReceiver().start();
    scratch = mkdtempSync(path.join(tmpdir(), 'doorbell-cli-test-'));
    env = cliEnvironment({ DOORBELL_API_URL: stack.apiUrl, DOORBELL_API_KEY: stack.adminKey.token, DOORBELL_CONFIG: path.join(scratch, 'unused-config.json') });
  });

  after(async () => {
    await receiver.stop();
    await stack.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('records', () => {
    test('put creates and get reads a record', async () => {
      const put = await runCli(['put', 'products/cli-r1', '{"name":"Mug","price":12}', '--json'], { env });
      const get = await runCli(['get', 'products/cli-r1', '--json'], { env });

      assert.equal(put.code, 0, put.stderr);
      assert.equal(JSON.parse(put.stdout).version, 1);
      assert.match(JSON.parse(put.stdout).eventId, /^evt_/);
      assert.equal(get.code, 0, get.stderr);
      assert.deepEqual(JSON.parse(get.stdout).data, { name: 'Mug', price: 12 });
    });

    test('put reads a file and standard input', async () => {
      const file = path.join(scratch, 'record.json');
      writeFileSync(file, '{"name":"Plate"}\n');

      const fromFile = await runCli(['put', 'products/cli-r2', `@${file}`], { env });
      const fromStdin = await runCli(['put', 'products/cli-r2', '-'], { env, input: '{"name":"Bowl"}' });
      const get = await runCli(['get', 'products/cli-r2'], { env });

      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.match(fromFile.stdout, /^Created products\/cli-r2 version 1 /);
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      assert.match(fromStdin.stdout, /^Updated products\/cli-r2 version 2 /);
      assert.match(get.stdout, /^products\/cli-r2 version 2,/);
      assert.match(get.stdout, /"name": "Bowl"/);
    });

    test('get of a missing record exits 1', async () => {
      const result = await runCli(['get', 'products/cli-missing'], { env });

      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /HTTP 404 Not Found: record "products\/cli-missing" not found/);
    });

    test('put of a body that is not an object exits 1', async () => {
      const result = await runCli(['put', 'products/cli-r3', '[1,2]'], { env });

      assert.equal(result.code, 1);
      assert.match(result.stderr, /must be a JSON object/);
      assert.equal((await stack.request('GET', '/v1/records/products/cli-r3')).status, 404);
    });
  });

  describe('exit codes and help', () => {
    const usageErrors: Array<[string, string[]]> = [
      ['missing argument', ['get']],
      ['malformed record path', ['get', 'products']],
      ['missing body', ['put', 'products/p1']],
      ['unknown command', ['frobnicate']],
      ['unknown option', ['subscriptions', '--colour']],
      ['limit out of range', ['deliveries', '--limit', '0']],
      ['status not in the list', ['deliveries', '--status', 'lost']],
      ['listen without --watch', ['listen']],
      ['forward to another host', ['listen', '--watch', 'products/p1', '--forward-to', 'http://192.0.2.10/hooks']],
      ['invalid API URL', ['get', 'products/p1', '--api-url', 'ftp://127.0.0.1/']],
    ];
    for (const [name, args] of usageErrors) {
      test(`usage error exits 2: ${name}`, async () => {
        const result = await runCli(args, { env });

        assert.equal(result.code, 2, result.stderr);
        assert.notEqual(result.stderr, '');
      });
    }

    test('non-loopback --forward-to names the rule', async () => {
      const result = await runCli(['listen', '--watch', 'products/p1', '--forward-to', 'http://example.com/hooks'], { env });

      assert.equal(result.code, 2);
      assert.match(result.stderr, /not a loopback address/);
    });

    test('unreachable API exits 3', async () => {
      const port = await closedLoopbackPort();
      const result = await runCli(['get', 'products/p1', '--api-url', `http://127.0.0.1:${port}`], { env });

      assert.equal(result.code, 3);
      assert.match(result.stderr, /cannot reach the Doorbell API/);
      assert.match(result.stderr, /ECONNREFUSED/);
    });

    test('help names options and units', async () => {
      const result = await runCli(['listen', '--help'], { env });

      assert.equal(result.code, 0);
      assert.match(result.stdout, /--forward-timeout <ms> +milliseconds to wait/);
      assert.match(result.stdout, /--retry-window-days <days> +retry window of the subscriptions in days/);
      assert.match(result.stdout, /--timeout <ms> +milliseconds to wait for each API response/);
    });

    test('launcher runs the CLI', async () => {
      const result = await runCli(['--help'], { env, command: ['bin/doorbell.js'] });

      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Exit codes:/);
    });
  });

  test('config set stores the API URL', async () => {
    const configPath = path.join(scratch, 'config', 'doorbell.json');
    const withoutUrl = cliEnvironment({ DOORBELL_CONFIG: configPath, DOORBELL_API_KEY: stack.adminKey.token });

    const set = await runCli(['config', 'set', 'api-url', `${stack.apiUrl}/`], { env: withoutUrl });
    const show = await runCli(['config', 'get', 'api-url', '--json'], { env: withoutUrl });
    const get = await runCli(['get', 'products/cli-r1', '--json'], { env: withoutUrl });

    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(show.stdout), { key: 'api-url', value: stack.apiUrl, source: 'config file', configPath });
    assert.equal(get.code, 0, get.stderr);
    assert.equal(JSON.parse(get.stdout).id, 'cli-r1');
  });

  test('subscriptions rotate prints the new secret', async () => {
    const created = await stack.request('POST', '/v1/subscriptions', { target: 'products/cli-rot', url: receiver.url });
    assert.equal(created.status, 201);

    const rotated = await runCli(['subscriptions', 'rotate', created.body.id, '--grace-period-seconds', '60'], { env });
    const listed = await runCli(['subscriptions', '--target', 'products/cli-rot', '--json'], { env });

    assert.equal(rotated.code, 0, rotated.stderr);
    const newSecret = rotated.stdout.trim();
    assert.match(newSecret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.notEqual(newSecret, created.body.secret);
    assert.match(rotated.stderr, /signs beside the new one until/);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).data[0].id, created.body.id);
  });

  describe('listen', () => {
    let listen: CliProcess;
    let productsSubscriptionId: string;
    let gadgetsSubscriptionId: string;
    let webhookId: string;

    before(async () => {
      listen = CliProcess.start(['listen', '--json', '--forward-to', receiver.url, '--watch', 'products/cli-l1', '--watch', 'gadgets/*'], env);
      await listen.waitFor('the ready message', () => (listen.stderr.includes('Ready.') ? true : undefined));
      const subscriptions = await stack.request('GET', '/v1/subscriptions');
      productsSubscriptionId = subscriptions.body.data.find((subscription: { target: string }) => subscription.target === 'products/cli-l1').id;
      gadgetsSubscriptionId = subscriptions.body.data.find((subscription: { target: string }) => subscription.target === 'gadgets/*').id;
    });

    after(() => {
      listen.kill();
    });

    test('forwards a verified webhook', async () => {
      const put = await runCli(['put', 'products/cli-l1', '{"name":"Lamp","stock":3}'], { env });
      const [forwarded] = await receiver.waitForRequests(1);
      const printed = await listen.waitFor('the printed webhook', () => listen.jsonLines().find((line) => line.event.data.id === 'cli-l1'));

      assert.equal(put.code, 0, put.stderr);
      assert.equal(forwarded!.method, 'POST');
      assert.match(String(forwarded!.headers['webhook-signature']), /^v1,/);
      assert.match(String(forwarded!.headers['webhook-timestamp']), /^\d+$/);
      assert.equal(forwarded!.headers['user-agent'], 'Doorbell-Webhooks/0.1');
      assert.equal(printed.webhookId, forwarded!.headers['webhook-id']);
      assert.equal(printed.subscriptionId, productsSubscriptionId);
      assert.deepEqual(printed.event, JSON.parse(forwarded!.body));
      assert.deepEqual(printed.event.data.record, { name: 'Lamp', stock: 3 });
      assert.deepEqual(printed.forward.status, 200);
      assert.equal(printed.responseStatus, 200);
      assert.doesNotMatch(listen.stdout + listen.stderr, /whsec_/);
      webhookId = printed.webhookId;
    });

    test('deliveries lists the succeeded delivery', async () => {
      const listed = await eventually('a succeeded delivery', async () => {
        const result = await runCli(['deliveries', '--json', '--subscription', productsSubscriptionId, '--status', 'succeeded'], { env });
        assert.equal(result.code, 0, result.stderr);
        const page = JSON.parse(result.stdout);
        return page.data.length > 0 ? page : undefined;
      });

      assert.equal(listed.data.length, 1);
      assert.equal(listed.data[0].webhookId, webhookId);
      assert.equal(listed.data[0].attemptCount, 1);
      assert.equal(listed.nextCursor, null);
    });

    test('deliveries --follow prints the delivery', async () => {
      const follow = CliProcess.start(['deliveries', '--follow', '--json', '--interval', '100', '--subscription', productsSubscriptionId], env);
      try {
        const printed = await follow.waitFor('the followed delivery', () => follow.jsonLines().find((delivery) => delivery.id === webhookId));
        const code = await follow.stop();

        assert.equal(printed.status, 'succeeded');
        assert.equal(code, 0, follow.stderr);
      } finally {
        follow.kill();
      }
    });

    test('redeliver sends the same webhook again', async () => {
      const result = await runCli(['redeliver', webhookId, '--json'], { env });
      const requests = await receiver.waitForRequests(2);
      const printed = await listen.waitFor('the redelivered webhook', () => {
        const lines = listen.jsonLines().filter((line) => line.webhookId === webhookId);
        return lines.length === 2 ? lines[1] : undefined;
      });

      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).id, webhookId);
      assert.equal(requests[1]!.headers['webhook-id'], webhookId);
      assert.equal(requests[1]!.body, requests[0]!.body);
      assert.equal(printed.forward.status, 200);
    });

    test('redeliver of an unknown delivery exits 1', async () => {
      const result = await runCli(['redeliver', 'msg_unknown'], { env });

      assert.equal(result.code, 1);
      assert.match(result.stderr, /HTTP 404 Not Found: delivery "msg_unknown" not found/);
    });

    test('responds with the status of the forward', async () => {
      receiver.respond = (request) => (request.body.includes('"kind":"gadgets"') ? { status: 503, body: 'maintenance' } : { status: 200, body: 'ok' });
      await runCli(['put', 'gadgets/cli-g1', '{"name":"Radio"}'], { env });

      const printed = await listen.waitFor('the gadgets webhook', () => listen.jsonLines().find((line) => line.event.data.kind === 'gadgets'));
      const delivery = await eventually('the first attempt to be recorded', async () => {
        const answer = await stack.request('GET', `/v1/deliveries?subscriptionId=${gadgetsSubscriptionId}`);
        const found = answer.body.data[0];
        return found?.status === 'retrying' ? found : undefined;
      });
      const detail = await stack.request('GET', `/v1/deliveries/${delivery.id}`);

      assert.equal(printed.subscriptionId, gadgetsSubscriptionId);
      assert.equal(printed.forward.status, 503);
      assert.equal(printed.responseStatus, 503);
      assert.equal(detail.body.attempts[0].statusCode, 503);
      assert.equal(detail.body.attempts[0].responseBody, 'maintenance');
    });

    test('rejects a webhook with a forged signature', async () => {
      const endpoint = /products\/cli-l1: subscription sub_\w+, endpoint (\S+)/.exec(listen.stderr)?.[1];
      assert.ok(endpoint, listen.stderr);
      const forwardsBefore = receiver.requests.length;

      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'msg_forged',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
        },
        body: '{"type":"record.created","timestamp":"2026-01-01T00:00:00.000Z","data":{}}',
      });
      await response.text();
      await listen.waitFor('the rejection warning', () => (listen.stderr.includes('warning: rejected a request') ? true : undefined));

      assert.equal(response.status, 401);
      assert.equal(receiver.requests.length, forwardsBefore);
    });

    test('SIGINT deletes the subscriptions', async () => {
      const code = await listen.stop('SIGINT');
      const listed = await runCli(['subscriptions', '--json'], { env });
      const products = await stack.request('GET', `/v1/subscriptions/${productsSubscriptionId}`);
      const gadgets = await stack.request('GET', `/v1/subscriptions/${gadgetsSubscriptionId}`);
      const cancelled = await eventually('the retrying delivery to be cancelled', async () => {
        const answer = await stack.request('GET', `/v1/deliveries?subscriptionId=${gadgetsSubscriptionId}&status=cancelled`);
        return answer.body.data[0];
      });

      assert.equal(code, 0, listen.stderr);
      assert.match(listen.stderr, /Deleted 2 subscriptions/);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout).data.map((subscription: { id: string }) => subscription.id).filter((id: string) => id === productsSubscriptionId || id === gadgetsSubscriptionId), []);
      assert.equal(products.status, 404);
      assert.equal(gadgets.status, 404);
      assert.equal(cancelled.status, 'cancelled');
    });
  });

  test('listen without --forward-to responds 204', async () => {
    const listen = CliProcess.start(['listen', '--watch', 'widgets/cli-w1'], env);
    try {
      await listen.waitFor('the ready message', () => (listen.stderr.includes('Ready.') ? true : undefined));
      await runCli(['put', 'widgets/cli-w1', '{"size":"L"}'], { env });

      const summary = await listen.waitFor('the printed webhook', () => listen.stdout.split('\n').find((line) => line.includes('widgets/cli-w1 v1')));
      const code = await listen.stop('SIGTERM');

      assert.match(summary, /record\.created {2}widgets\/cli-w1 v1 {2}msg_\S+ {2}responded 204$/);
      assert.match(listen.stdout, /"size": "L"/);
      assert.equal(code, 0, listen.stderr);
      assert.match(listen.stderr, /Deleted 1 subscription\./);
    } finally {
      listen.kill();
    }
  });

  test('own secret lets the application verify', async () => {
    const secret = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
    const application = await new TestReceiver().start();
    const listen = CliProcess.start(['listen', '--forward-to', application.url, '--watch', 'tools/cli-t1'], { ...env, DOORBELL_LISTEN_SECRET: secret });
    try {
      await listen.waitFor('the ready message', () => (listen.stderr.includes('Ready.') ? true : undefined));
      await runCli(['put', 'tools/cli-t1', '{"torque":12345678901234567890}'], { env });

      const [forwarded] = await application.waitForRequests(1);
      const event = verifyWebhook(secret, forwarded!.body, forwarded!.headers);
      const code = await listen.stop();

      assert.equal(event.data.id, 'cli-t1');
      assert.match(forwarded!.body, /"record":\{"torque":12345678901234567890\}/);
      assert.match(listen.stderr, /Signing secret: from DOORBELL_LISTEN_SECRET\./);
      assert.doesNotMatch(listen.stdout + listen.stderr, /whsec_/);
      assert.equal(code, 0, listen.stderr);
    } finally {
      listen.kill();
      await application.stop();
    }
  });

  test('invalid DOORBELL_LISTEN_SECRET exits 2', async () => {
    const result = await runCli(['listen', '--watch', 'tools/cli-t2'], { env: { ...env, DOORBELL_LISTEN_SECRET: 'whsec_c2hvcnQ=' } });

    assert.equal(result.code, 2);
    assert.match(result.stderr, /DOORBELL_LISTEN_SECRET is invalid: it must encode 24 to 64 bytes/);
    assert.doesNotMatch(result.stderr, /whsec_c2hvcnQ=/);
  });
});
