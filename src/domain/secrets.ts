import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
export const SECRET_MIN_BYTES = 24;
export const SECRET_MAX_BYTES = 64;

const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

/** Generates a Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * Checks the shape of a signing secret and returns why it is invalid, or undefined when it is valid.
 * The reason never repeats the secret itself.
 */
export function describeInvalidSecret(secret: string): string | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) {
    return `must start with "${SECRET_PREFIX}" followed by base64`;
  }

  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64_PATTERN.test(encoded) || encoded.length % 4 !== 0) {
    return `must be "${SECRET_PREFIX}" followed by standard base64 (A-Z, a-z, 0-9, +, /, = padding)`;
  }

  const byteLength = Buffer.from(encoded, 'base64').length;
  if (byteLength < SECRET_MIN_BYTES || byteLength > SECRET_MAX_BYTES) {
    return `must encode ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes, got ${byteLength}; omit it to have one generated`;
  }

  return undefined;
}

const CIPHER = 'aes-256-gcm';
const CIPHERTEXT_VERSION = 'v1';
const IV_BYTES = 12;
const AUTH_TAG_BYTES = 16;

/**
 * Encrypts signing secrets at rest with AES-256-GCM. The subscription id, and the field name for
 * values other than the secret, are bound as additional authenticated data. So a ciphertext copied
 * onto another subscription, or into another field of the same one, fails to decrypt.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) {
      throw new Error(`encryption key must be 32 bytes, got ${key.length}`);
    }
  }

  encrypt(plaintext: string, subscriptionId: string, field: SealedField = 'secret'): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.key, iv);
    cipher.setAAD(associatedData(subscriptionId, field));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [CIPHERTEXT_VERSION, iv, tag, ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64'))).join('.');
  }

  /** @throws Error when the value was not produced by this key for this subscription. */
  decrypt(sealed: string, subscriptionId: string, field: SealedField = 'secret'): string {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== CIPHERTEXT_VERSION || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error(`cannot decrypt the ${field} of subscription ${subscriptionId}: unknown format`);
    }

    // Without authTagLength, Node's GCM accepts a tag cut to 4 bytes, which is far easier to forge.
    const decipher = createDecipheriv(CIPHER, this.key, Buffer.from(iv, 'base64'), { authTagLength: AUTH_TAG_BYTES });
    decipher.setAAD(associatedData(subscriptionId, field));
    try {
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`cannot decrypt the ${field} of subscription ${subscriptionId}: wrong DOORBELL_ENCRYPTION_KEY or tampered data`);
    }
  }
}

/** Field of a sealed value: a signing secret or private key, or a subscription's custom headers. */
export type SealedField = 'secret' | 'headers';

/** Secrets keep the bare id as their associated data, so ciphertexts stored before fields existed still decrypt. */
function associatedData(subscriptionId: string, field: SealedField): Buffer {
  return Buffer.from(field === 'secret' ? subscriptionId : `${subscriptionId}#${field}`);
}
