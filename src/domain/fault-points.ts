/**
 * Test-only crash points, used by the fault suite to kill a process at the worst moment of a
 * write. Each is off unless its variable is set, and NODE_ENV=production ignores them all.
 */

const CRASH_AFTER_EVENT_INSERT = 'DOORBELL_FAULT_CRASH_AFTER_EVENT_INSERT';

function crashProbability(variable: string): number {
  if (process.env.NODE_ENV === 'production') {
    return 0;
  }
  const probability = Number(process.env[variable] ?? '0');
  return Number.isFinite(probability) && probability > 0 ? Math.min(probability, 1) : 0;
}

const afterEventInsertProbability = crashProbability(CRASH_AFTER_EVENT_INSERT);

/**
 * Kills this process with SIGKILL, with the probability set in DOORBELL_FAULT_CRASH_AFTER_EVENT_INSERT,
 * between the event insert and the dispatch start: the moment that leaves an accepted write for the
 * reconciler alone.
 */
export function maybeCrashAfterEventInsert(): void {
  if (afterEventInsertProbability > 0 && Math.random() < afterEventInsertProbability) {
    process.kill(process.pid, 'SIGKILL');
  }
}
