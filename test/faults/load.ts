/**
 * The write load of the fault suite: record writes through the HTTP API, each retried until the
 * API accepts it (2xx) or gives up, as a well-behaved client would. Only writes that got a 2xx response count
 * as accepted, because only those carry Doorbell's promise.
 */
import { sleep } from './cluster.js';

export interface LoadResult {
  accepted: number;
  /** Responses by status, and `network` for requests that got no response. */
  responses: Record<string, number>;
  lastAcceptedAtMs: number;
}

export async function writeRecords(options: {
  apiUrl: () => string;
  /** Token of an API key that may write records. */
  apiToken: string;
  count: number;
  concurrency: number;
  kind: string;
  /** Waits between sends of one writer, to spread the load over a fault window; 0 sends at once. */
  pauseMs?: number;
  onAccepted: (eventId: string) => void;
  deadlineMs: number;
}): Promise<LoadResult> {
  const result: LoadResult = { accepted: 0, responses: {}, lastAcceptedAtMs: 0 };
  let next = 0;

  const writer = async (): Promise<void> => {
    while (next < options.count && Date.now() < options.deadlineMs) {
      const index = next++;
      await writeOne(index);
      if (options.pauseMs !== undefined && options.pauseMs > 0) {
        await sleep(options.pauseMs);
      }
    }
  };

  const writeOne = async (index: number): Promise<void> => {
    while (Date.now() < options.deadlineMs) {
      let status: string;
      let retryAfterMs = 250;
      try {
        const response = await fetch(`${options.apiUrl()}/v1/records/${options.kind}/r${index % 97}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiToken}` },
          body: JSON.stringify({ index }),
          signal: AbortSignal.timeout(30_000),
        });
        status = String(response.status);
        const body = (await response.json()) as { eventId?: string };
        if (response.ok && body.eventId !== undefined) {
          count(result, status);
          result.accepted++;
          result.lastAcceptedAtMs = Date.now();
          options.onAccepted(body.eventId);
          return;
        }
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) {
          retryAfterMs = retryAfter * 1000;
        }
        if (response.status < 500 && response.status !== 429 && response.status !== 409) {
          count(result, status);
          throw new Error(`write ${index} was rejected with ${response.status}: ${JSON.stringify(body)}`);
        }
      } catch (error) {
        if (error instanceof Error && error.message.startsWith(`write ${index} was rejected`)) {
          throw error;
        }
        status = 'network';
      }
      count(result, status);
      await sleep(retryAfterMs);
    }
  };

  await Promise.all(Array.from({ length: options.concurrency }, writer));
  return result;
}

function count(result: LoadResult, status: string): void {
  result.responses[status] = (result.responses[status] ?? 0) + 1;
}
