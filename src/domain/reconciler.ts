import type { Logger } from 'pino';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { Store } from '../store/mongo.js';
import type { TemporalTarget } from '../temporal/start-workflows.js';
import { dispatchEvent } from './record-writes.js';

/** Events handled per pass; the next pass picks up the rest. */
const BATCH_SIZE = 500;

/**
 * Finds events that were written but never dispatched (the API died between its MongoDB write and
 * the workflow start, or Temporal was unreachable) and starts their dispatch. Events younger than `minAgeMs` are left to the API request still handling them.
 * Safe to run in several workers at once, because the dispatch workflow id is the event id and REJECT_DUPLICATE keeps a second start from running.
 *
 * @returns the number of events dispatched in this pass.
 */
export async function reconcileOnce(deps: { store: Store; temporal: TemporalTarget; logger: Logger }, options: { minAgeMs: number }): Promise<number> {
  const cutoff = new Date(Date.now() - options.minAgeMs);
  const events = await deps.store.events.find({ dispatchedAt: null, createdAt: { $lte: cutoff } }).sort({ createdAt: 1 }).limit(BATCH_SIZE).toArray();

  let dispatched = 0;
  for (const event of events) {
    if (await dispatchEvent(deps, event)) {
      dispatched++;
    }
  }

  // Housekeeping for servers without TTL indexes; on MongoDB the TTL index has removed them already.
  await deps.store.idempotencyKeys.deleteMany({ expiresAt: { $lt: new Date() } });

  if (events.length > 0) {
    deps.logger.info({ found: events.length, dispatched }, 'Reconciler dispatched missed events');
  }
  return dispatched;
}

/** Runs reconcileOnce every `intervalMs` until the returned stop function is called, and counts what it dispatched. */
export function startReconciler(
  deps: { store: Store; temporal: TemporalTarget; logger: Logger; metrics?: Pick<WorkerMetrics, 'reconcilerDispatches'> },
  options: { intervalMs: number; minAgeMs: number },
): () => Promise<void> {
  let stopped = false;
  let current: Promise<void> | null = null;

  const tick = async (): Promise<void> => {
    try {
      const dispatched = await reconcileOnce(deps, options);
      deps.metrics?.reconcilerDispatches.inc(dispatched);
    } catch (error) {
      deps.logger.error({ err: error }, 'Reconciler pass failed; retrying next interval');
    }
  };

  // A pass that outlasts the interval is not overlapped by the next one.
  const timer = setInterval(() => {
    if (!stopped && current === null) {
      current = tick().finally(() => {
        current = null;
      });
    }
  }, options.intervalMs);
  timer.unref();

  return async () => {
    stopped = true;
    clearInterval(timer);
    await current;
  };
}
