import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SecretBox } from '../domain/secrets.js';
import type { Store } from '../store/mongo.js';
import type { TemporalTarget } from '../temporal/start-workflows.js';

/** What every route needs, built once by the API's entry point. */
export interface ApiContext {
  store: Store;
  temporal: TemporalTarget;
  secretBox: SecretBox;
  logger: Logger;
  config: Pick<Config, 'api' | 'temporal' | 'delivery'>;
}
