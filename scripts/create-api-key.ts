/**
 * `npm run keys:create -- --role admin --name ops`: creates an API key directly in MongoDB and
 * prints its token once on stdout. It reads MONGODB_URI and MONGODB_DATABASE like the API, and
 * needs no running API or key, so it is how the first admin key of a deployment is made. Later
 * keys can come from `doorbell keys create` with an admin key.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadMongoConfig } from '../src/config.js';
import { ACCOUNT_ID_PATTERN, createApiKey } from '../src/domain/api-keys.js';
import { API_KEY_ROLES, type ApiKeyRole } from '../src/store/documents.js';
import { openStore } from '../src/store/mongo.js';

const USAGE = `usage: npm run keys:create -- --role ${API_KEY_ROLES.join('|')} --name NAME [--account ACCOUNT]`;

function fail(message: string): never {
  process.stderr.write(`keys:create: ${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { role?: string; name?: string; account?: string };
  try {
    ({ values } = parseArgs({ options: { role: { type: 'string' }, name: { type: 'string' }, account: { type: 'string' } } }));
  } catch (error) {
    fail((error as Error).message);
  }

  const role = values.role as ApiKeyRole | undefined;
  if (role === undefined || !API_KEY_ROLES.includes(role)) {
    fail(`--role must be one of ${API_KEY_ROLES.join(', ')}, got ${JSON.stringify(values.role ?? null)}`);
  }
  if (values.name === undefined || !/^[\x20-\x7E]{1,100}$/.test(values.name)) {
    fail('--name must be 1 to 100 printable ASCII characters');
  }
  if (values.account !== undefined && !ACCOUNT_ID_PATTERN.test(values.account)) {
    fail('--account must be 1 to 64 letters, digits, "_" or "-", starting with a letter or digit');
  }

  const mongo = loadMongoConfig();
  const store = await openStore({ uri: mongo.uri, database: mongo.database, appName: 'doorbell-keys' });
  try {
    const { key, token } = await createApiKey(store, { name: values.name, role, accountId: values.account });
    process.stderr.write(`created API key ${key._id} (role ${key.role}, account ${key.accountId}); its token follows and is not shown again\n`);
    process.stdout.write(`${token}\n`);
  } finally {
    await store.client.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`keys:create: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
  process.exit(1);
});
