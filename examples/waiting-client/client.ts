/**
 * An example client application that needs a record the provider does not have yet. Instead of
 * polling, it calls Doorbell's lookup-or-subscribe once, keeps an empty placeholder on 202, and
 * fills it when the signed webhook arrives. `npm run demo` and the integration test both run it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import {
  MemoryDuplicateStore,
  webhookHandler,
  type DuplicateStore,
  type WebhookEvent,
  type WebhookRejectedError,
} from '../../src/receiver/index.js';

export const WEBHOOK_PATH = '/webhooks/doorbell';

const LOOKUP_TIMEOUT_MS = 10_000;
const MAX_WEBHOOK_BODY_BYTES = 1_048_576;
const RECEIVED_WEBHOOKS_KEPT = 100;

/** A record in this application's own store. A placeholder has a null version and no data. */
export interface StoredRecord {
  kind: string;
  id: string;
  version: number | null;
  data: unknown;
  /** The `webhook-id` of the webhook that last changed the record, or null when no webhook did. */
  webhookId: string | null;
  updatedAt: Date;
}

/** A webhook request as it arrived, with the raw body and headers needed to send it again. */
export interface ReceivedWebhook {
  webhookId: string | undefined;
  headers: Record<string, string>;
  rawBody: string;
  /** The HTTP status this application responded with. */
  status: number;
  receivedAt: Date;
}

/** Counts of webhooks by what the application did with them. */
export interface WebhookCounts {
  /** Verified webhooks that changed a record. */
  applied: number;
  /** Webhooks that failed verification: bad signature, stale timestamp, missing headers or invalid body. */
  rejected: number;
  rejectedByReason: Partial<Record<WebhookRejectedError['reason'], number>>;
  /** Verified webhooks skipped because their `webhook-id` was already handled. */
  duplicates: number;
  /** Verified webhooks skipped because the stored record already had that version or a newer one. */
  olderVersions: number;
}

export type LookupResult =
  | { status: 'found'; record: StoredRecord }
  | { status: 'pending'; subscriptionId: string };

export interface WaitingClientOptions {
  /** Base URL of the Doorbell API, such as http://127.0.0.1:3000. */
  doorbellUrl: string;
  /** Doorbell API key with the subscriber (or admin) role, sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Loopback port to listen on. 0 picks a free port at the first start, and restarts reuse it. */
  port?: number;
  /** Standard Webhooks signing secret: `whsec_` followed by base64. One is generated when omitted. */
  secret?: string;
  logger?: Logger;
}

/**
 * The example application: an Express server on 127.0.0.1 that receives Doorbell's webhooks,
 * and an in-memory record store. `stop()` and `start()` take only the HTTP server down and up,
 * so the store and the handled webhook ids survive, as a real application would keep them in
 * its database.
 */
export class WaitingClient {
  /**
   * The signing secret of this client's subscriptions. The client generates it rather than
   * taking the one Doorbell would generate, so it has the secret before its first lookup, and
   * a repeated lookup still works although its response carries no secret.
   */
  readonly secret: string;
  readonly logger: Logger;
  readonly counts: WebhookCounts = { applied: 0, rejected: 0, rejectedByReason: {}, duplicates: 0, olderVersions: 0 };

  private readonly doorbellUrl: string;
  private readonly apiKey: string;
  private readonly records = new Map<string, StoredRecord>();
  private readonly received: ReceivedWebhook[] = [];
  private readonly duplicates: DuplicateStore;
  private port: number;
  private server: Server | undefined;

  constructor(options: WaitingClientOptions) {
    this.doorbellUrl = options.doorbellUrl.replace(/\/$/, '');
    this.apiKey = options.apiKey;
    this.port = options.port ?? 0;
    this.secret = options.secret ?? `whsec_${randomBytes(32).toString('base64')}`;
    this.logger = options.logger ?? pino({ name: 'waiting-client' });
    this.duplicates = new MemoryDuplicateStore();
  }

  /** The URL Doorbell sends webhooks to. Known once the client has started. */
  get callbackUrl(): string {
    if (this.port === 0) {
      throw new Error('the client has no port yet: call start() first');
    }
    return `http://127.0.0.1:${this.port}${WEBHOOK_PATH}`;
  }

