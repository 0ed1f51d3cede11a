import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SECRET_MAX_BYTES, SECRET_MIN_BYTES, SECRET_PREFIX, SecretBox, describeInvalidSecret, generateSigningSecret } from '../../src/domain/secrets.js';

function secretOfBytes(byteCount: number): string {
  return SECRET_PREFIX + randomBytes(byteCount).toString('base64');
}

/** Applies `change` to the bytes of one dot-separated part of a sealed value (1 = IV, 2 = tag, 3 = ciphertext). */
function changePart(sealed: string, index: number, change: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64');
  parts[index] = change(bytes).toString('base64');
  return parts.join('.');
}

function flipFirstBit(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[0] = copy[0]! ^ 0x01;
  return copy;
}

describe('generateSigningSecret', () => {
  test('secret starts with whsec_', () => {
    assert.ok(generateSigningSecret().startsWith('whsec_'));
  });

  test('secret encodes 32 bytes of base64', () => {
    const encoded = generateSigningSecret().slice('whsec_'.length);

    assert.match(encoded, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(encoded, 'base64').length, 32);
  });

  test('generated secret passes validation', () => {
    assert.equal(describeInvalidSecret(generateSigningSecret()), undefined);
  });

  test('generated secrets differ', () => {
    assert.notEqual(generateSigningSecret(), generateSigningSecret());
  });

  test('standardwebhooks accepts the generated secret', () => {
    const signature = new Webhook(generateSigningSecret()).sign('msg_1', new Date(), '{}');

    assert.match(signature, /^v1,[A-Za-z0-9+/]+=*$/);
  });
});

describe('describeInvalidSecret', () => {
  test('accepts the minimum and maximum lengths', () => {
    assert.equal(describeInvalidSecret(secretOfBytes(SECRET_MIN_BYTES)), undefined);
    assert.equal(describeInvalidSecret(secretOfBytes(SECRET_MAX_BYTES)), undefined);
  });

  test('limits are 24 and 64 bytes', () => {
    assert.equal(SECRET_MIN_BYTES, 24);
    assert.equal(SECRET_MAX_BYTES, 64);
  });

  test('rejects a wrong prefix', () => {
    const encoded = randomBytes(32).toString('base64');

    assert.match(describeInvalidSecret('sk_' + encoded) ?? '', /must start with "whsec_"/);
    assert.match(describeInvalidSecret(encoded) ?? '', /must start with "whsec_"/);
    assert.match(describeInvalidSecret('WHSEC_' + encoded) ?? '', /must start with "whsec_"/);
  });

  test('rejects non-base64 text', () => {
    const cases = [
      'whsec_' + 'not base64 at all!!'.padEnd(44, '!'),
      // base64url characters are not standard base64.
      'whsec_' + randomBytes(32).toString('base64url').padEnd(44, '-'),
      'whsec_' + randomBytes(33).toString('base64').slice(0, 43),
      'whsec_' + 'A'.repeat(40) + '===',
      'whsec_',
    ];
    for (const secret of cases) {
      assert.match(describeInvalidSecret(secret) ?? '', /standard base64/, JSON.stringify(secret));
    }
  });

  test('rejects a secret that is too short', () => {
    assert.match(describeInvalidSecret(secretOfBytes(SECRET_MIN_BYTES - 1)) ?? '', /must encode 24 to 64 bytes, got 23/);
  });

  test('rejects a secret that is too long', () => {
    assert.match(describeInvalidSecret(secretOfBytes(SECRET_MAX_BYTES + 1)) ?? '', /must encode 24 to 64 bytes, got 65/);
  });

  test('message never contains the secret', () => {
    const encoded = randomBytes(32).toString('base64');
    const cases = {
      'wrong prefix': 'sk_live_' + encoded,
      'non-base64': 'whsec_' + encoded.replace(/.$/, '$'),
      'too short': secretOfBytes(SECRET_MIN_BYTES - 1),
      'too long': secretOfBytes(SECRET_MAX_BYTES + 1),
    };
    for (const [name, secret] of Object.entries(cases)) {
      const message = describeInvalidSecret(secret);
      assert.notEqual(message, undefined, `${name} is rejected`);
      assert.ok(!message!.includes(secret), `${name} message contains the secret`);
      assert.ok(!message!.includes(secret.slice(-20)), `${name} message contains part of the secret`);
    }
  });
});

