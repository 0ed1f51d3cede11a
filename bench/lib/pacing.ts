/** Load loops and waits. Each is bounded in count and in time, so a stalled stack cannot hang the bench. */

/** Counts of a load loop: calls started and calls that threw, with the first error message for the report. */
export interface LoopResult {
  started: number;
  failed: number;
  firstError: string | null;
}

function newLoopResult(): LoopResult {
  return { started: 0, failed: 0, firstError: null };
}

/** Runs one call of a loop, counting it as failed when it throws, so one failure does not stop the loop. */
async function runCounted(result: LoopResult, call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    result.failed++;
    result.firstError ??= error instanceof Error ? error.message : String(error);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Starts `task(0..count-1)` at a steady rate, whether or not earlier calls have finished (an open
 * loop, as independent writers behave), with at most `maxInFlight` unfinished calls. Stops
 * starting new calls after `timeLimitMs`. Resolves once the started calls have settled.
 */
export async function runAtRate(options: {
  count: number;
  perSecond: number;
  maxInFlight: number;
  timeLimitMs: number;
  task: (index: number) => Promise<void>;
}): Promise<LoopResult> {
  const startedAt = performance.now();
  const intervalMs = 1000 / options.perSecond;
  const running = new Set<Promise<void>>();
  const result = newLoopResult();

  while (result.started < options.count && performance.now() - startedAt < options.timeLimitMs) {
    await sleep(startedAt + result.started * intervalMs - performance.now());
    while (running.size >= options.maxInFlight) {
      await Promise.race(running);
    }
    const index = result.started++;
    const tracked: Promise<void> = runCounted(result, () => options.task(index)).finally(() => running.delete(tracked));
    running.add(tracked);
  }

  await Promise.all(running);
  return result;
}

/**
 * Runs `task(0..count-1)` with `concurrency` calls in flight, each worker taking the next index
 * when its call settles (a closed loop), until every index is done or `timeLimitMs` has passed.
 */
export async function runWithConcurrency(options: { count: number; concurrency: number; timeLimitMs: number; task: (index: number) => Promise<void> }): Promise<LoopResult> {
  const deadline = performance.now() + options.timeLimitMs;
  const result = newLoopResult();
  const workers = Array.from({ length: Math.min(options.concurrency, options.count) }, async () => {
    while (result.started < options.count && performance.now() < deadline) {
      const index = result.started++;
      await runCounted(result, () => options.task(index));
    }
  });
  await Promise.all(workers);
  return result;
}

/** Polls `condition` every `pollMs` until it holds or `timeoutMs` has passed; returns whether it held. */
export async function waitUntil(condition: () => boolean, options: { timeoutMs: number; pollMs?: number; onPoll?: () => void }): Promise<boolean> {
  const deadline = performance.now() + options.timeoutMs;
  while (!condition()) {
    if (performance.now() >= deadline) {
      return false;
    }
    options.onPoll?.();
    await sleep(options.pollMs ?? 100);
  }
  return true;
}
