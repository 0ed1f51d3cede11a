/**
 * Caps the attempts this worker process sends to one endpoint origin at a time, so a receiver
 * that hangs cannot occupy every activity slot of the worker. An attempt that finds its origin
 * at the cap does not wait here: the activity returns at once and the workflow tries again later.
 *
 * NOTE: the count is per worker process. With several workers, one origin can receive up to
 * the cap times the number of workers at once.
 */
export class EndpointConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly maxPerEndpoint: number) {
    if (!Number.isInteger(maxPerEndpoint) || maxPerEndpoint < 1) {
      throw new Error(`maxPerEndpoint must be a positive integer, got ${maxPerEndpoint}`);
    }
  }

  /**
   * Takes a slot for the origin. Returns the function that gives the slot back when the attempt
   * ends (calls after the first do nothing), or undefined when the origin already has
   * `maxPerEndpoint` attempts in flight.
   */
  tryAcquire(origin: string): (() => void) | undefined {
    const count = this.inFlight.get(origin) ?? 0;
    if (count >= this.maxPerEndpoint) {
      return undefined;
    }
    this.inFlight.set(origin, count + 1);

    let isReleased = false;
    return () => {
      if (isReleased) {
        return;
      }
      isReleased = true;
      const remaining = (this.inFlight.get(origin) ?? 1) - 1;
      if (remaining === 0) {
        // Drop idle origins so the map stays as small as the set of endpoints in flight.
        this.inFlight.delete(origin);
      } else {
        this.inFlight.set(origin, remaining);
      }
    };
  }

  /** Attempts in flight to this origin now. */
  countInFlight(origin: string): number {
    return this.inFlight.get(origin) ?? 0;
  }
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** Returns `scheme://host:port` of a URL, with the default port written out, so both spellings share one cap. */
export function endpointOrigin(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port === '' ? DEFAULT_PORTS[parsed.protocol] ?? '' : parsed.port;
  return `${parsed.protocol}//${parsed.hostname}:${port}`;
}
