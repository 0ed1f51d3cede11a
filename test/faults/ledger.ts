/**
 * Real receivers on loopback that count what arrives, and the tally the fault suite checks:
 * for every accepted event and every subscription, the webhook-ids received and how often.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What a receiver does with one request: respond, hang past the sender's timeout, or reset the connection. */
export type ReceiverAction = { status: number; headers?: Record<string, string> } | 'hang' | 'reset';

export type ReceiverBehavior = (subscriber: number, requestIndex: number) => ReceiverAction;

export interface LedgerSummary {
  accepted: number;
  expected: number;
  received: number;
  missing: number;
  /** Copies beyond the first of a webhook-id: allowed, since delivery is at least once. */
  duplicates: number;
  /** Pairs of event and subscription that arrived under more than one webhook-id: must be 0. */
  inconsistentIds: number;
  /**
   * Webhooks a receiver deduplicating by webhook-id passes on to its application; equal to
   * `expected` when nothing is missing and no pair has two ids.
   */
  afterDeduplication: number;
  /**
   * Events delivered although their write got no 2xx response: the API crashed or responded 503
   * after the insert, or the response was lost. Allowed (a client retries with an Idempotency-Key).
   */
  unacceptedDelivered: number;
}

export class DeliveryLedger {
  /** `${eventId} ${subscriber}` to the copies received per webhook-id. */
  private readonly copies = new Map<string, Map<string, number>>();
  private readonly acceptedEvents = new Set<string>();
  private server: Server | undefined;
  private requestCount = 0;
  private readonly hanging = new Set<ServerResponse>();
  lastExpectedArrivalMs = 0;
  behavior: ReceiverBehavior = () => ({ status: 204 });

  constructor(readonly subscribers: number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  urlFor(subscriber: number): string {
    const address = this.server?.address();
    if (typeof address !== 'object' || address === null) {
      throw new Error('receiver is not listening');
    }
    return `http://127.0.0.1:${address.port}/hooks/${subscriber}`;
  }

  accept(eventId: string): void {
    this.acceptedEvents.add(eventId);
  }

  get acceptedCount(): number {
    return this.acceptedEvents.size;
  }

  summary(): LedgerSummary {
    let received = 0;
    let duplicates = 0;
    let inconsistentIds = 0;
    let afterDeduplication = 0;
    for (const eventId of this.acceptedEvents) {
      for (let subscriber = 0; subscriber < this.subscribers; subscriber++) {
        const byId = this.copies.get(`${eventId} ${subscriber}`);
        if (byId === undefined) {
          continue;
        }
        received++;
        afterDeduplication += byId.size;
        if (byId.size > 1) {
          inconsistentIds++;
        }
        for (const count of byId.values()) {
          duplicates += count - 1;
        }
      }
    }

    const unaccepted = new Set([...this.copies.keys()].map((key) => key.split(' ')[0]!).filter((eventId) => !this.acceptedEvents.has(eventId)));
    const expected = this.acceptedEvents.size * this.subscribers;
    return {
      accepted: this.acceptedEvents.size,
      expected,
      received,
      missing: expected - received,
      duplicates,
      inconsistentIds,
      afterDeduplication,
      unacceptedDelivered: unaccepted.size,
    };
  }

  /** Waits until every accepted event reached every subscriber, or timeoutMs passed. */
  async waitForAll(timeoutMs: number): Promise<LedgerSummary> {
    const deadline = Date.now() + timeoutMs;
    let summary = this.summary();
    while (summary.missing > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      summary = this.summary();
    }
    return summary;
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) {
      response.destroy();
    }
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const subscriber = Number(/\/hooks\/(\d+)/.exec(req.url ?? '')?.[1] ?? '-1');
      const action = this.behavior(subscriber, this.requestCount++);

      if (action === 'reset') {
        req.socket.destroy();
        return;
      }
      if (action === 'hang') {
        this.hanging.add(res);
        res.once('close', () => this.hanging.delete(res));
        return;
      }

      res.writeHead(action.status, action.headers ?? {});
      res.end();
      if (action.status >= 200 && action.status < 300) {
        this.record(subscriber, req.headers['webhook-id'], Buffer.concat(chunks).toString('utf8'));
      }
    });
  }

  private record(subscriber: number, webhookId: string | string[] | undefined, body: string): void {
    const eventId = (JSON.parse(body) as { data: { eventId: string } }).data.eventId;
    const key = `${eventId} ${subscriber}`;
    const byId = this.copies.get(key) ?? new Map<string, number>();
    const id = String(webhookId);
    byId.set(id, (byId.get(id) ?? 0) + 1);
    this.copies.set(key, byId);
    if (this.acceptedEvents.has(eventId)) {
      this.lastExpectedArrivalMs = Date.now();
    }
  }
}
