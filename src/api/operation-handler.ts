import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { authorize, requireCaller, type Caller } from './auth.js';
import { IDEMPOTENCY_MIDDLEWARE } from './idempotency.js';
import type { ApiOperation } from './operations.js';
import { parseOrThrow } from './problem.js';

type RequestPart = 'path' | 'query' | 'body';

/** The parsed value of one request part, or undefined when the operation declares no schema for it. */
type ParsedPart<Op extends ApiOperation, Part extends RequestPart> = Op['request'] extends { [P in Part]: infer Schema extends z.ZodType } ? z.output<Schema> : undefined;

export interface OperationInput<Op extends ApiOperation> {
  path: ParsedPart<Op, 'path'>;
  query: ParsedPart<Op, 'query'>;
  body: ParsedPart<Op, 'body'>;
  /** The API key of the request; undefined on public operations. */
  caller: Op['access'] extends 'public' ? undefined : Caller;
}

export type OperationHandler<Op extends ApiOperation> = (req: Request, res: Response, input: OperationInput<Op>) => Promise<void> | void;

/** Converts an OpenAPI path template to Express syntax: `/v1/records/{kind}` becomes `/v1/records/:kind`. */
export function expressPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

/**
 * Mounts one operation of the registry on a router. Before the handler runs, the path
 * parameters, the query and the body are parsed with the operation's schemas, in that order, and
 * the first invalid part is rejected with a problem that names each bad field. A part without a
 * schema is not read. Before anything else, the request must carry an API key of a role the
 * operation accepts (see auth.ts). `middleware` runs next, for example to parse a JSON body, so
 * the body of a request without a valid key is never read.
 */
export function handleOperation<Op extends ApiOperation>(router: Router, operation: Op, middleware: RequestHandler[], handler: OperationHandler<Op>): void {
  const { request } = operation;
  const mountsIdempotency = middleware.some((handler) => IDEMPOTENCY_MIDDLEWARE in handler);
  if (operation.idempotent === true && !mountsIdempotency) {
    throw new Error(`${operation.method.toUpperCase()} ${operation.path} is documented as idempotent but its route does not mount the idempotency middleware`);
  }

  const parseInput: RequestHandler = async (req, res) => {
    const input = {
      path: request.path === undefined ? undefined : parseOrThrow(request.path, req.params, 'path'),
      query: request.query === undefined ? undefined : parseOrThrow(request.query, req.query, 'query'),
      body: request.body === undefined ? undefined : parseOrThrow(request.body, req.body, 'body'),
      caller: operation.access === 'public' ? undefined : requireCaller(req),
    } as OperationInput<Op>;
    await handler(req, res, input);
  };
  router.route(expressPath(operation.path))[operation.method](authorize(operation.access), ...middleware, parseInput);
}
