/** `doorbell deliveries` and `doorbell redeliver`: list, follow and redeliver deliveries. */
import { Option, type Command } from 'commander';
import { DELIVERY_STATUSES } from '../../store/documents.js';
import type { Delivery } from '../api-types.js';
import { integerInRange } from '../arguments.js';
import { commandContext } from '../context.js';
import { followDeliveries } from '../follow.js';
import { formatTable, notePagination, type Output } from '../output.js';
import { fetchPages, pageLimitOption, type PageOptions } from '../pages.js';

interface DeliveriesOptions extends PageOptions {
  subscription?: string;
  event?: string;
  status?: string;
  follow?: boolean;
  interval: number;
}

export function registerDeliveryCommands(program: Command): void {
  program
    .command('deliveries')
    .description('List deliveries, newest event first. A delivery is one event sent to one subscription.')
    .option('--subscription <id>', 'only deliveries to this subscription (sub_...)')
    .option('--event <id>', 'only deliveries of this event (evt_...)')
    .addOption(new Option('--status <status>', 'only deliveries with this status').choices(DELIVERY_STATUSES))
    .addOption(pageLimitOption())
    .option('--cursor <cursor>', 'start after this cursor, the nextCursor of a previous page')
    .option('--all', 'fetch every page, not only the first')
    .addOption(new Option('--follow', 'poll and print new and changed deliveries until interrupted (Ctrl-C)').conflicts(['all', 'cursor']))
    .addOption(new Option('--interval <ms>', 'milliseconds between polls with --follow, 100 to 3600000').default(2000).argParser(integerInRange(100, 3_600_000, 'an integer number of milliseconds')))
    .addHelpText('after', '\nWith --follow, only the newest --limit deliveries that match the filters are watched. With --json, --follow prints one delivery per line.')
    .action(async (options: DeliveriesOptions, command: Command) => {
      const { api, output } = commandContext(command);
      const filters = { subscriptionId: options.subscription, eventId: options.event, status: options.status };

      if (options.follow === true) {
        await followDeliveries(api, output, {
          filters,
          limit: options.limit,
          intervalMs: options.interval,
          print: (delivery) => (output.json ? output.jsonLine(delivery) : output.line(formatDeliveryLine(delivery))),
        });
        return;
      }

      const page = await fetchPages<Delivery>(api, '/v1/deliveries', filters, options);
      if (output.json) {
        output.jsonLine(page);
        return;
      }
      printDeliveryTable(output, page.data);
      notePagination(output, page.nextCursor);
    });

  program
    .command('redeliver')
    .description('Send a delivery that has ended (succeeded, failed or cancelled) again, with the same webhook-id and a new retry window.')
    .argument('<delivery-id>', 'the delivery, msg_... (also its webhook-id)')
    .addHelpText('after', '\nThe subscription must be active. A delivery that is still pending or retrying cannot be redelivered.')
    .action(async (deliveryId: string, _options: unknown, command: Command) => {
      const { api, output } = commandContext(command);
      const delivery = await api.request<Delivery>('POST', `/v1/deliveries/${encodeURIComponent(deliveryId)}/redeliver`);
      if (output.json) {
        output.jsonLine(delivery);
        return;
      }
      output.line(`Redelivery of ${delivery.id} started: ${formatRecord(delivery)} to ${delivery.subscriptionId}, next attempt number ${delivery.attemptCount + 1}.`);
      output.line(`Workflow: ${delivery.workflowUrl}`);
    });
}

function printDeliveryTable(output: Output, deliveries: Delivery[]): void {
  if (deliveries.length === 0) {
    output.note('No deliveries found.');
    return;
  }
  const rows = deliveries.map((delivery) => [
    delivery.id,
    delivery.status,
    String(delivery.attemptCount),
    formatRecord(delivery),
    delivery.subscriptionId,
    delivery.updatedAt,
    delivery.statusReason ?? '',
  ]);
  output.line(formatTable(['ID', 'STATUS', 'ATTEMPTS', 'RECORD', 'SUBSCRIPTION', 'UPDATED', 'REASON'], rows));
}

/** Formats one line per change for --follow: time, status, delivery, record, attempts and reason. */
function formatDeliveryLine(delivery: Delivery): string {
  const parts = [delivery.updatedAt, delivery.status.padEnd(9), delivery.id, formatRecord(delivery), `attempts ${delivery.attemptCount}`];
  if (delivery.nextAttemptAt !== null) {
    parts.push(`next attempt ${delivery.nextAttemptAt}`);
  }
  if (delivery.statusReason !== null) {
    parts.push(`(${delivery.statusReason})`);
  }
  return parts.join('  ');
}

function formatRecord(delivery: Delivery): string {
  if (delivery.record === null) {
    return delivery.eventType;
  }
  return `${delivery.record.kind}/${delivery.record.id} v${delivery.record.version} ${delivery.eventType}`;
}
