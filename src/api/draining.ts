import type { Application, NextFunction, Request, Response } from 'express';

/**
 * Lets a stopping API finish its requests while keep-alive clients move on: once draining
 * starts, every response not yet sent carries `Connection: close`, so each connection ends
 * after its last response, and /readyz responds 503.
 */
export class ConnectionDrain {
  private draining = false;
  private readonly unsent = new Set<Response>();

  readonly middleware = (_req: Request, res: Response, next: NextFunction): void => {
    if (this.draining) {
      res.setHeader('connection', 'close');
    } else {
      this.unsent.add(res);
      res.once('close', () => this.unsent.delete(res));
    }
    next();
  };

  get isDraining(): boolean {
    return this.draining;
  }

  start(): void {
    this.draining = true;
    for (const res of this.unsent) {
      if (!res.headersSent) {
        res.setHeader('connection', 'close');
      }
    }
    this.unsent.clear();
  }
}

/** Returns the drain of an app made by createApp. */
export function drainOf(app: Application): ConnectionDrain {
  return app.locals.drain as ConnectionDrain;
}
