import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateSigningSecret } from '../../src/domain/secrets.js';
import { generateEd25519KeyPair, hasValidAsymmetricSignature, signWebhook } from '../../src/domain/signing-keys.js';

const WEBHOOK_ID = 'msg_01TEST';
const BODY = '{"type":"record.created","data":{"id":"p1"}}';

/** Verifies a v1a entry with node:crypto alone, against the signed content the Standard Webhooks spec defines. */
function verifiesWithNodeCrypto(publicKey: string, timestampSeconds: number, entry: string): boolean {
  const raw = Buffer.from(publicKey.slice('whpk_'.length), 'base64');
  const key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') } });
  const content = Buffer.from(`${WEBHOOK_ID}.${timestampSeconds}.${BODY}`);
  return verify(null, content, key, Buffer.from(entry.slice('v1a,'.length), 'base64'));
}

describe('generateEd25519KeyPair', () => {
  test('private key is whsk_ and 64 bytes', () => {
    const { privateKey } = generateEd25519KeyPair();
    assert.match(privateKey, /^whsk_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(privateKey.slice(5), 'base64').length, 64);
  });

  test('public key is whpk_ and 32 bytes', () => {
    const { publicKey } = generateEd25519KeyPair();
    assert.match(publicKey, /^whpk_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(publicKey.slice(5), 'base64').length, 32);
  });

  test('private key ends with its public key', () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    assert.deepEqual(Buffer.from(privateKey.slice(5), 'base64').subarray(32), Buffer.from(publicKey.slice(5), 'base64'));
  });
});

describe('signWebhook', () => {
  const timestamp = new Date();
  const timestampSeconds = Math.floor(timestamp.getTime() / 1000);
  const headersWith = (signature: string) => ({ 'webhook-id': WEBHOOK_ID, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signature });

  test('v1 signature verifies with standardwebhooks', () => {
    const secret = generateSigningSecret();
    const header = signWebhook([{ scheme: 'v1', secret }], WEBHOOK_ID, timestamp, BODY);

    assert.match(header, /^v1,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(new Webhook(secret).verify(BODY, headersWith(header)), JSON.parse(BODY));
  });

  test('two v1 keys verify with either secret', () => {
    const current = generateSigningSecret();
    const previous = generateSigningSecret();
    const header = signWebhook([{ scheme: 'v1', secret: current }, { scheme: 'v1', secret: previous }], WEBHOOK_ID, timestamp, BODY);

    assert.equal(header.split(' ').length, 2);
    assert.equal(header.split(' ')[0], new Webhook(current).sign(WEBHOOK_ID, timestamp, BODY));
    assert.doesNotThrow(() => new Webhook(current).verify(BODY, headersWith(header)));
    assert.doesNotThrow(() => new Webhook(previous).verify(BODY, headersWith(header)));
    assert.throws(() => new Webhook(generateSigningSecret()).verify(BODY, headersWith(header)), /No matching signature/);
  });

  test('v1a signature verifies with node:crypto', () => {
    const pair = generateEd25519KeyPair();
    const header = signWebhook([{ scheme: 'v1a', privateKey: pair.privateKey }], WEBHOOK_ID, timestamp, BODY);

    assert.match(header, /^v1a,[A-Za-z0-9+/]{86}==$/);
    assert.ok(verifiesWithNodeCrypto(pair.publicKey, timestampSeconds, header));
    assert.ok(hasValidAsymmetricSignature(pair.publicKey, WEBHOOK_ID, timestampSeconds, BODY, header));
  });

  test('v1a signature fails with another key or body', () => {
    const pair = generateEd25519KeyPair();
    const header = signWebhook([{ scheme: 'v1a', privateKey: pair.privateKey }], WEBHOOK_ID, timestamp, BODY);

    assert.equal(hasValidAsymmetricSignature(generateEd25519KeyPair().publicKey, WEBHOOK_ID, timestampSeconds, BODY, header), false);
    assert.equal(hasValidAsymmetricSignature(pair.publicKey, WEBHOOK_ID, timestampSeconds, `${BODY} `, header), false);
    assert.equal(hasValidAsymmetricSignature(pair.publicKey, WEBHOOK_ID, timestampSeconds + 1, BODY, header), false);
  });

  test('malformed private key is rejected without repeating it', () => {
    const badKey = 'whsk_' + Buffer.alloc(10, 7).toString('base64');
    assert.throws(
      () => signWebhook([{ scheme: 'v1a', privateKey: badKey }], WEBHOOK_ID, timestamp, BODY),
      (error: Error) => /must be "whsk_" and base64 of 64 bytes/.test(error.message) && !error.message.includes(badKey.slice(5)),
    );
  });
});
