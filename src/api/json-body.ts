import { isUtf8 } from 'node:buffer';
import { json, type Request, type RequestHandler } from 'express';

/** Request with the bytes of its JSON body, kept by `jsonBody({ keepRaw: true })`. */
export type RequestWithRawBody = Request & { rawBody: Buffer };

/** Error raised by the body parser's verify step on bytes that are not UTF-8; problem.ts turns it into 400. */
export class InvalidUtf8BodyError extends Error {
  constructor() {
    super('request body is not valid UTF-8');
    this.name = 'InvalidUtf8BodyError';
  }
}

/**
 * Returns Express's JSON body parser with a check that the bytes are valid UTF-8. Without it the
 * decoder would replace invalid bytes with U+FFFD and a record would be stored altered.
 * `keepRaw` keeps the bytes as `rawBody`, so a record is delivered exactly as sent.
 */
export function jsonBody(options: { limitBytes: number; keepRaw?: boolean }): RequestHandler {
  return json({
    limit: options.limitBytes,
    strict: true,
    verify: (req, _res, buffer) => {
      if (!isUtf8(buffer)) {
        throw new InvalidUtf8BodyError();
      }
      if (options.keepRaw === true) {
        (req as RequestWithRawBody).rawBody = buffer;
      }
    },
  });
}
