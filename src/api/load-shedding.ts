import type { RequestHandler } from 'express';
import { HttpProblem } from './problem.js';

/**
 * Rejects requests with 503 and Retry-After once `maxInFlight` are being handled, so a burst is
 * answered quickly instead of piling up in memory and timing out inside. Health checks bypass it
 * so an orchestrator does not restart a process that is only busy.
 */
export function loadShedding(options: { maxInFlight: number; retryAfterSeconds: number }): RequestHandler {
  let inFlight = 0;

  return function shedLoad(req, res, next) {
    if (req.path === '/healthz' || req.path === '/readyz') {
      next();
      return;
    }
    if (inFlight >= options.maxInFlight) {
      next(
        new HttpProblem(503, 'Service Unavailable', `the API is handling ${options.maxInFlight} requests already; retry after ${options.retryAfterSeconds} s`, {
          headers: { 'retry-after': String(options.retryAfterSeconds) },
        }),
      );
      return;
    }

    inFlight++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        inFlight--;
      }
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
}
