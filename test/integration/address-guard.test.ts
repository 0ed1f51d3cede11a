import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AddressPolicy } from '../../src/activities/address-guard.js';
import { WebhookSender } from '../../src/activities/send-webhook.js';
import { generateSigningSecret } from '../../src/domain/secrets.js';
import { TestReceiver } from '../support/receiver.js';

// A real loopback receiver plays the part of an internal service: with loopback not allowed, the
// sender must refuse before connecting, so the receiver sees nothing.
describe('sender address guard', () => {
  let receiver: TestReceiver;

  before(async () => {
    receiver = await new TestReceiver().start();
  });

  after(async () => {
    await receiver.stop();
  });

  function sendTo(url: string, allowedCidrs: string[]) {
    const sender = new WebhookSender({ timeoutMs: 2000, userAgent: 'test', addressPolicy: new AddressPolicy(allowedCidrs) });
    return sender
      .send({ url, method: 'POST', webhookId: 'msg_guard', body: '{}', signingKeys: [{ scheme: 'v1', secret: generateSigningSecret() }], extraHeaders: {} })
      .finally(() => sender.close());
  }

  test('loopback literal is refused', async () => {
    const result = await sendTo(receiver.url, []);

    assert.equal(result.kind, 'network-error');
    assert.match(result.kind === 'network-error' ? result.error : '', /^EBLOCKEDADDRESS: .*loopback/);
    assert.equal(receiver.requests.length, 0);
  });

  test('name resolving to loopback is refused', async () => {
    const result = await sendTo(receiver.url.replace('127.0.0.1', 'localhost'), []);

    assert.equal(result.kind, 'network-error');
    assert.match(result.kind === 'network-error' ? result.error : '', /EBLOCKEDADDRESS|localhost resolves to/);
    assert.equal(receiver.requests.length, 0);
  });

  test('allow-listed loopback is reached', async () => {
    const result = await sendTo(receiver.url, ['127.0.0.0/8']);

    assert.equal(result.kind, 'response');
    assert.equal(receiver.requests.length, 1);
  });
});
