/** The `doorbell` command line: global options and every command. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { integerInRange } from './arguments.js';
import { registerConfigCommand } from './commands/config.js';
import { registerDeliveryCommands } from './commands/deliveries.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerListenCommand } from './commands/listen.js';
import { registerRecordCommands } from './commands/records.js';
import { registerRecoveryCommands } from './commands/recovery.js';
import { registerSubscriptionsCommand } from './commands/subscriptions.js';
import { DEFAULT_API_URL } from './settings.js';

const EXIT_CODES_HELP = `
The API URL comes from --api-url, else DOORBELL_API_URL, else the config file
(DOORBELL_CONFIG, else ~/.config/doorbell/config.json), else ${DEFAULT_API_URL}.
The API key, sent as "Authorization: Bearer <key>", comes from DOORBELL_API_KEY,
else "apiKey" in the config file, else, for an API on a loopback address, the
local admin key that npm start writes to .doorbell/admin-api-key.

Exit codes:
  0  success
  1  the API rejected the request (its problem detail goes to stderr), the input is invalid,
     or a recover or replay failed
  2  usage error: unknown command or option, missing or malformed argument, invalid configuration
  3  the API is unreachable: connection failed or no response within --timeout`;

/** The version in package.json, which the CLI shares with the service. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** Builds the program. Commander throws instead of exiting, so main() chooses the exit code. */
export function buildProgram(): Command {
  const program = new Command('doorbell')
    .description('Command-line tool for the Doorbell webhook delivery service: write and read records, list subscriptions and deliveries, and receive webhooks locally.')
    .version(packageVersion(), '--version', 'print the version and exit')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .option('--api-url <url>', `base URL of the Doorbell API (default: DOORBELL_API_URL, the config file, or ${DEFAULT_API_URL})`)
    .option('--json', 'print results as JSON for scripts, one value per line')
    .option('--timeout <ms>', 'milliseconds to wait for each API response, 100 to 600000', integerInRange(100, 600_000, 'an integer number of milliseconds'), 10_000)
    .addHelpText('after', EXIT_CODES_HELP);

  registerListenCommand(program);
  registerRecordCommands(program);
  registerSubscriptionsCommand(program);
  registerDeliveryCommands(program);
  registerRecoveryCommands(program);
  registerKeysCommand(program);
  registerConfigCommand(program);
  return program;
}
