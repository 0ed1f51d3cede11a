import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Filter } from 'mongodb';
import { findActiveApiKey, parseBearerToken } from '../domain/api-keys.js';
import type { ApiKeyDocument, ApiKeyRole, SubscriptionDocument } from '../store/documents.js';
import type { Store } from '../store/mongo.js';
import type { Access } from './operations.js';
import { HttpProblem } from './problem.js';

/** The API key a request was sent with, as route handlers see it. */
export interface Caller {
  keyId: string;
  role: ApiKeyRole;
  accountId: string;
}

type Authentication = { caller: Caller } | { failure: 'missing' | 'invalid' };

const authentications = new WeakMap<Request, Authentication>();

/** Realm of the `WWW-Authenticate` challenge on every 401 (RFC 6750, section 3). */
const REALM = 'doorbell';

/**
 * Reads the `Authorization: Bearer` header of every request and finds its API key. It never
 * rejects a request itself, because only the route declares whether it needs a key, and
 * `authorize` checks that. A request to a public route with a bad key is therefore served as if it had none.
 */
export function authenticate(store: Pick<Store, 'apiKeys'>): RequestHandler {
  return async (req, _res, next) => {
    const parsed = parseBearerToken(req.get('authorization'));
    if ('error' in parsed) {
      authentications.set(req, { failure: parsed.error === 'missing' ? 'missing' : 'invalid' });
      next();
      return;
    }

    const key = await findActiveApiKey(store, parsed.token);
    authentications.set(req, key === null ? { failure: 'invalid' } : { caller: callerOf(key) });
    next();
  };
}

function callerOf(key: ApiKeyDocument): Caller {
  return { keyId: key._id, role: key.role, accountId: key.accountId };
}

/**
 * Returns the middleware that lets a request through to an operation only with a key of one of
 * its roles: 401 with a `WWW-Authenticate: Bearer` challenge without a valid key, 403 with a key
 * of another role. Public operations let every request through.
 */
export function authorize(access: Access): RequestHandler {
  return (req, _res, next) => {
    if (access === 'public') {
      next();
      return;
    }

    const authentication = authentications.get(req) ?? { failure: 'missing' };
    if ('failure' in authentication) {
      throw unauthorized(authentication.failure);
    }
    if (!access.includes(authentication.caller.role)) {
      throw new HttpProblem(403, 'Forbidden', `this API key has the role ${authentication.caller.role}; ${req.method} ${req.path} needs one of: ${access.join(', ')}`);
    }
    next();
  };
}

function unauthorized(failure: 'missing' | 'invalid'): HttpProblem {
  if (failure === 'missing') {
    return new HttpProblem(401, 'Unauthorized', 'missing API key; send it as "Authorization: Bearer dbk_..."', {
      headers: { 'www-authenticate': `Bearer realm="${REALM}"` },
    });
  }
  return new HttpProblem(401, 'Unauthorized', 'invalid API key: the token is malformed, unknown or revoked; send a valid key as "Authorization: Bearer dbk_..."', {
    headers: { 'www-authenticate': `Bearer realm="${REALM}", error="invalid_token"` },
  });
}

/**
 * Returns the caller of a request that passed `authorize` for a non-public operation.
 *
 * @throws Error when the request has no authenticated caller, which is a bug in the route's mounting.
 */
export function requireCaller(req: Request): Caller {
  const authentication = authentications.get(req);
  if (authentication === undefined || !('caller' in authentication)) {
    throw new Error(`${req.method} ${req.path} reached a handler without an authenticated API key`);
  }
  return authentication.caller;
}

/**
 * Returns the MongoDB filter that limits a query to what the caller owns: nothing for an admin
 * key, the caller's account otherwise. Subscriptions are owned by an account; deliveries belong
 * to the owner of their subscription.
 */
export function ownedBy(caller: Caller): Filter<SubscriptionDocument> {
  return caller.role === 'admin' ? {} : { accountId: caller.accountId };
}

export interface RateLimitOptions {
  /** Requests each key may send per window; 0 turns the limit off. */
  maxRequests: number;
  windowMs: number;
}

/**
 * Limits the requests of each API key to `maxRequests` per window. Past it the API responds 429
 * with `Retry-After` and the IETF `RateLimit` and `RateLimit-Policy` headers (draft 8).
 * Requests without a valid key are not counted, because they get 401 before doing any work
 * other than one indexed lookup.
 *
 * NOTE: the counters are in this process's memory, so each API process has its own budget and
 * a restart resets them. Several API processes together allow `maxRequests` times their number.
 */
export function rateLimitPerKey(options: RateLimitOptions): RequestHandler {
  if (options.maxRequests === 0) {
    return (_req, _res, next) => next();
  }

  return rateLimit({
    windowMs: options.windowMs,
    limit: options.maxRequests,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => keyIdOf(req) === undefined,
    keyGenerator: (req) => keyIdOf(req)!,
    handler: (_req, res, next) => {
      const retryAfter = res.getHeader('retry-after');
      next(
        new HttpProblem(429, 'Too Many Requests', `this API key sent more than ${options.maxRequests} requests in ${options.windowMs / 1000} s; retry after ${String(retryAfter)} s`),
      );
    },
  });
}

function keyIdOf(req: Request): string | undefined {
  const authentication = authentications.get(req);
  return authentication !== undefined && 'caller' in authentication ? authentication.caller.keyId : undefined;
}
