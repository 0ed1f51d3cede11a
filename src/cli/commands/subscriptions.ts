/** `doorbell subscriptions`: list subscriptions. */
import { Option, type Command } from 'commander';
import type { Subscription } from '../api-types.js';
import { parseSubscriptionTarget } from '../arguments.js';
import { commandContext } from '../context.js';
import { formatTable, notePagination } from '../output.js';
import { fetchPages, pageLimitOption, type PageOptions } from '../pages.js';

const SUBSCRIPTION_STATUSES = ['active', 'paused', 'disabled'];

interface SubscriptionsOptions extends PageOptions {
  target?: string;
  status?: string;
}

export function registerSubscriptionsCommand(program: Command): void {
  program
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
}

function formatRetryWindow(days: number | null): string {
  return days === null ? 'no end' : `${days} d`;
}