describe('SecretBox', () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);
  const secret = generateSigningSecret();

  test('round trip returns the plaintext', () => {
    const sealed = box.encrypt(secret, 'sub_A');

    assert.equal(box.decrypt(sealed, 'sub_A'), secret);
  });

  test('round trip keeps non-ASCII text', () => {
    const sealed = box.encrypt('schlüssel 🔑', 'sub_A');

    assert.equal(box.decrypt(sealed, 'sub_A'), 'schlüssel 🔑');
  });

  test('sealed value does not contain the plaintext', () => {
    const sealed = box.encrypt(secret, 'sub_A');

    assert.ok(!sealed.includes(secret.slice(SECRET_PREFIX.length)));
    assert.match(sealed, /^v1\.[^.]+\.[^.]+\.[^.]+$/);
  });

  test('two encryptions differ', () => {
    const first = box.encrypt(secret, 'sub_A');
    const second = box.encrypt(secret, 'sub_A');

    assert.notEqual(first, second);
    assert.notEqual(first.split('.')[1], second.split('.')[1]);
  });

  test('wrong key fails', () => {
    const sealed = box.encrypt(secret, 'sub_A');
    const otherBox = new SecretBox(randomBytes(32));

    assert.throws(() => otherBox.decrypt(sealed, 'sub_A'), /wrong DOORBELL_ENCRYPTION_KEY or tampered data/);
  });

  test('ciphertext moved to another subscription fails', () => {
    const sealed = box.encrypt(secret, 'sub_A');

    assert.throws(() => box.decrypt(sealed, 'sub_B'), /cannot decrypt the secret of subscription sub_B/);
  });

  test('tampered ciphertext fails', () => {
    const sealed = changePart(box.encrypt(secret, 'sub_A'), 3, flipFirstBit);

    assert.throws(() => box.decrypt(sealed, 'sub_A'), /tampered data/);
  });

  test('tampered tag fails', () => {
    const sealed = changePart(box.encrypt(secret, 'sub_A'), 2, flipFirstBit);

    assert.throws(() => box.decrypt(sealed, 'sub_A'), /tampered data/);
  });

  test('tampered IV fails', () => {
    const sealed = changePart(box.encrypt(secret, 'sub_A'), 1, flipFirstBit);

    assert.throws(() => box.decrypt(sealed, 'sub_A'), /tampered data/);
  });

  test('truncated tag fails', () => {
    // Without a pinned tag length, Node's GCM checks only the tag bytes it is given, so a 4-byte prefix would pass.
    const sealed = changePart(box.encrypt(secret, 'sub_A'), 2, (tag) => tag.subarray(0, 4));

    assert.throws(() => box.decrypt(sealed, 'sub_A'), /tampered data/);
  });

  test('unknown version fails', () => {
    const sealed = box.encrypt(secret, 'sub_A').replace(/^v1\./, 'v2.');

    assert.throws(() => box.decrypt(sealed, 'sub_A'), /unknown format/);
  });

  test('missing parts fail', () => {
    const [version, iv, tag] = box.encrypt(secret, 'sub_A').split('.');

    assert.throws(() => box.decrypt(`${version}.${iv}.${tag}`, 'sub_A'), /unknown format/);
    assert.throws(() => box.decrypt('', 'sub_A'), /unknown format/);
  });

  test('key must be 32 bytes', () => {
    assert.throws(() => new SecretBox(randomBytes(16)), /encryption key must be 32 bytes, got 16/);
    assert.throws(() => new SecretBox(Buffer.alloc(0)), /encryption key must be 32 bytes, got 0/);
  });
});
