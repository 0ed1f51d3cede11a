/**
 * `doorbell listen`: subscribes a local listener to records, prints each webhook and forwards it
 * to a local application, and deletes the subscriptions on exit.
 */
import type { Command } from 'commander';
import { describeInvalidSecret } from '../../domain/secrets.js';
import type { ApiClient } from '../api-client.js';
import type { CreatedSubscription } from '../api-types.js';
import { collectSubscriptionTarget, integerInRange, parsePort, parseRetryWindowDays } from '../arguments.js';
import { commandContext, waitForStopSignal } from '../context.js';
import { ApiError, CliError, UsageError } from '../errors.js';
import { WebhookListener, type ReceivedWebhook, type RejectedRequest } from '../listener.js';
import { isLoopbackHost, parseForwardUrl } from '../loopback.js';
import { indentJson, type Output } from '../output.js';

/** Environment variable with a signing secret of the user's own, shared with the application behind --forward-to. */
const LISTEN_SECRET_VARIABLE = 'DOORBELL_LISTEN_SECRET';

interface ListenOptions {
  watch: string[];
  forwardTo?: string;
  port: number;
  forwardTimeout: number;
  retryWindowDays: number;
}

/** The exit code of a listener stopped by a second Ctrl-C before its cleanup finished, as shells report SIGINT. */
const INTERRUPTED_EXIT_CODE = 130;

export function registerListenCommand(program: Command): void {
  program
    .command('listen')
    .description(
      'Receive webhooks on this machine: subscribe a listener on 127.0.0.1 to each --watch target, print each webhook as it arrives, and forward it to --forward-to. The subscriptions are deleted on exit (Ctrl-C or SIGTERM).',
    )
    .requiredOption('--watch <kind/id>', 'required: a target to subscribe to, kind/id for one record or kind/* for every record of a kind; repeat the option for several', collectSubscriptionTarget)
    .option(
      '--forward-to <url>',
      'forward each verified webhook to this loopback URL (127.0.0.0/8, [::1] or localhost) with its original headers and raw body, and respond to Doorbell with its status; without it the listener responds 204',
      parseForwardUrl,
    )
    .option('--port <port>', 'TCP port of the listener on 127.0.0.1, 0 to 65535; 0 picks a free one', parsePort, 0)
    .option('--forward-timeout <ms>', 'milliseconds to wait for the --forward-to response before responding 504 to Doorbell, 100 to 600000', integerInRange(100, 600_000, 'an integer number of milliseconds'), 10_000)
    .option(
      '--retry-window-days <days>',
      'retry window of the subscriptions in days (more than 0, at most 3650); kept short so that subscriptions left behind by a killed listener stop being retried soon',
      parseRetryWindowDays,
      1,
    )
    .addHelpText(
      'after',
      [
        '',
        'The API generates each subscription\'s signing secret. listen keeps it in memory only and never prints it.',
        `To let the application behind --forward-to verify the signatures too, set ${LISTEN_SECRET_VARIABLE}=whsec_... in`,
        'the environment of both: listen then sends it as the subscriptions\' secret instead. It is read from the',
        'environment only, so it stays out of shell history and process lists.',
        'Doorbell\'s worker sends the webhooks, so it must run on this machine to reach the listener on 127.0.0.1.',
        'Webhooks go to stdout (one JSON line each with --json); status messages go to stderr.',
        '',
        'Example:',
        "  doorbell listen --forward-to http://127.0.0.1:4000/hooks --watch products/p21 --watch 'orders/*'",
      ].join('\n'),
    )
    .action(async (options: ListenOptions, command: Command) => {
      const { api, output, settings } = commandContext(command);
      if (!isLoopbackHost(new URL(settings.apiUrl).hostname)) {
        output.note(`warning: the API at ${settings.apiUrl} is not on loopback. Webhooks reach this listener only when Doorbell's worker runs on this machine.`);
      }
      await listen(api, output, options, listenSecret(process.env));
    });
}

/**
 * Returns the signing secret from DOORBELL_LISTEN_SECRET, or undefined when it is unset or empty.
 *
 * @throws UsageError when it is set but is not a valid signing secret; the message never repeats it.
 */
function listenSecret(env: NodeJS.ProcessEnv): string | undefined {
  const secret = env[LISTEN_SECRET_VARIABLE];
  if (secret === undefined || secret === '') {
    return undefined;
  }
  const problem = describeInvalidSecret(secret);
  if (problem !== undefined) {
    throw new UsageError(`${LISTEN_SECRET_VARIABLE} is invalid: it ${problem}`);
  }
  return secret;
}

