/** `doorbell deliveries --follow`: polls the delivery list and prints what is new or changed. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from './api-client.js';
import type { Delivery, Page } from './api-types.js';
import { waitForStopSignal } from './context.js';
import { ApiError, ApiUnreachableError } from './errors.js';
import type { Output } from './output.js';

export interface FollowOptions {
  filters: Record<string, string | undefined>;
  limit: number;
  /** Milliseconds between two polls. */
  intervalMs: number;
  /** Called with each new or changed delivery, oldest event first. */
  print: (delivery: Delivery) => void;
}

/**
 * Compares a page of deliveries with the ones seen before, by status, attempt count and update
 * time. Returns the new and changed deliveries, oldest event first, and what to compare the next
 * page with: only the deliveries of this page, so memory stays bounded.
 */
export function diffDeliveries(seen: ReadonlyMap<string, string>, page: readonly Delivery[]): { changed: Delivery[]; seen: Map<string, string> } {
  const next = new Map<string, string>();
  const changed: Delivery[] = [];
  for (const delivery of page) {
    const fingerprint = `${delivery.status}|${delivery.attemptCount}|${delivery.updatedAt}`;
    next.set(delivery.id, fingerprint);
    if (seen.get(delivery.id) !== fingerprint) {
      changed.push(delivery);
    }
  }
  // The API lists the newest event first; printing the oldest first puts the newest last.
  return { changed: changed.reverse(), seen: next };
}

/**
 * Polls until SIGINT or SIGTERM. The first poll must succeed, so a wrong URL or filter fails at
 * once with its exit code. Later failures are reported once and polling goes on.
 *
 * NOTE: only the newest `limit` deliveries (at most 100) that match the filters are watched. A
 * change to an older delivery, such as a late retry of an old event, is not printed.
 */
export async function followDeliveries(api: ApiClient, output: Output, options: FollowOptions): Promise<void> {
  const stop = new AbortController();
  const signals = waitForStopSignal();
  void signals.stopped.then(() => stop.abort());

  let seen = new Map<string, string>();
  let failure: string | undefined;
  let isFirstPoll = true;
  try {
    while (!stop.signal.aborted) {
      let page: Page<Delivery>;
      try {
        page = await api.request<Page<Delivery>>('GET', '/v1/deliveries', { query: { ...options.filters, limit: options.limit }, signal: stop.signal });
      } catch (error) {
        if (stop.signal.aborted) {
          break;
        }
        if (isFirstPoll || !isTransient(error)) {
          throw error;
        }
        if (failure === undefined) {
          failure = (error as Error).message;
          output.note(`warning: ${failure}; still polling every ${options.intervalMs} ms`);
        }
        await sleep(options.intervalMs, undefined, { signal: stop.signal }).catch(() => {});
        continue;
      }

      if (failure !== undefined) {
        output.note('The API is reachable again.');
        failure = undefined;
      }
      isFirstPoll = false;
      const diff = diffDeliveries(seen, page.data);
      seen = diff.seen;
      for (const delivery of diff.changed) {
        options.print(delivery);
      }
      await sleep(options.intervalMs, undefined, { signal: stop.signal }).catch(() => {});
    }
  } finally {
    signals.dispose();
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof ApiUnreachableError || (error instanceof ApiError && error.status >= 500);
}
