import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createApiKey, findActiveApiKey } from '../../src/domain/api-keys.js';
import type { Store } from '../../src/store/mongo.js';

/**
 * Returns the local admin token stored in `keyFile` when MongoDB still has it as an active key.
 * Otherwise, on the first run or after the data was deleted or the key revoked, it creates an
 * admin key and writes its token to the file with mode 0600. Returns whether it created one.
 */
export async function ensureLocalAdminKey(store: Pick<Store, 'apiKeys'>, keyFile: string): Promise<{ created: boolean }> {
  const existing = readToken(keyFile);
  if (existing !== undefined && (await findActiveApiKey(store, existing)) !== null) {
    return { created: false };
  }

  const { token } = await createApiKey(store, { name: 'local admin (npm start)', role: 'admin' });
  writeFileSync(keyFile, `${token}\n`, { mode: 0o600 });
  // The mode above applies only to a new file; an existing one keeps its own.
  chmodSync(keyFile, 0o600);
  return { created: true };
}

function readToken(keyFile: string): string | undefined {
  try {
    return readFileSync(keyFile, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}
