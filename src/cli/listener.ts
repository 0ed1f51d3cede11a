/**
 * The local HTTP server of `doorbell listen`. It verifies each webhook with the secret of the
 * subscription whose endpoint path it arrived on, then forwards it to the local application or
 * responds 204.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { verifyWebhook, WebhookRejectedError, type WebhookEvent } from '../receiver/index.js';
import { describeRequestError } from './errors.js';

const LISTEN_HOST = '127.0.0.1';

/** The largest webhook body accepted, well above the API's default record limit of 1 MiB. */
const MAX_WEBHOOK_BODY_BYTES = 16 * 1024 * 1024;

/** Doorbell reads at most 64 KiB of a response, so no more of the forward's response is relayed. */
const MAX_RELAYED_BODY_BYTES = 64 * 1024;

/** Seconds Doorbell is asked to wait when a webhook arrives before its subscription's secret is known. */
const STARTING_RETRY_AFTER_SECONDS = 5;

/** Headers that describe one connection, not the request, so they are not forwarded. */
const HOP_BY_HOP_HEADERS = new Set(['connection', 'content-length', 'expect', 'host', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Response headers of the local application that Doorbell reads, so they are relayed back. */
const RELAYED_RESPONSE_HEADERS = ['content-type', 'retry-after'];

/** Result of forwarding a webhook to the local application. */
export interface ForwardOutcome {
  url: string;
  /** The application's HTTP status, or null when no response arrived. */
  status: number | null;
  /** Reason no response arrived, or null when one did. */
  error: string | null;
  durationMs: number;
}

/** A verified webhook, as `listen` prints it. */
export interface ReceivedWebhook {
  receivedAt: string;
  target: string;
  subscriptionId: string;
  webhookId: string;
  event: WebhookEvent;
  /** Null without --forward-to. */
  forward: ForwardOutcome | null;
  /** The HTTP status the listener responded to Doorbell with. */
  responseStatus: number;
}

/** A request the listener rejected, with the status it responded with. */
export interface RejectedRequest {
  path: string;
  target: string | undefined;
  reason: string;
  responseStatus: number;
}

export interface WebhookListenerOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** A loopback URL that verified webhooks are forwarded to, or undefined to respond 204. */
  forwardUrl: string | undefined;
  /** Milliseconds to wait for the forward's response before responding 504. */
  forwardTimeoutMs: number;
  onWebhook: (webhook: ReceivedWebhook) => void;
  onRejected: (rejection: RejectedRequest) => void;
  /** Called with an unexpected error of one request, after a 500 response. */
  onError: (error: unknown) => void;
}

interface Route {
  target: string;
  subscriptionId: string | undefined;
  /** Kept in memory only, never printed. */
  secret: string | undefined;
}

export class WebhookListener {
  private readonly routes = new Map<string, Route>();
  private server: Server | undefined;

  constructor(private readonly options: WebhookListenerOptions) {}

  /** Starts listening on 127.0.0.1. Rejects with the system error, such as EADDRINUSE. */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          respond(res, 500, 'the listener failed to handle this webhook');
        }
        this.options.onError(error);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, LISTEN_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  get url(): string {
    const address = this.server?.address();
    if (typeof address !== 'object' || address === null) {
      throw new Error('the listener is not listening');
    }
    return `http://${LISTEN_HOST}:${address.port}`;
  }

  /** Adds an endpoint for one subscription target and returns its URL, for the subscription to create. */
  addRoute(target: string): string {
    const path = `/webhooks/${this.routes.size + 1}`;
    this.routes.set(path, { target, subscriptionId: undefined, secret: undefined });
    return `${this.url}${path}`;
  }

  /** Sets the subscription and signing secret of an endpoint, once the API has created it. */
  setSubscription(endpointUrl: string, subscriptionId: string, secret: string): void {
    const route = this.routes.get(new URL(endpointUrl).pathname);
    if (route === undefined) {
      throw new Error(`no listener endpoint ${endpointUrl}`);
    }
    route.subscriptionId = subscriptionId;
    route.secret = secret;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) {
      return;
    }
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', `http://${LISTEN_HOST}`).pathname;
    const route = this.routes.get(path);
    if (route === undefined) {
      req.resume();
      this.reject(res, { path, target: undefined, reason: `no subscription of this listener has the endpoint path ${path}`, responseStatus: 404 });
      return;
    }

    const body = await readBody(req, MAX_WEBHOOK_BODY_BYTES);
    if (body === undefined) {
      this.reject(res, { path, target: route.target, reason: `body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`, responseStatus: 413 });
      return;
    }
    if (route.secret === undefined || route.subscriptionId === undefined) {
      // Possible when the record is written while the API creates the subscription.
      res.setHeader('retry-after', String(STARTING_RETRY_AFTER_SECONDS));
      this.reject(res, { path, target: route.target, reason: 'webhook arrived before its subscription was created; Doorbell will retry', responseStatus: 503 });
      return;
    }

    let event: WebhookEvent;
    try {
      event = verifyWebhook(route.secret, body, req.headers);
    } catch (error) {
      if (error instanceof WebhookRejectedError) {
        this.reject(res, { path, target: route.target, reason: error.message, responseStatus: error.status });
        return;
      }
      throw error;
    }

    const received = {
      receivedAt: new Date().toISOString(),
      target: route.target,
      subscriptionId: route.subscriptionId,
      webhookId: String(req.headers['webhook-id']),
      event,
    };
    const forwardUrl = this.options.forwardUrl;
    if (forwardUrl === undefined) {
      res.writeHead(204).end();
      this.options.onWebhook({ ...received, forward: null, responseStatus: 204 });
      return;
    }

    const forwarded = await forwardWebhook(forwardUrl, { method: req.method ?? 'POST', headers: req.headers, body }, this.options.forwardTimeoutMs);
    res.writeHead(forwarded.status, forwarded.headers).end(forwarded.body);
    this.options.onWebhook({ ...received, forward: forwarded.outcome, responseStatus: forwarded.status });
  }

  private reject(res: ServerResponse, rejection: RejectedRequest): void {
    respond(res, rejection.responseStatus, rejection.reason);
    this.options.onRejected(rejection);
  }
}

