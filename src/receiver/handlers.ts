import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type RequestHandler } from 'express';
import { MemoryDuplicateStore, type DuplicateStore } from './duplicates.js';
import { WebhookRejectedError, headerValue, verifyWebhook, type WebhookEvent } from './verify.js';

const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** Seconds a copy of a webhook whose first copy is still being handled is asked to wait. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 5;

export interface WebhookHandlerOptions<TRecord = unknown> {
  /** The subscription's signing secret, `whsec_` followed by base64. */
  secret: string;
  /** Handles one verified event. It runs once per `webhook-id`, and throwing makes Doorbell retry. */
  onEvent: (event: WebhookEvent<TRecord>, webhookId: string) => Promise<void> | void;
  /** Handled ids. Default: a MemoryDuplicateStore of this process. */
  duplicates?: DuplicateStore;
  /** How far `webhook-timestamp` may be from now, either way. Default 300. */
  toleranceSeconds?: number;
  /** Called with each rejected request, to log or count it. */
  onRejected?: (error: WebhookRejectedError) => void;
  /** Called with each `webhook-id` that was already handled or is being handled. */
  onDuplicate?: (webhookId: string, state: 'handled' | 'in-progress') => void;
  /** Largest body accepted. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** An HTTP response of the receiver, independent of the framework. */
export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Returns a function that takes a raw body and its headers and returns the response. It is 204
 * when the event was handled now or before, and 409 with Retry-After while another copy of it is
 * being handled. A failed verification gets the rejection's 400 or 401. When `onEvent` throws,
 * the function releases the claim and throws too. Doorbell retries every status but 2xx and 410.
 */
export function createWebhookProcessor<TRecord = unknown>(options: WebhookHandlerOptions<TRecord>): (rawBody: Buffer, headers: Record<string, string | string[] | undefined>) => Promise<WebhookResponse> {
  const duplicates = options.duplicates ?? new MemoryDuplicateStore();
  const verifyOptions = options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds };

  return async (rawBody, headers): Promise<WebhookResponse> => {
    let event: WebhookEvent<TRecord>;
    try {
      event = verifyWebhook<TRecord>(options.secret, rawBody, headers, verifyOptions);
    } catch (error) {
      if (error instanceof WebhookRejectedError) {
        options.onRejected?.(error);
        return { status: error.status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: error.message };
      }
      throw error;
    }

    const webhookId = headerValue(headers, 'webhook-id')!;
    const claim = await duplicates.claim(webhookId);
    if (claim === 'handled') {
      options.onDuplicate?.(webhookId, claim);
      return { status: 204, headers: {}, body: '' };
    }
    if (claim === 'in-progress') {
      // Not 2xx: the first copy may still fail, and then this one must be delivered again.
      options.onDuplicate?.(webhookId, claim);
      return {
        status: 409,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(IN_PROGRESS_RETRY_AFTER_SECONDS) },
        body: `webhook ${webhookId} is being handled by another request; retry later`,
      };
    }

    try {
      await options.onEvent(event, webhookId);
    } catch (error) {
      await duplicates.release(webhookId);
      throw error;
    }
    await duplicates.complete(webhookId);
    return { status: 204, headers: {}, body: '' };
  };
}

/**
 * Express middleware that reads the raw body itself, verifies it, skips duplicates and calls
 * `onEvent`. A JSON parser rewrites the body, after which the signature no longer matches, so
 * mount this before express.json(), or after an express.raw() of your own. Errors of `onEvent`
 * go to Express's error handler, which responds 500.
 */
export function webhookHandler<TRecord = unknown>(options: WebhookHandlerOptions<TRecord>): RequestHandler[] {
  const process = createWebhookProcessor(options);
  const parseRaw = express.raw({ type: () => true, limit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  // A body an earlier express.raw() already read (to keep a copy, say) is verified as it is.
  const readRaw: RequestHandler = (req, res, next) => (Buffer.isBuffer(req.body) ? next() : parseRaw(req, res, next));

  const handle: RequestHandler = async (req, res) => {
    const response = await process(req.body as Buffer, req.headers);
    res.status(response.status).set(response.headers).send(response.body);
  };

  return [readRaw, handle];
}

/**
 * A plain `node:http` request handler, for servers without Express. It responds 413 to a body
 * over `maxBodyBytes` and 500 when `onEvent` throws, and otherwise as createWebhookProcessor.
 *
 * @example createServer(nodeWebhookHandler({ secret, onEvent })).listen(4000)
 */
export function nodeWebhookHandler<TRecord = unknown>(options: WebhookHandlerOptions<TRecord> & { onError?: (error: unknown) => void }): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const process = createWebhookProcessor(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  return async (req, res) => {
    const rawBody = await readBody(req, maxBodyBytes);
    if (rawBody === undefined) {
      res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`body is larger than ${maxBodyBytes} bytes`);
      return;
    }

    let response: WebhookResponse;
    try {
      response = await process(rawBody, req.headers);
    } catch (error) {
      options.onError?.(error);
      response = { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'webhook handler failed' };
    }
    res.writeHead(response.status, response.headers).end(response.body);
  };
}

/** Reads the whole body, or returns undefined as soon as it exceeds maxBytes. */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    length += (chunk as Buffer).length;
    if (length > maxBytes) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
