import type { Client } from '@temporalio/client';
import type { Config } from './config.js';
import { SecretBox } from './domain/secrets.js';
import type { Logger } from './logger.js';
import { openStore, type Store } from './store/mongo.js';
import { connectClient } from './temporal/connect.js';
import type { Tracing } from './tracing.js';
import type { TemporalTarget } from './temporal/start-workflows.js';

/** The connections both the API and the worker hold. */
export interface Services {
  store: Store;
  temporal: TemporalTarget;
  secretBox: SecretBox;
  close(): Promise<void>;
}

/**
 * Connects to MongoDB and Temporal; on failure closes what was opened and raises with the address.
 * With `tracing`, the Temporal client traces every workflow it starts.
 */
export async function openServices(config: Config, logger: Logger, appName: string, options: { tracing?: Pick<Tracing, 'clientInterceptors'> } = {}): Promise<Services> {
  let store: Store;
  try {
    store = await openStore({ uri: config.mongo.uri, database: config.mongo.database, appName });
  } catch (error) {
    throw new Error(`cannot connect to MongoDB at ${redactUri(config.mongo.uri)}: ${(error as Error).message}; start it or set MONGODB_URI`, { cause: error });
  }

  let client: Client;
  try {
    client = await connectClient(config.temporal, options.tracing?.clientInterceptors);
  } catch (error) {
    await store.client.close();
    throw new Error(`cannot connect to Temporal at ${config.temporal.address}: ${(error as Error).message}; start it or set TEMPORAL_ADDRESS`, { cause: error });
  }

  logger.info({ mongodb: redactUri(config.mongo.uri), database: config.mongo.database, temporal: config.temporal.address, namespace: config.temporal.namespace }, 'Connected');
  return {
    store,
    temporal: { client, taskQueue: config.temporal.taskQueue },
    secretBox: new SecretBox(config.encryptionKey),
    async close() {
      await client.connection.close();
      await store.client.close();
    },
  };
}

/** Hides the password of a MongoDB URI for logs and messages. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}
