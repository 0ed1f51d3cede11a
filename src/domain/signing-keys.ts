import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * The two Standard Webhooks signature schemes. `v1` is HMAC-SHA256 with a shared `whsec_` secret.
 * `v1a` is ed25519 with a `whsk_` private key that only Doorbell stores and a `whpk_` public key
 * that receivers verify with. Both sign the same content, `{webhook-id}.{webhook-timestamp}.{body}`.
 */
export const SIGNATURE_SCHEMES = ['v1', 'v1a'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

export const PRIVATE_KEY_PREFIX = 'whsk_';
export const PUBLIC_KEY_PREFIX = 'whpk_';

const ED25519_KEY_BYTES = 32;

/** A key Doorbell signs a delivery with. */
export type SigningKey = { scheme: 'v1'; secret: string } | { scheme: 'v1a'; privateKey: string };

/**
 * Generates an ed25519 key pair. The private key is `whsk_` and the base64 of the 32-byte seed
 * followed by the 32-byte public key, which is the 64-byte layout of NaCl and libsodium. The
 * public key is `whpk_` and the base64 of its 32 raw bytes.
 */
export function generateEd25519KeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const publicBytes = Buffer.from(jwk.x!, 'base64url');
  return {
    privateKey: PRIVATE_KEY_PREFIX + Buffer.concat([seed, publicBytes]).toString('base64'),
    publicKey: PUBLIC_KEY_PREFIX + publicBytes.toString('base64'),
  };
}

/** @throws Error when the value is not a `whsk_` key as generateEd25519KeyPair makes it; the message never repeats the key. */
function privateKeyObject(privateKey: string): KeyObject {
  const bytes = privateKey.startsWith(PRIVATE_KEY_PREFIX) ? Buffer.from(privateKey.slice(PRIVATE_KEY_PREFIX.length), 'base64') : Buffer.alloc(0);
  if (bytes.length !== 2 * ED25519_KEY_BYTES) {
    throw new Error(`ed25519 private key must be "${PRIVATE_KEY_PREFIX}" and base64 of ${2 * ED25519_KEY_BYTES} bytes`);
  }
  return createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: bytes.subarray(0, ED25519_KEY_BYTES).toString('base64url'), x: bytes.subarray(ED25519_KEY_BYTES).toString('base64url') },
  });
}

/** @throws Error when the value is not `whpk_` and the base64 of 32 bytes. */
export function publicKeyObject(publicKey: string): KeyObject {
  const bytes = publicKey.startsWith(PUBLIC_KEY_PREFIX) ? Buffer.from(publicKey.slice(PUBLIC_KEY_PREFIX.length), 'base64') : Buffer.alloc(0);
  if (bytes.length !== ED25519_KEY_BYTES) {
    throw new Error(`ed25519 public key must be "${PUBLIC_KEY_PREFIX}" and base64 of ${ED25519_KEY_BYTES} bytes`);
  }
  return createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') } });
}

/** Builds the bytes every Standard Webhooks signature covers. */
export function signedContent(webhookId: string, timestampSeconds: number, body: string): Buffer {
  return Buffer.from(`${webhookId}.${timestampSeconds}.${body}`, 'utf8');
}

/**
 * Returns the `webhook-signature` header: one signature per key, space-separated, in the order
 * of `keys`. During a rotation the caller passes the new key and the old one, so a receiver that
 * has either one verifies.
 */
export function signWebhook(keys: readonly SigningKey[], webhookId: string, timestamp: Date, body: string): string {
  const timestampSeconds = Math.floor(timestamp.getTime() / 1000);
  return keys
    .map((key) => {
      switch (key.scheme) {
        case 'v1':
          return new Webhook(key.secret).sign(webhookId, timestamp, body);
        case 'v1a':
          // Ed25519 hashes internally, so node:crypto takes no digest name here.
          return `v1a,${sign(null, signedContent(webhookId, timestampSeconds, body), privateKeyObject(key.privateKey)).toString('base64')}`;
        default:
          return assertNever(key);
      }
    })
    .join(' ');
}

/**
 * Checks the `v1a` signatures of a `webhook-signature` header against a `whpk_` public key.
 * Returns true when one of them verifies; `v1` entries and malformed entries are skipped.
 */
export function hasValidAsymmetricSignature(publicKey: string, webhookId: string, timestampSeconds: number, body: string, signatureHeader: string): boolean {
  const key = publicKeyObject(publicKey);
  const content = signedContent(webhookId, timestampSeconds, body);
  return signatureHeader.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1a' || signature === undefined) {
      return false;
    }
    const bytes = Buffer.from(signature, 'base64');
    return bytes.length === 64 && verify(null, content, key, bytes);
  });
}

function assertNever(value: never): never {
  throw new Error(`unexpected signing key: ${JSON.stringify((value as { scheme?: unknown }).scheme)}`);
}
