import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** One webhook that arrived with a valid signature. */
export interface Arrival {
  /** Request path; each scenario gives each subscriber its own path. */
  path: string;
  webhookId: string;
  eventId: string;
  kind: string;
  recordId: string;
  version: number;
  /** performance.now() when the whole body had arrived. */
  arrivedAt: number;
}

interface DoorbellEvent {
  type: string;
  data: { kind: string; id: string; version: number; eventId: string };
}

/**
 * A webhook receiver on 127.0.0.1 in the bench process. It reads each request, verifies the
 * Standard Webhooks signature as a real receiver must, responds 204, and hands the arrival to the
 * listeners. Every subscription of a run is created with `secret`, so one key verifies them all.
 */
export class BenchReceiver {
  readonly secret = `whsec_${randomBytes(32).toString('base64')}`;
  /** Requests rejected because the signature, timestamp or body was invalid. */
  rejected = 0;
  /** Webhooks whose webhook-id had arrived before (a retry after a lost response, for example). */
  duplicates = 0;
  received = 0;
  /** Requests rejected with 503 because their path was unavailable (see `setUnavailable`). */
  unavailable = 0;

  private unavailablePathPrefix: string | null = null;
  private readonly webhook = new Webhook(this.secret);
  private readonly seenWebhookIds = new Set<string>();
  private readonly listeners = new Set<(arrival: Arrival) => void>();
  private server: Server | undefined;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const arrivedAt = performance.now();
        const status = this.accept(request, Buffer.concat(chunks).toString('utf8'), arrivedAt);
        response.writeHead(status).end();
      });
    });
    // Doorbell's sender keeps connections alive for 10 s; keep them open at least that long here.
    this.server.keepAliveTimeout = 15_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  /** Returns the URL of `path` on this receiver, as a subscription's callback URL. */
  url(path: string): string {
    const address = this.server?.address();
    if (typeof address !== 'object' || address === null) {
      throw new Error('the bench receiver is not listening; call start() first');
    }
    return `http://127.0.0.1:${address.port}${path}`;
  }

  /** Responds 503 to every request whose path starts with `pathPrefix`, as an endpoint that is down; null ends that. */
  setUnavailable(pathPrefix: string | null): void {
    this.unavailablePathPrefix = pathPrefix;
  }

  /** Registers a listener for every valid arrival; returns the function that removes it. */
  onArrival(listener: (arrival: Arrival) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private accept(request: IncomingMessage, body: string, arrivedAt: number): number {
    if (this.unavailablePathPrefix !== null && (request.url ?? '').startsWith(this.unavailablePathPrefix)) {
      this.unavailable++;
      return 503;
    }

    const header = (name: string): string => String(request.headers[name] ?? '');
    let event: DoorbellEvent;
    try {
      event = this.webhook.verify(body, {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      }) as DoorbellEvent;
    } catch {
      this.rejected++;
      return 401;
    }

    this.received++;
    const webhookId = header('webhook-id');
    if (this.seenWebhookIds.has(webhookId)) {
      this.duplicates++;
      return 204;
    }
    this.seenWebhookIds.add(webhookId);

    const arrival: Arrival = {
      path: request.url ?? '',
      webhookId,
      eventId: event.data.eventId,
      kind: event.data.kind,
      recordId: event.data.id,
      version: event.data.version,
      arrivedAt,
    };
    for (const listener of this.listeners) {
      listener(arrival);
    }
    return 204;
  }
}
