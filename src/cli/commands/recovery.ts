/** `doorbell recover` and `doorbell replay`: bulk operations on one subscription, with a progress bar while they run. */
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import type { BulkOperation } from '../api-types.js';
import { integerInRange, parseRecordPath, sinceParser, type RecordKey } from '../arguments.js';
import { commandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import type { Output } from '../output.js';

interface WaitOptions {
  wait: boolean;
  interval: number;
}

const SINCE_HELP = 'a duration ago (2d, 12h, 30m, 90s) or an ISO 8601 date-time with a time zone';

export function registerRecoveryCommands(program: Command): void {
  program
    .command('recover')
    .description('Redeliver every failed or cancelled delivery of a subscription created since a time, each with its original webhook-id.')
    .argument('<subscription-id>', 'the subscription, sub_...')
    .requiredOption('--since <time>', `${SINCE_HELP}; at most 14 days ago`, sinceParser())
    .addOption(waitOption())
    .addOption(intervalOption())
    .addHelpText('after', '\nThe subscription must be active. A delivery that is pending again already is skipped, so running recover twice sends nothing twice.')
    .action(async (subscriptionId: string, options: WaitOptions & { since: string }, command: Command) => {
      const { api, output } = commandContext(command);
      const started = await api.request<BulkOperation>('POST', `/v1/subscriptions/${encodeURIComponent(subscriptionId)}/recover`, { body: { since: options.since } });
      await follow(api, output, started, options);
    });

  program
    .command('replay')
    .description('Send past events again to one subscription, as new deliveries with new webhook-ids: every event of one record, or of a kind since a time.')
    .argument('<subscription-id>', 'the subscription, sub_...')
    .addOption(new Option('--record <kind/id>', 'replay every event of this record').argParser(parseRecordPath).conflicts('kind'))
    .option('--kind <kind>', 'replay the events of every record of this kind; needs --since')
    .option('--since <time>', `with --kind: ${SINCE_HELP}`, sinceParser())
    .addOption(waitOption())
    .addOption(intervalOption())
    .addHelpText('after', '\nThe events must be ones the subscription receives: its target and event types.')
    .action(async (subscriptionId: string, options: WaitOptions & { record?: RecordKey; kind?: string; since?: string }, command: Command) => {
      const body = replayRequest(options);
      const { api, output } = commandContext(command);
      const started = await api.request<BulkOperation>('POST', `/v1/subscriptions/${encodeURIComponent(subscriptionId)}/replay`, { body });
      await follow(api, output, started, options);
    });
}

function waitOption(): Option {
  return new Option('--no-wait', 'return once the operation has started, without waiting for it to end');
}

function intervalOption(): Option {
  return new Option('--interval <ms>', 'milliseconds between progress polls, 100 to 60000').default(500).argParser(integerInRange(100, 60_000, 'an integer number of milliseconds'));
}

/** Builds the replay request body, or throws a usage error when the options do not select events. */
export function replayRequest(options: { record?: RecordKey; kind?: string; since?: string }): Record<string, string> {
  if (options.record !== undefined) {
    if (options.since !== undefined) {
      throw new UsageError('--since applies only with --kind; --record replays every event of the record.');
    }
    return { record: `${options.record.kind}/${options.record.id}` };
  }
  if (options.kind === undefined || options.since === undefined) {
    throw new UsageError('give --record kind/id, or --kind with --since.');
  }
  return { kind: options.kind, since: options.since };
}

/**
 * Polls the operation until it ends, with a progress bar on stderr, then prints the result.
 *
 * @throws CliError when the operation failed, so the command exits with 1.
 */
async function follow(api: ApiClient, output: Output, started: BulkOperation, options: WaitOptions): Promise<void> {
  let operation = started;
  if (options.wait) {
    const bar = output.json ? undefined : startBar(operation);
    try {
      while (operation.status === 'running') {
        await sleep(options.interval);
        operation = await api.request<BulkOperation>('GET', `/v1/operations/${encodeURIComponent(operation.id)}`);
        bar?.setTotal(Math.max(operation.total, operation.processed, 1));
        bar?.update(operation.processed, { started: operation.started });
      }
    } finally {
      bar?.stop();
    }
  }

  if (output.json) {
    output.jsonLine(operation);
  } else {
    output.line(describeOperation(operation));
  }
  if (operation.status === 'failed') {
    throw new CliError(`${operation.type} ${operation.id} failed: ${operation.statusReason ?? 'no reason given'}`);
  }
}

function startBar(operation: BulkOperation): cliProgress.SingleBar {
  const unit = operation.type === 'recover' ? 'deliveries' : 'events';
  const bar = new cliProgress.SingleBar(
    {
      format: `${operation.type} [{bar}] {value}/{total} ${unit} | {started} started | {duration_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(operation.total, 1), operation.processed, { started: operation.started });
  return bar;
}

/** Describes an operation in one line for people, such as `recover op_... completed: 3 of 3 deliveries looked at, 3 started.` */
export function describeOperation(operation: BulkOperation): string {
  const unit = operation.type === 'recover' ? 'deliveries' : 'events';
  const counts = `${operation.processed} of ${operation.total} ${unit} looked at, ${operation.started} deliveries started`;
  const reason = operation.statusReason === null ? '' : ` (${operation.statusReason})`;
  return `${operation.type} ${operation.id} ${operation.status}: ${counts}${reason}. Subscription ${operation.subscriptionId}; workflow ${operation.workflowUrl}`;
}
