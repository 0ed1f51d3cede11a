/** `doorbell keys`: create, list and revoke API keys. Needs an admin key. */
import { Option, type Command } from 'commander';
import { API_KEY_ROLES } from '../../store/documents.js';
import type { ApiKey, CreatedApiKey } from '../api-types.js';
import { commandContext } from '../context.js';
import { formatTable, notePagination } from '../output.js';
import { fetchPages, pageLimitOption, type PageOptions } from '../pages.js';

interface CreateOptions {
  role: string;
  name: string;
  account?: string;
}

interface ListOptions extends PageOptions {
  role?: string;
}

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('Manage API keys (needs an admin key).');

  keys
    .command('create')
    .description('Create an API key and print its token, which is shown only this once.')
    .addOption(new Option('--role <role>', 'what the key may do').choices(API_KEY_ROLES).makeOptionMandatory())
    .requiredOption('--name <name>', 'who or what uses the key, such as orders-service')
    .option('--account <account>', 'share the subscriptions of this account, such as the account of an existing key')
    .action(async (options: CreateOptions, command: Command) => {
      const { api, output } = commandContext(command);
      const key = await api.request<CreatedApiKey>('POST', '/v1/api-keys', { body: { role: options.role, name: options.name, account: options.account } });
      if (output.json) {
        output.jsonLine(key);
        return;
      }
      // The token alone goes to stdout, so `TOKEN=$(doorbell keys create ...)` captures it.
      output.note(`Created API key ${key.id} (role ${key.role}, account ${key.account}). Store the token now; it is not shown again.`);
      output.line(key.token);
    });

  keys
    .command('list')
    .description('List API keys, oldest first, without their tokens.')
    .addOption(new Option('--role <role>', 'only keys with this role').choices(API_KEY_ROLES))
    .addOption(pageLimitOption())
    .option('--cursor <cursor>', 'start after this cursor, the nextCursor of a previous page')
    .option('--all', 'fetch every page, not only the first')
    .action(async (options: ListOptions, command: Command) => {
      const { api, output } = commandContext(command);
      const page = await fetchPages<ApiKey>(api, '/v1/api-keys', { role: options.role }, options);
      if (output.json) {
        output.jsonLine(page);
        return;
      }
      if (page.data.length === 0) {
        output.note('No API keys found.');
      } else {
        const rows = page.data.map((key) => [key.id, key.prefix, key.role, key.account, key.revokedAt === null ? 'valid' : `revoked ${key.revokedAt}`, key.name]);
        output.line(formatTable(['ID', 'PREFIX', 'ROLE', 'ACCOUNT', 'STATUS', 'NAME'], rows));
      }
      notePagination(output, page.nextCursor);
    });

  keys
    .command('revoke')
    .description('Revoke an API key: requests with it get 401 from now on.')
    .argument('<key-id>', 'the key, key_...')
    .action(async (keyId: string, _options: unknown, command: Command) => {
      const { api, output } = commandContext(command);
      const key = await api.request<ApiKey>('POST', `/v1/api-keys/${encodeURIComponent(keyId)}/revoke`);
      if (output.json) {
        output.jsonLine(key);
        return;
      }
      output.line(`Revoked API key ${key.id} (${key.name}) at ${key.revokedAt ?? 'an unknown time'}.`);
    });
}
