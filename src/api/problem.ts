import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import type { Logger } from 'pino';
import { type z } from 'zod';

export interface FieldError {
  /** Location of the bad value, such as `body.url`, `query.limit` or `path.kind`. */
  field: string;
  message: string;
}

/**
 * An HTTP error sent as RFC 9457 problem details (`application/problem+json`). Every error
 * the API means to send is one of these; anything else becomes a 500 without internals.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  static notFound(what: string, id: string): HttpProblem {
    return new HttpProblem(404, 'Not Found', `${what} ${JSON.stringify(id)} not found`);
  }

  static invalid(errors: FieldError[], status = 400): HttpProblem {
    const detail = errors.map((error) => `${error.field}: ${error.message}`).join('; ');
    return new HttpProblem(status, status === 422 ? 'Unprocessable Content' : 'Bad Request', detail, { errors });
  }
}

/** Converts zod issues into field errors that name the value's location and the expected form. */
export function fieldErrorsFrom(error: z.ZodError, location: 'body' | 'query' | 'path'): FieldError[] {
  return error.issues.map((issue) => {
    const path = [location, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      return { field: path, message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'}` };
    }
    if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
      return { field: path, message: `is required (expected ${issue.expected})` };
    }
    return { field: path, message: issue.message };
  });
}

/** Parses a request part with a zod schema or throws a problem naming each bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, location: 'body' | 'query' | 'path'): z.output<T> {
  if (location === 'query') {
    throwOnRepeatedParameters(value as Record<string, unknown>);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw HttpProblem.invalid(fieldErrorsFrom(result.error, location), location === 'body' ? 422 : 400);
  }
  return result.data;
}

/** Rejects a parameter given twice, which reaches Express as an array, with a message that names the repeat. */
function throwOnRepeatedParameters(query: Record<string, unknown>): void {
  const errors = Object.entries(query)
    .filter(([, value]) => Array.isArray(value))
    .map(([name, value]) => ({ field: `query.${name}`, message: `given ${(value as unknown[]).length} times; send it once` }));
  if (errors.length > 0) {
    throw HttpProblem.invalid(errors, 400);
  }
}

/**
 * Rejects a request with a body that is not declared as UTF-8 JSON, before any parser reads it.
 * JSON exchanged between systems must be UTF-8 (RFC 8259, section 8.1). The parser would decode
 * another charset, but a record is stored and delivered as the bytes received.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const got = req.headers['content-type'] ?? 'none';
  if (!req.is('application/json')) {
    next(new HttpProblem(415, 'Unsupported Media Type', `request body must be JSON with Content-Type: application/json, got ${got}`));
    return;
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(got)?.[1];
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
    next(new HttpProblem(415, 'Unsupported Media Type', `request body must be UTF-8 JSON, got charset ${charset}; send it as UTF-8, or omit the charset`));
    return;
  }
  next();
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpProblem(404, 'Not Found', `no route for ${req.method} ${req.path}; see the API section of the README`));
};

/** Returns the error handler, the one place where errors become problem responses. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = toProblem(error);
    if (problem.status >= 500) {
      logger.error({ err: error, method: req.method, path: req.path }, 'Request failed');
    }

    for (const [name, value] of Object.entries(problem.extra.headers ?? {})) {
      res.setHeader(name, value);
    }
    res
      .status(problem.status)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: 'about:blank',
          title: problem.title,
          status: problem.status,
          detail: problem.detail,
          instance: req.originalUrl,
          ...(problem.extra.errors === undefined ? {} : { errors: problem.extra.errors }),
        }),
      );
  };
}

function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) {
    return error;
  }

  // Errors raised by body-parser carry a `type` and an HTTP status of their own.
  const parserError = error as { type?: string; status?: number; limit?: number };
  switch (parserError.type) {
    case 'entity.parse.failed':
      return new HttpProblem(400, 'Bad Request', 'request body is not valid JSON; check quoting, commas and brackets');
    case 'entity.too.large':
      return new HttpProblem(413, 'Content Too Large', `request body is larger than the limit of ${parserError.limit} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem(415, 'Unsupported Media Type', 'request body must be UTF-8 encoded JSON');
    case 'entity.verify.failed':
      // The only verify step is jsonBody's UTF-8 check (json-body.ts).
      return new HttpProblem(400, 'Bad Request', 'request body is not valid UTF-8; send JSON encoded as UTF-8');
    case 'request.aborted':
      return new HttpProblem(400, 'Bad Request', 'request body was not received completely');
    default:
      break;
  }

  // Express's router raises a URIError when a path parameter is not valid percent-encoded UTF-8.
  if (error instanceof URIError) {
    return new HttpProblem(400, 'Bad Request', 'the request path contains an invalid percent-encoded sequence; encode path segments as UTF-8');
  }

  if (error instanceof MongoServerSelectionError || error instanceof MongoNetworkError) {
    return new HttpProblem(503, 'Service Unavailable', 'the database is unreachable; nothing was written, retry later', { headers: { 'retry-after': '5' } });
  }

  if (isDatabaseBusy(error)) {
    return new HttpProblem(503, 'Service Unavailable', 'the database is busy; send the request again, with the same Idempotency-Key if it had one', { headers: { 'retry-after': '1' } });
  }

  return new HttpProblem(500, 'Internal Server Error', 'an unexpected error occurred; it has been logged');
}

/**
 * FerretDB's SQLite backend refuses a write with "database is locked" while another holds the
 * lock, under heavy write load. The write did not happen, and a retry a moment later succeeds.
 */
export function isDatabaseBusy(error: unknown): boolean {
  return error instanceof MongoServerError && /database is locked/i.test(error.message);
}