/** The response the listener relays to Doorbell after a forward. */
interface ForwardedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  outcome: ForwardOutcome;
}

/**
 * Sends a webhook to the local application with its original method, headers and raw body, so
 * the application can verify the signature itself. Returns the application's response, or a
 * 502 (connection failed) or 504 (timed out) to relay, so Doorbell retries either way.
 */
export async function forwardWebhook(url: string, request: { method: string; headers: IncomingHttpHeaders; body: Buffer }, timeoutMs: number): Promise<ForwardedResponse> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name)) {
      headers[name] = value;
    }
  }

  const startedAt = performance.now();
  const elapsed = (): number => Math.round(performance.now() - startedAt);
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    // undici's request() sends the headers as given and never follows redirects, like Doorbell's
    // own sender, so a 3xx is relayed as the application sent it.
    const response = await undiciRequest(url, { method: request.method as Dispatcher.HttpMethod, headers, body: request.body, signal: timeout });
    const body = Buffer.from(await response.body.arrayBuffer()).subarray(0, MAX_RELAYED_BODY_BYTES);
    const relayedHeaders: Record<string, string> = {};
    for (const name of RELAYED_RESPONSE_HEADERS) {
      const value = response.headers[name];
      if (typeof value === 'string') {
        relayedHeaders[name] = value;
      }
    }
    return { status: response.statusCode, headers: relayedHeaders, body, outcome: { url, status: response.statusCode, error: null, durationMs: elapsed() } };
  } catch (error) {
    const timedOut = timeout.aborted;
    const reason = timedOut ? `no response within ${timeoutMs} ms` : describeRequestError(error);
    const status = timedOut ? 504 : 502;
    return {
      status,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: Buffer.from(`doorbell listen: forward to ${url} failed: ${reason}`),
      outcome: { url, status: null, error: reason, durationMs: elapsed() },
    };
  }
}

/**
 * Reads a request body, or returns undefined when it is larger than maxBytes. A larger body is
 * read to its end and dropped, because stopping early would close the connection before the
 * 413 response is sent.
 */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= maxBytes) {
      chunks.push(buffer);
    }
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks);
}

function respond(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(message);
}
