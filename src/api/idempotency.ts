import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Collection } from 'mongodb';
import type { Logger } from 'pino';
import type { SecretBox } from '../domain/secrets.js';
import type { IdempotencyDocument } from '../store/documents.js';
import { isDuplicateKeyError } from '../store/mongo.js';
import { requireCaller } from './auth.js';
import { HttpProblem } from './problem.js';

/** How long a key's first response is kept and replayed. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** Printable ASCII without spaces, up to 255 characters: UUIDs, ULIDs and the like. */
const KEY_PATTERN = /^[\x21-\x7E]{1,255}$/;

/** Marks the middleware so handleOperation can check that idempotent operations mount it. */
export const IDEMPOTENCY_MIDDLEWARE = Symbol('idempotency middleware');

/**
 * Makes a write safe to retry with an `Idempotency-Key` header, as Stripe's API does: the first
 * request with a key runs and its response is stored for 24 hours; a repeat with the same key,
 * method, path and body gets that response again, with `Idempotent-Replayed: true`, and changes
 * nothing. The same key with another body is rejected with 422, and a repeat that arrives while
 * the first is still running gets 409. Responses of 500 and above are not stored, so the client
 * can retry them. Mount it after the body parser; requests without the header pass through.
 */
type Deps = { keys: Collection<IdempotencyDocument>; secretBox: SecretBox; logger: Logger };

export function idempotency(deps: Deps): RequestHandler {
  const middleware: RequestHandler = async (req, res, next) => {
    const key = req.get('idempotency-key');
    if (key === undefined) {
      next();
      return;
    }
    if (!KEY_PATTERN.test(key)) {
      throw HttpProblem.invalid([{ field: 'header.Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters without spaces, such as a UUID' }]);
    }

    // Keys are scoped to the caller's account, so one account cannot replay another's response.
    const id = digest(`${requireCaller(req).accountId}\n${req.method} ${req.baseUrl}${req.path}\n${key}`);
    const fingerprint = digest(requestBodyText(req));
    const claimed = await claimKey(deps.keys, id, fingerprint);
    if (claimed !== true) {
      respondToRepeat(claimed, fingerprint, res, deps.secretBox);
      return;
    }

    storeResponseWhenFinished(deps, id, res);
    next();
  };

  return Object.assign(middleware, { [IDEMPOTENCY_MIDDLEWARE]: true });
}

/** Inserts the key as in progress; returns true, or the existing document when the key was used before. */
async function claimKey(keys: Collection<IdempotencyDocument>, id: string, fingerprint: string): Promise<true | IdempotencyDocument> {
  for (let claim = 0; claim < 2; claim++) {
    const now = new Date();
    try {
      await keys.insertOne({ _id: id, fingerprint, state: 'in-progress', createdAt: now, expiresAt: new Date(now.getTime() + IDEMPOTENCY_KEY_TTL_MS) });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) {
        throw error;
      }
    }

    const existing = await keys.findOne({ _id: id });
    if (existing === null) {
      continue;
    }
    if (existing.expiresAt.getTime() > Date.now()) {
      return existing;
    }
    // An expired key counts as unused; MongoDB's TTL index may not have removed it yet.
    await keys.deleteOne({ _id: id, createdAt: existing.createdAt });
  }
  throw new HttpProblem(409, 'Conflict', 'another request is claiming this Idempotency-Key; retry', { headers: { 'retry-after': '1' } });
}

function respondToRepeat(existing: IdempotencyDocument, fingerprint: string, res: Response, secretBox: SecretBox): void {
  if (existing.fingerprint !== fingerprint) {
    throw new HttpProblem(422, 'Unprocessable Content', 'this Idempotency-Key was already used with a different request body; use a new key for a new request', {
      errors: [{ field: 'header.Idempotency-Key', message: 'already used with a different request body' }],
    });
  }
  if (existing.state === 'in-progress' || existing.status === undefined) {
    throw new HttpProblem(409, 'Conflict', 'a request with this Idempotency-Key is still in progress; retry after it ends', { headers: { 'retry-after': '1' } });
  }

  res.status(existing.status).set('idempotent-replayed', 'true');
  if (existing.contentType !== undefined) {
    res.type(existing.contentType);
  }
  if (existing.location !== undefined) {
    res.location(existing.location);
  }
  res.send(existing.bodyCiphertext === undefined ? undefined : secretBox.decrypt(existing.bodyCiphertext, existing._id));
}

/** Captures the response body as it is sent, and stores it (or frees the key) once the response ends. */
function storeResponseWhenFinished(deps: Deps, id: string, res: Response): void {
  let body: string | undefined;
  const send = res.send.bind(res);
  res.send = (payload?: unknown) => {
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      body = payload.toString();
    }
    return send(payload);
  };

  let settled = false;
  const settle = (finished: boolean): void => {
    if (settled) {
      return;
    }
    settled = true;
    const update =
      finished && res.statusCode < 500
        ? deps.keys.updateOne(
            { _id: id },
            {
              $set: {
                state: 'completed',
                status: res.statusCode,
                ...optional('contentType', res.get('content-type')),
                ...optional('location', res.get('location')),
                ...optional('bodyCiphertext', body === undefined ? undefined : deps.secretBox.encrypt(body, id)),
              },
            },
          )
        : deps.keys.deleteOne({ _id: id });
    // A key left in progress after this fails expires with its TTL; a repeat gets 409 until then.
    update.catch((error: unknown) => deps.logger.warn({ err: error, idempotencyKeyId: id }, 'Could not store the response of an Idempotency-Key'));
  };
  res.once('finish', () => settle(true));
  res.once('close', () => settle(res.writableFinished));
}

function optional<K extends string>(name: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, string>);
}

function requestBodyText(req: Request): string {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  return raw !== undefined ? raw.toString('utf8') : JSON.stringify(req.body ?? null);
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
