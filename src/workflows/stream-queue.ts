/**
 * The queue of a record stream: which queued delivery of one record to one subscription goes
 * next, and which ones a newer version replaces. Pure functions, so they are unit tested alone.
 */
import type { DeliveryMode } from '../store/documents.js';
import type { StreamedDelivery, SupersededBy } from './definitions.js';

/** Returns the queue with `delivery` inserted in version order, or an unchanged copy when it already contains that delivery. */
export function enqueueDelivery(queued: readonly StreamedDelivery[], delivery: StreamedDelivery): StreamedDelivery[] {
  if (queued.some((item) => item.deliveryId === delivery.deliveryId)) {
    return [...queued];
  }
  return [...queued, delivery].sort((a, b) => a.version - b.version);
}

export interface NextStep {
  /** The delivery to start now, or null when nothing is left to start. */
  next: StreamedDelivery | null;
  /** Queued deliveries that will never start, because a newer version replaced them (`latest` only). */
  superseded: StreamedDelivery[];
  supersededBy: SupersededBy | null;
  /** Deliveries that stay queued for later steps. */
  remaining: StreamedDelivery[];
}

/**
 * Plans the next step of a stream from its queue, kept in version order.
 *
 * `every-event` starts the lowest version and keeps the rest. `latest` starts only the highest
 * version and supersedes every older one. A version not newer than the one started last arrived
 * late, after a newer version: `latest` supersedes it by that newer one, while `every-event` still
 * delivers it, because that mode promises every event.
 */
export function planNextDelivery(
  queued: readonly StreamedDelivery[],
  mode: DeliveryMode,
  lastStarted: SupersededBy | null,
): NextStep {
  // A repeated signal for the delivery started last (an activity retry) has nothing left to do.
  const candidates = queued.filter((item) => item.deliveryId !== lastStarted?.deliveryId);
  if (candidates.length === 0) {
    return { next: null, superseded: [], supersededBy: null, remaining: [] };
  }

  if (mode === 'every-event') {
    const [next, ...remaining] = candidates;
    return { next: next!, superseded: [], supersededBy: null, remaining };
  }

  const newest = candidates[candidates.length - 1]!;
  if (lastStarted !== null && newest.version <= lastStarted.version) {
    return { next: null, superseded: candidates, supersededBy: lastStarted, remaining: [] };
  }
  return {
    next: newest,
    superseded: candidates.slice(0, -1),
    supersededBy: { version: newest.version, deliveryId: newest.deliveryId },
    remaining: [],
  };
}

/** Returns the highest queued version, or 0 when the queue is empty. */
export function newestQueuedVersion(queued: readonly StreamedDelivery[]): number {
  return queued.length === 0 ? 0 : queued[queued.length - 1]!.version;
}