/** Runs the listener until SIGINT or SIGTERM. `secret` is the user's own signing secret, or undefined to let the API generate one per subscription. */
async function listen(api: ApiClient, output: Output, options: ListenOptions, secret: string | undefined): Promise<void> {
  // Installed before anything is created, so a Ctrl-C during set-up also cleans up.
  const signals = waitForStopSignal();
  let isStopRequested = false;
  void signals.stopped.then(() => {
    isStopRequested = true;
  });

  const listener = new WebhookListener({
    port: options.port,
    forwardUrl: options.forwardTo,
    forwardTimeoutMs: options.forwardTimeout,
    onWebhook: (webhook) => (output.json ? output.jsonLine(webhook) : output.line(formatWebhook(webhook))),
    onRejected: (rejection) => output.note(formatRejection(rejection)),
    onError: (error) => output.note(`error: the listener failed to handle a webhook and responded 500: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  });
  try {
    await listener.start();
  } catch (error) {
    signals.dispose();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(`port ${options.port} on 127.0.0.1 is already in use; choose another --port, or omit it to pick a free one`);
    }
    throw error;
  }

  const created: CreatedSubscription[] = [];
  let failure: unknown;
  try {
    for (const target of options.watch) {
      if (isStopRequested) {
        break;
      }
      const endpointUrl = listener.addRoute(target);
      const subscription = await api.request<CreatedSubscription>('POST', '/v1/subscriptions', { body: { target, url: endpointUrl, retryWindowDays: options.retryWindowDays, secret } });
      created.push(subscription);
      // listen creates v1 subscriptions, and the response that creates one always carries its secret.
      listener.setSubscription(endpointUrl, subscription.id, subscription.secret!);
    }

    if (!isStopRequested) {
      noteReady(output, listener.url, options.forwardTo, created, secret !== undefined);
      await signals.stopped;
    }
  } catch (error) {
    failure = error;
  }

  const undeleted = await deleteSubscriptions(api, output, created, signals.dispose);
  await listener.stop();

  if (failure !== undefined) {
    throw failure;
  }
  if (undeleted !== undefined) {
    throw undeleted;
  }
  output.note(`Stopped. Deleted ${created.length} subscription${created.length === 1 ? '' : 's'}.`);
}

/**
 * Deletes the listener's subscriptions, which also cancels their pending deliveries. A second
 * Ctrl-C meanwhile exits at once and names the subscriptions left behind. Returns an error to
 * throw when one could not be deleted.
 *
 * `disposeStopSignal` removes the handlers of the first signal. It is called only once the
 * handlers of the second are in place, so no signal meets the default action, which kills the
 * process without cleanup.
 */
async function deleteSubscriptions(api: ApiClient, output: Output, subscriptions: CreatedSubscription[], disposeStopSignal: () => void): Promise<CliError | undefined> {
  const remaining = new Set(subscriptions.map((subscription) => subscription.id));
  const forceExit = (): void => {
    output.note(`Interrupted again: exiting without deleting ${[...remaining].join(', ') || 'any subscription'}.`);
    process.exit(INTERRUPTED_EXIT_CODE);
  };
  process.once('SIGINT', forceExit);
  process.once('SIGTERM', forceExit);
  disposeStopSignal();

  let firstError: CliError | undefined;
  try {
    for (const subscription of subscriptions) {
      try {
        await api.request('DELETE', `/v1/subscriptions/${encodeURIComponent(subscription.id)}`);
      } catch (error) {
        // 404: someone else deleted it already, which is the state wanted.
        if (!(error instanceof ApiError && error.status === 404)) {
          const message = error instanceof Error ? error.message : String(error);
          output.note(`error: could not delete subscription ${subscription.id} (${subscription.target}): ${message}`);
          output.note(`Delete it later with: curl -X DELETE ${api.url(`/v1/subscriptions/${subscription.id}`)}`);
          firstError ??= error instanceof CliError ? error : new CliError(message);
          continue;
        }
      }
      remaining.delete(subscription.id);
    }
  } finally {
    process.off('SIGINT', forceExit);
    process.off('SIGTERM', forceExit);
  }

  if (firstError === undefined) {
    return undefined;
  }
  return new CliError(`${remaining.size} subscription${remaining.size === 1 ? ' was' : 's were'} not deleted: ${[...remaining].join(', ')}`, firstError.exitCode);
}

function noteReady(output: Output, listenerUrl: string, forwardUrl: string | undefined, subscriptions: CreatedSubscription[], hasOwnSecret: boolean): void {
  const forwarding = forwardUrl === undefined ? 'responding 204 to each webhook (add --forward-to to forward them)' : `forwarding to ${forwardUrl}`;
  output.note(`Listening on ${listenerUrl}, ${forwarding}.`);
  for (const subscription of subscriptions) {
    output.note(`  ${subscription.target}: subscription ${subscription.id}, endpoint ${subscription.url}`);
  }
  output.note(hasOwnSecret ? `Signing secret: from ${LISTEN_SECRET_VARIABLE}.` : 'Signing secrets: generated by the API, kept in memory only.');
  output.note('Ready. Press Ctrl-C to stop; the subscriptions are deleted on exit.');
}

/** Formats a verified webhook as a summary line and its record, indented. */
export function formatWebhook(webhook: ReceivedWebhook): string {
  const { kind, id, version, record } = webhook.event.data;
  const summary = [webhook.receivedAt, webhook.event.type, `${kind}/${id} v${version}`, webhook.webhookId, formatForward(webhook)].join('  ');
  return `${summary}\n${indentJson(record, 2)}`;
}

function formatForward(webhook: ReceivedWebhook): string {
  const forward = webhook.forward;
  if (forward === null) {
    return `responded ${webhook.responseStatus}`;
  }
  if (forward.status === null) {
    return `forward to ${forward.url} failed after ${forward.durationMs} ms (${forward.error}); responded ${webhook.responseStatus}, so Doorbell retries`;
  }
  const goneNote = forward.status === 410 ? ' (410 Gone: Doorbell disables this subscription)' : '';
  return `forwarded: ${forward.status} from ${forward.url} in ${forward.durationMs} ms${goneNote}`;
}

function formatRejection(rejection: RejectedRequest): string {
  const target = rejection.target === undefined ? '' : ` (${rejection.target})`;
  return `warning: rejected a request to ${rejection.path}${target} with ${rejection.responseStatus}: ${rejection.reason}`;
}
