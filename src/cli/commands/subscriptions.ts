/** `doorbell subscriptions`: list subscriptions; `doorbell subscriptions rotate`: rotate a signing secret. */
import { Option, type Command } from 'commander';
import type { RotatedSecret, Subscription } from '../api-types.js';
import { integerInRange, parseSubscriptionTarget } from '../arguments.js';
import { commandContext } from '../context.js';
import { formatTable, notePagination } from '../output.js';
import { fetchPages, pageLimitOption, type PageOptions } from '../pages.js';

const SUBSCRIPTION_STATUSES = ['active', 'paused', 'disabled'];

interface SubscriptionsOptions extends PageOptions {
  target?: string;
  status?: string;
}

const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 60 * 60;

export function registerSubscriptionsCommand(program: Command): void {
  const subscriptions = program
    .command('subscriptions')
    .description('List subscriptions, oldest first. Deleted subscriptions are not listed.')
    .option('--target <kind/id>', 'only subscriptions to this target: kind/id, or kind/* for those to a whole kind', parseSubscriptionTarget)
    .addOption(new Option('--status <status>', 'only subscriptions with this status').choices(SUBSCRIPTION_STATUSES))
    .addOption(pageLimitOption())
    .option('--cursor <cursor>', 'start after this cursor, the nextCursor of a previous page')
    .option('--all', 'fetch every page, not only the first')
    .action(async (options: SubscriptionsOptions, command: Command) => {
      const { api, output } = commandContext(command);
      const page = await fetchPages<Subscription>(api, '/v1/subscriptions', { target: options.target, status: options.status }, options);
      if (output.json) {
        output.jsonLine(page);
        return;
      }
      if (page.data.length === 0) {
        output.note('No subscriptions found.');
      } else {
        const rows = page.data.map((subscription) => [
          subscription.id,
          subscription.target,
          subscription.status,
          formatRetryWindow(subscription.retryWindowDays),
          `${subscription.method} ${subscription.url}`,
        ]);
        output.line(formatTable(['ID', 'TARGET', 'STATUS', 'RETRY WINDOW', 'ENDPOINT'], rows));
      }
      notePagination(output, page.nextCursor);
    });

  subscriptions
    .command('rotate')
    .description('Replace the signing secret of a subscription, or the key pair of one with ed25519 (v1a) signatures, and print the new one.')
    .argument('<subscription-id>', 'the subscription, sub_...')
    .option('--grace-period-seconds <seconds>', 'seconds the replaced secret keeps signing beside the new one; 0 drops it at once (default 86400)', integerInRange(0, MAX_GRACE_PERIOD_SECONDS, 'a number of seconds'))
    .addHelpText('after', '\nThe new secret is printed once and cannot be read again. Rotating again during a grace period drops the oldest secret at once.')
    .action(async (subscriptionId: string, options: { gracePeriodSeconds?: number }, command: Command) => {
      const { api, output } = commandContext(command);
      const body = options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds };
      const rotated = await api.request<RotatedSecret>('POST', `/v1/subscriptions/${encodeURIComponent(subscriptionId)}/secret/rotate`, { body });
      if (output.json) {
        output.jsonLine(rotated);
        return;
      }
      const until = rotated.signature.previousKeyExpiresAt === null ? 'no longer signs' : `signs beside the new one until ${rotated.signature.previousKeyExpiresAt}`;
      output.line(rotated.secret ?? `Public key: ${rotated.signature.publicKey}`);
      output.note(`Rotated the signing ${rotated.secret === null ? 'key pair' : 'secret'} of ${rotated.id}; the previous one ${until}.`);
    });
}

function formatRetryWindow(days: number | null): string {
  return days === null ? 'no end' : `${days} d`;
}