  /** Starts the HTTP server on 127.0.0.1, on the same port as before after a stop. */
  async start(): Promise<void> {
    if (this.server !== undefined) {
      throw new Error(`the client is already listening on port ${this.port}`);
    }

    const server = createServer(this.createApp());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });

    const address = server.address();
    if (typeof address !== 'object' || address === null) {
      throw new Error('the client server has no TCP address after listen');
    }
    this.port = address.port;
    this.server = server;
    this.logger.info({ callbackUrl: this.callbackUrl }, 'Client started');
  }

  /** Stops the HTTP server and drops open connections, so Doorbell's next attempt fails to connect. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) {
      return;
    }
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error))));
    this.logger.info({ port: this.port }, 'Client stopped');
  }

  /**
   * Requests a record from Doorbell through lookup-or-subscribe and stores a found record. On 202
   * it stores an empty placeholder and sends no further request, because the webhook fills it.
   *
   * @throws Error when Doorbell responds with anything other than 200 or 202, or does not respond.
   */
  async requestRecord(kind: string, id: string): Promise<LookupResult> {
    const path = recordPath(kind, id);
    const response = await fetch(`${this.doorbellUrl}/v1/records/${encodeURIComponent(kind)}/${encodeURIComponent(id)}/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey}` },
      body: JSON.stringify({ callback: { url: this.callbackUrl, method: 'POST', secret: this.secret } }),
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    });
    const text = await response.text();
    const body = parseJson(text) as LookupResponseBody | undefined;

    if (response.status === 200 && body?.status === 'found' && body.record !== undefined) {
      const record = this.storeVersion(kind, id, body.record.version, body.record.data, null);
      this.logger.info({ record: path, version: body.record.version }, `Record ${path} found at Doorbell`);
      return { status: 'found', record: { ...record } };
    }

    if (response.status === 202 && body?.subscription !== undefined) {
      // The webhook may already have filled the record before this response arrived.
      if (!this.records.has(path)) {
        this.records.set(path, { kind, id, version: null, data: null, webhookId: null, updatedAt: new Date() });
      }
      this.logger.info({ record: path, subscriptionId: body.subscription.id }, `Record ${path} is not available yet, so the client waits for Doorbell's webhook`);
      return { status: 'pending', subscriptionId: body.subscription.id };
    }

    const detail = body?.detail ?? text.slice(0, 500);
    throw new Error(`lookup of ${path} failed: Doorbell responded with HTTP ${response.status}: ${detail}`);
  }

  /** Returns a copy of a stored record or placeholder, or undefined when the client never requested it. */
  record(kind: string, id: string): StoredRecord | undefined {
    const stored = this.records.get(recordPath(kind, id));
    return stored === undefined ? undefined : { ...stored };
  }

  /** Returns the last RECEIVED_WEBHOOKS_KEPT webhook requests, oldest first, including rejected ones. */
  receivedWebhooks(): ReceivedWebhook[] {
    return this.received.map((webhook) => ({ ...webhook, headers: { ...webhook.headers } }));
  }

  private createApp(): Express {
    const app = express();
    app.disable('x-powered-by');

    // The webhook route comes before any JSON parser, because a parser would consume the raw
    // body that the signature covers. `readRawBody` reads it first so `keepReceivedWebhook` can
    // keep a copy; webhookHandler then verifies the Buffer that express.raw left in req.body.
    const readRawBody = express.raw({ type: () => true, limit: MAX_WEBHOOK_BODY_BYTES });
    app.post(
      WEBHOOK_PATH,
      readRawBody,
      this.keepReceivedWebhook,
      ...webhookHandler({
        secret: this.secret,
        duplicates: this.duplicates,
        maxBodyBytes: MAX_WEBHOOK_BODY_BYTES,
        onEvent: (event, webhookId) => this.applyEvent(event, webhookId),
        onRejected: (error) => this.countRejection(error),
        onDuplicate: (webhookId, state) => {
          this.counts.duplicates++;
          this.logger.info({ webhookId, state }, 'Ignored webhook: this webhook-id was already handled or is being handled');
        },
      }),
    );

    // The application's own read route: 200 with the record, 202 while it is a placeholder.
    app.get('/records/:kind/:id', (req, res) => {
      const stored = this.record(req.params.kind, req.params.id);
      if (stored === undefined) {
        res.status(404).json({ error: `record ${recordPath(req.params.kind, req.params.id)} was never requested` });
        return;
      }
      res.status(stored.version === null ? 202 : 200).json(stored);
    });

    return app;
  }

  private readonly keepReceivedWebhook: RequestHandler = (req, res, next) => {
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const value = req.headers[name];
      if (typeof value === 'string') {
        headers[name] = value;
      }
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';

    res.once('finish', () => {
      this.received.push({ webhookId: headers['webhook-id'], headers, rawBody, status: res.statusCode, receivedAt: new Date() });
      if (this.received.length > RECEIVED_WEBHOOKS_KEPT) {
        this.received.shift();
      }
    });
    next();
  };

  private applyEvent(event: WebhookEvent, webhookId: string): void {
    const { kind, id, version, record } = event.data;
    const path = recordPath(kind, id);
    const stored = this.records.get(path);

    // Deliveries of different versions can arrive out of order, for example a retried old one
    // after a newer one, so only a newer version may replace what the client has.
    if (stored?.version != null && version <= stored.version) {
      this.counts.olderVersions++;
      this.logger.info({ record: path, version, storedVersion: stored.version, webhookId }, 'Ignored webhook: the stored record has this version or a newer one');
      return;
    }

    const wasPlaceholder = stored === undefined || stored.version === null;
    this.storeVersion(kind, id, version, record, webhookId);
    this.counts.applied++;
    this.logger.info(
      { record: path, version, webhookId },
      wasPlaceholder ? `Record ${path} is ready (version ${version})` : `Record ${path} was updated to version ${version}`,
    );
  }

  private storeVersion(kind: string, id: string, version: number, data: unknown, webhookId: string | null): StoredRecord {
    const path = recordPath(kind, id);
    const stored = this.records.get(path);
    if (stored?.version != null && stored.version >= version) {
      return stored;
    }
    const record: StoredRecord = { kind, id, version, data, webhookId, updatedAt: new Date() };
    this.records.set(path, record);
    return record;
  }

  private countRejection(error: WebhookRejectedError): void {
    this.counts.rejected++;
    this.counts.rejectedByReason[error.reason] = (this.counts.rejectedByReason[error.reason] ?? 0) + 1;
    this.logger.warn({ reason: error.reason, status: error.status, detail: error.message }, 'Rejected webhook');
  }
}

interface LookupResponseBody {
  status?: string;
  record?: { version: number; data: unknown };
  subscription?: { id: string };
  detail?: string;
}

function recordPath(kind: string, id: string): string {
  return `${kind}/${id}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
