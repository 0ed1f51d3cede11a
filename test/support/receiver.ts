import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export type Responder = (request: ReceivedRequest, index: number) => { status: number; headers?: Record<string, string>; body?: string };

/**
 * A real HTTP receiver on loopback that records every request. Its response is scripted per test
 * through `respond`, which can be swapped while the test runs (a receiver going down and up).
 */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  respond: Responder = () => ({ status: 200, body: 'ok' });
  private server: Server | undefined;
  private waiters: Array<() => void> = [];

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          receivedAt: Date.now(),
        };
        const index = this.requests.push(request) - 1;
        const answer = this.respond(request, index);
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
        for (const wake of this.waiters.splice(0)) {
          wake();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    const address = this.server?.address();
    if (typeof address !== 'object' || address === null) {
      throw new Error('receiver is not listening');
    }
    return `http://127.0.0.1:${address.port}/hooks`;
  }

  /** Waits until `count` requests have arrived, or fails after timeoutMs with what did arrive. */
  async waitForRequests(count: number, timeoutMs = 20_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`expected ${count} webhook requests within ${timeoutMs} ms, received ${this.requests.length}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests.slice(0, count);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after timeoutMs. */
export async function eventually<T>(description: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) {
        return value;
      }
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${last === undefined ? '' : `; last error: ${String(last)}`}`);
}
