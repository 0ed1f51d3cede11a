import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ulid } from 'ulid';
import type { ApiKeyDocument, ApiKeyRole } from '../store/documents.js';
import type { Store } from '../store/mongo.js';

/**
 * API keys: tokens of the form `dbk_` + 43 base64url characters (32 random bytes). Only a
 * SHA-256 digest of a token is stored. A slow password hash would add nothing, because a token
 * has 256 bits of entropy and cannot be guessed from a fast digest either; GitHub and Stripe
 * store their API tokens the same way.
 */

export const API_KEY_TOKEN_PREFIX = 'dbk_';

/** Characters of a token kept in clear as `prefix`, so a key can be recognized in a list: `dbk_` and 8 more. */
const VISIBLE_PREFIX_LENGTH = API_KEY_TOKEN_PREFIX.length + 8;

const TOKEN_PATTERN = /^dbk_[A-Za-z0-9_-]{43}$/;

/** Account names: letters, digits, `_` and `-`, 1 to 64 characters. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function newApiKeyId(): string {
  return `key_${ulid()}`;
}

/** Generates a new token. Only the response that creates the key contains it, and it is never stored. */
export function generateApiKeyToken(): string {
  return `${API_KEY_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** Returns the hex SHA-256 digest of a token, as stored in `tokenHash`. */
export function hashApiKeyToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isWellFormedApiKeyToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export type BearerParseResult = { token: string } | { error: 'missing' | 'not-bearer' | 'malformed' };

/**
 * Reads the token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive
 * (RFC 9110, section 11.1). The token must have Doorbell's format, so a wrong kind of credential
 * is rejected before any database lookup.
 */
export function parseBearerToken(header: string | undefined): BearerParseResult {
  if (header === undefined || header.trim() === '') {
    return { error: 'missing' };
  }
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (match === null || match[1]!.toLowerCase() !== 'bearer') {
    return { error: 'not-bearer' };
  }
  const token = match[2]!;
  return isWellFormedApiKeyToken(token) ? { token } : { error: 'malformed' };
}

/** Compares two hex digests in constant time, so its timing does not reveal where they differ. */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface ApiKeyRequest {
  name: string;
  role: ApiKeyRole;
  /** The account whose subscriptions the key shares; when omitted the key gets an account of its own, named after its id. */
  accountId?: string | undefined;
}

/** Creates an API key and returns it with its token, which exists nowhere else afterwards. */
export async function createApiKey(store: Pick<Store, 'apiKeys'>, request: ApiKeyRequest): Promise<{ key: ApiKeyDocument; token: string }> {
  const id = newApiKeyId();
  const token = generateApiKeyToken();
  const key: ApiKeyDocument = {
    _id: id,
    name: request.name,
    role: request.role,
    accountId: request.accountId ?? id,
    tokenHash: hashApiKeyToken(token),
    prefix: token.slice(0, VISIBLE_PREFIX_LENGTH),
    createdAt: new Date(),
    revokedAt: null,
  };
  await store.apiKeys.insertOne(key);
  return { key, token };
}

/**
 * Finds the key a token belongs to, or returns null when no key has it or the key was revoked.
 * The lookup goes by the digest's unique index; the final comparison is constant-time anyway.
 */
export async function findActiveApiKey(store: Pick<Store, 'apiKeys'>, token: string): Promise<ApiKeyDocument | null> {
  const tokenHash = hashApiKeyToken(token);
  const key = await store.apiKeys.findOne({ tokenHash });
  if (key === null || key.revokedAt !== null || !digestsEqual(key.tokenHash, tokenHash)) {
    return null;
  }
  return key;
}

/** Marks a key revoked; later requests with its token get 401. Returns null when no key has this id. */
export async function revokeApiKey(store: Pick<Store, 'apiKeys'>, id: string): Promise<ApiKeyDocument | null> {
  await store.apiKeys.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: new Date() } });
  return store.apiKeys.findOne({ _id: id });
}
