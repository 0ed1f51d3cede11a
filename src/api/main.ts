import type { Server } from 'node:http';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { openServices } from '../services.js';
import { startTracing } from '../tracing.js';
import { createApp } from './app.js';
import { drainOf } from './draining.js';

/** Entry point of the API process. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty, name: 'doorbell-api' });
  const tracing = startTracing(config.tracing, 'doorbell-api');
  if (tracing !== undefined) {
    logger.info({ ...config.tracing.exporter }, 'Tracing on: exporting spans over OTLP');
  }
  const services = await openServices(config, logger, 'doorbell-api', tracing === undefined ? {} : { tracing });

  const app = createApp({ ...services, logger, config }, tracing === undefined ? {} : { tracing });
  const server: Server = await new Promise((resolve, reject) => {
    // Express 5 hands a listen error (EADDRINUSE) to this callback instead of throwing it.
    const listening = app.listen(config.api.port, config.api.host, (error?: Error) => {
      if (error !== undefined) {
        reject(new Error(`cannot listen on ${config.api.host}:${config.api.port}: ${error.message}; stop what uses the port or set PORT`, { cause: error }));
        return;
      }
      resolve(listening);
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.api.port;
  logger.info({ url: `http://${config.api.host}:${port}` }, 'API listening');

  const shutdown = async (signal: string): Promise<void> => {
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'API stopping: refusing new connections, finishing requests in flight');
    drainOf(app).start();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections with no request in flight would hold close() open.
    server.closeIdleConnections();
    const cutOff = setTimeout(() => {
      logger.warn({ graceMs: config.shutdownGraceMs }, 'API grace period over; closing the connections still open');
      server.closeAllConnections();
    }, config.shutdownGraceMs);
    await closed;
    clearTimeout(cutOff);
    logger.info('API drained; closing MongoDB and Temporal connections');
    await services.close();
    await tracing?.shutdown();
    logger.info('API stopped');
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void shutdown(signal));
  process.once('SIGTERM', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  process.stderr.write(`doorbell-api: ${error instanceof ConfigError ? error.message : (error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
