import { Agent, request } from 'undici';

/** Maximum time of one API request before the load generator counts it as failed. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface ApiResult<T> {
  status: number;
  body: T;
  /** performance.now() when the request was sent. */
  sentAt: number;
  /** performance.now() when the whole response had arrived. */
  respondedAt: number;
}

/** Error raised when an API request did not get the status the load generator needs. */
export class UnexpectedStatusError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${method} ${path} returned HTTP ${status}: ${JSON.stringify(body).slice(0, 300)}`);
    this.name = 'UnexpectedStatusError';
  }
}

/**
 * An HTTP client of Doorbell's API for the load generator. One keep-alive agent opens as many
 * connections as there are requests in flight, as many separate clients would. It counts every
 * request it sends, so a scenario can report the requests the API served.
 */
export class ApiClient {
  requestsSent = 0;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });

  constructor(
    readonly baseUrl: string,
    /** API key token sent as `Authorization: Bearer` on every request. */
    private readonly apiToken: string,
  ) {}

  async call<T = any>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<ApiResult<T>> {
    const sentAt = performance.now();
    this.requestsSent++;
    const response = await request(`${this.baseUrl}${path}`, {
      dispatcher: this.agent,
      method,
      headers: body === undefined ? { authorization: `Bearer ${this.apiToken}` } : { 'content-type': 'application/json', authorization: `Bearer ${this.apiToken}` },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.body.text();
    const respondedAt = performance.now();
    return { status: response.statusCode, body: (text === '' ? undefined : JSON.parse(text)) as T, sentAt, respondedAt };
  }

  /** Writes a record and returns the result with the event id. Throws unless the API responded 2xx. */
  async putRecord(kind: string, id: string, data: Record<string, unknown>): Promise<ApiResult<{ eventId: string; version: number }>> {
    const result = await this.call<{ eventId: string; version: number }>('PUT', `/v1/records/${kind}/${id}`, data);
    if (result.status !== 200 && result.status !== 201) {
      throw new UnexpectedStatusError('PUT', `/v1/records/${kind}/${id}`, result.status, result.body);
    }
    return result;
  }

  /** Creates a subscription with the bench's signing secret; returns its id. */
  async createSubscription(target: string, url: string, secret: string): Promise<string> {
    const result = await this.call<{ id: string }>('POST', '/v1/subscriptions', { target, url, secret });
    if (result.status !== 201) {
      throw new UnexpectedStatusError('POST', '/v1/subscriptions', result.status, result.body);
    }
    return result.body.id;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** A record body of a realistic size (about 200 bytes), so the numbers are not those of an empty object. */
export function sampleRecord(sequence: number): Record<string, unknown> {
  return {
    status: 'shipped',
    sequence,
    carrier: 'DHL',
    trackingNumber: `JD0146000033${String(sequence).padStart(8, '0')}`,
    items: [
      { sku: 'SKU-1001', quantity: 2 },
      { sku: 'SKU-2002', quantity: 1 },
    ],
    updatedBy: 'doorbell-bench',
  };
}
