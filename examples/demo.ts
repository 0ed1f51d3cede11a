/**
 * `npm run demo`: plays the waiting-client scenario against a Doorbell stack that `npm start`
 * already runs. A client asks for a record the provider does not have yet, gets 202, and receives
 * the record by signed webhook. It then goes down while the record changes and receives the
 * update from Doorbell's retry, and rejects forged and replayed webhooks. The demo ends with the
 * Temporal Web UI link of each delivery.
 *
 * DOORBELL_API_URL sets the API (default http://127.0.0.1:3000). It must be a loopback address,
 * because the example client listens on 127.0.0.1 and Doorbell has to reach it there.
 * DOORBELL_API_KEY sets the admin API key; by default the demo reads the one `npm start` wrote to
 * .doorbell/admin-api-key.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import pretty from 'pino-pretty';
import { Webhook } from 'standardwebhooks';
import { WaitingClient, type ReceivedWebhook } from './waiting-client/client.js';

const API_URL = (process.env.DOORBELL_API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const API_KEY = process.env.DOORBELL_API_KEY || readLocalAdminKey();
const REQUEST_TIMEOUT_MS = 5_000;
/** Maximum run time. A run takes about 8 s against a local `npm start` stack, so this only stops a stalled one. */
const DEMO_TIMEOUT_MS = 60_000;
/** Time the client stays down after Doorbell's first attempt failed. It is shorter than the 5 s retry delay, so the first retry lands. */
const CLIENT_DOWNTIME_MS = 2_000;
/** Age of the simulated old capture. Standard Webhooks receivers reject timestamps more than 5 minutes old. */
const STALE_AGE_MS = 10 * 60 * 1000;

const KIND = 'products';

interface Delivery {
  id: string;
  webhookId: string;
  eventId: string;
  record: { kind: string; id: string; version: number };
  status: string;
  statusReason: string | null;
  attemptCount: number;
  nextAttemptAt: string | null;
  workflowUrl: string;
  attempts?: Array<{ attempt: number; startedAt: string; statusCode: number | null; error: string | null }>;
}

let stepNumber = 0;

function printStep(text: string): void {
  stepNumber++;
  process.stdout.write(`\n${stepNumber}. ${text}\n`);
}

function printDetail(text: string): void {
  process.stdout.write(`   ${text}\n`);
}

function readLocalAdminKey(): string {
  const keyFile = new URL('../.doorbell/admin-api-key', import.meta.url);
  try {
    return readFileSync(keyFile, 'utf8').trim();
  } catch (error) {
    process.stderr.write(`npm run demo: cannot read the admin API key in ${keyFile.pathname} (${(error as Error).message}); run \`npm start\` first, or set DOORBELL_API_KEY\n`);
    process.exit(1);
  }
}

/** Sends a JSON request to the Doorbell API with the admin key and returns the status and parsed body. */
async function callApi<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const authorization = `Bearer ${API_KEY}`;
  const response = await fetch(`${API_URL}${path}`, {
    method,
    headers: body === undefined ? { authorization } : { 'content-type': 'application/json', authorization },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

/** Like callApi, but throws with the problem detail unless the status is one of `expected`. */
async function callApiExpecting<T>(expected: number[], method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const result = await callApi<T>(method, path, body);
  if (!expected.includes(result.status)) {
    const detail = (result.body as { detail?: string } | undefined)?.detail ?? JSON.stringify(result.body);
    throw new Error(`${method} ${path} failed: expected HTTP ${expected.join(' or ')}, got ${result.status}: ${detail}`);
  }
  return result;
}

/** Polls `probe` every 200 ms until it returns a value, or throws after timeoutMs. */
async function waitFor<T>(description: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${description}`);
    }
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function clockTime(iso: string | Date): string {
  return new Date(iso).toLocaleTimeString('en-GB', { hour12: false });
}

/** Posts a webhook request to the client the way an attacker would, and returns the HTTP status. */
async function sendToClient(client: WaitingClient, headers: Record<string, string>, body: string): Promise<number> {
  const response = await fetch(client.callbackUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  await response.arrayBuffer();
  return response.status;
}

function describeAttempt(attempt: NonNullable<Delivery['attempts']>[number]): string {
  const result = attempt.statusCode === null ? `failed: ${attempt.error ?? 'no response'}` : `client responded HTTP ${attempt.statusCode}`;
  return `attempt ${attempt.attempt} at ${clockTime(attempt.startedAt)}: ${result}`;
}

async function findDelivery(subscriptionId: string, eventId: string): Promise<Delivery | undefined> {
  const list = await callApiExpecting<{ data: Delivery[] }>([200], 'GET', `/v1/deliveries?subscriptionId=${subscriptionId}&eventId=${eventId}`);
  return list.body.data[0];
}

function acceptedWebhook(client: WaitingClient, webhookId: string): ReceivedWebhook {
  const webhook = client.receivedWebhooks().find((received) => received.webhookId === webhookId && received.status === 204);
  if (webhook === undefined) {
    throw new Error(`the client has no accepted request with webhook-id ${webhookId}`);
  }
  return webhook;
}

function describeRecord(client: WaitingClient, recordId: string): string {
  const record = client.record(KIND, recordId);
  return record?.version == null ? 'an empty placeholder' : `version ${record.version} ${JSON.stringify(record.data)}`;
}

/** Throws with a message that names the next step unless the API is on loopback and responds to GET /readyz with 200. */
async function checkDoorbellIsReady(): Promise<void> {
  const hostname = new URL(API_URL).hostname;
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(hostname)) {
    throw new Error(`DOORBELL_API_URL must be a loopback address such as http://127.0.0.1:3000, got ${API_URL}: the example client listens on 127.0.0.1`);
  }

  let response: Response;
  try {
    response = await fetch(`${API_URL}/readyz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    // fetch() reports "fetch failed" and keeps the reason, such as ECONNREFUSED, in `cause`.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new Error(`Doorbell API at ${API_URL} is not reachable (${cause}). Start the stack with \`npm start\` in another terminal, or set DOORBELL_API_URL.`);
  }
  if (!response.ok) {
    throw new Error(`Doorbell API at ${API_URL} is not ready: GET /readyz responded HTTP ${response.status} ${await response.text()}. Wait for \`npm start\` to print "Doorbell is running".`);
  }
}

async function runDemo(client: WaitingClient): Promise<void> {
  // A new record id per run, so the demo can run again against the same stack.
  const recordId = `p21-${randomBytes(3).toString('hex')}`;
  const recordUrlPath = `/v1/records/${KIND}/${recordId}`;
  process.stdout.write(`Doorbell demo against ${API_URL}, record ${KIND}/${recordId}\n`);

  await client.start();

  printStep(`Client asks Doorbell for ${KIND}/${recordId} (POST ${recordUrlPath}/lookup, callback ${client.callbackUrl})`);
  const lookup = await client.requestRecord(KIND, recordId);
  if (lookup.status !== 'pending') {
    throw new Error(`expected 202 for a new record id, but Doorbell already has ${KIND}/${recordId}`);
  }
  const subscriptionId = lookup.subscriptionId;
  printDetail(`202 "update later": subscription ${subscriptionId}. The client stores ${describeRecord(client, recordId)} and stops asking.`);

  printStep(`Provider writes the record (PUT ${recordUrlPath})`);
  const first = await callApiExpecting<{ version: number; eventId: string }>([201], 'PUT', recordUrlPath, { name: 'Kettle', price: 25 });
  printDetail(`HTTP ${first.status}: version ${first.body.version}, event ${first.body.eventId}`);
  const firstRecord = await waitFor('the client to receive version 1', 15_000, () => (client.record(KIND, recordId)?.version === 1 ? client.record(KIND, recordId) : undefined));
  printDetail(`The client verified signed webhook ${firstRecord.webhookId} and filled the placeholder: ${describeRecord(client, recordId)}`);

  printStep('Client goes down');
  await client.stop();

  printStep(`Provider updates the record while the client is down (PUT ${recordUrlPath})`);
  const second = await callApiExpecting<{ version: number; eventId: string }>([200], 'PUT', recordUrlPath, { name: 'Kettle', price: 19 });
  printDetail(`HTTP ${second.status}: version ${second.body.version}, event ${second.body.eventId}`);

  printStep(`Doorbell retries (GET /v1/deliveries?subscriptionId=${subscriptionId}, then GET /v1/deliveries/{id} for the attempts)`);
  const retrying = await waitFor('the delivery of version 2 to fail its first attempt', 15_000, async () => {
    const delivery = await findDelivery(subscriptionId, second.body.eventId);
    return delivery?.status === 'retrying' ? delivery : undefined;
  });
  const retryingDetail = await callApiExpecting<Delivery>([200], 'GET', `/v1/deliveries/${retrying.id}`);
  printDetail(`delivery ${retrying.id}: status ${retryingDetail.body.status} (${retryingDetail.body.statusReason})`);
  for (const attempt of retryingDetail.body.attempts ?? []) {
    printDetail(describeAttempt(attempt));
  }
  if (retryingDetail.body.nextAttemptAt !== null) {
    printDetail(`next attempt at ${clockTime(retryingDetail.body.nextAttemptAt)}`);
  }

  await sleep(CLIENT_DOWNTIME_MS);
  printStep(`Client comes back on the same port, ${CLIENT_DOWNTIME_MS / 1000} s later`);
  await client.start();
  await waitFor('the retry to deliver version 2', 20_000, () => (client.record(KIND, recordId)?.version === 2 ? true : undefined));
  const delivered = await waitFor('the delivery to show succeeded', 10_000, async () => {
    const delivery = await callApiExpecting<Delivery>([200], 'GET', `/v1/deliveries/${retrying.id}`);
    return delivery.body.status === 'succeeded' ? delivery.body : undefined;
  });
  for (const attempt of delivered.attempts ?? []) {
    printDetail(describeAttempt(attempt));
  }
  printDetail(`The retry landed with the same webhook-id ${delivered.webhookId}. The client now has ${describeRecord(client, recordId)}`);

  const original = acceptedWebhook(client, delivered.webhookId);
  const body = JSON.parse(original.rawBody) as { data: { version: number; record: Record<string, unknown> } };

  printStep('Someone sends a forged webhook: version 3 with price 0, signed with a secret they made up');
  const forgedBody = JSON.stringify({ ...body, data: { ...body.data, version: 3, record: { ...body.data.record, price: 0 } } });
  const forgedId = `msg_forged${randomBytes(6).toString('hex')}`;
  const forgedAt = new Date();
  const forgedSignature = new Webhook(`whsec_${randomBytes(32).toString('base64')}`).sign(forgedId, forgedAt, forgedBody);
  const forgedStatus = await sendToClient(
    client,
    { 'content-type': 'application/json', 'webhook-id': forgedId, 'webhook-timestamp': String(Math.floor(forgedAt.getTime() / 1000)), 'webhook-signature': forgedSignature },
    forgedBody,
  );
  printDetail(`The client responded HTTP ${forgedStatus} and kept ${describeRecord(client, recordId)}. Rejected so far: ${client.counts.rejected}.`);

  printStep(`Someone replays the captured request of webhook ${original.webhookId}, with its original headers`);
  const replayStatus = await sendToClient(client, original.headers, original.rawBody);
  printDetail(`The signature and timestamp are still valid, but this webhook-id was already handled. The client responded HTTP ${replayStatus} and ignored it (duplicates: ${client.counts.duplicates}). It has ${describeRecord(client, recordId)}.`);

  printStep('Someone replays a request captured 10 minutes ago');
  // Made here by signing the captured body with the client's secret and a timestamp 10 minutes
  // old, which is what Doorbell's signature on a request captured then would look like.
  const staleAt = new Date(Date.now() - STALE_AGE_MS);
  const staleHeaders = {
    ...original.headers,
    'webhook-timestamp': String(Math.floor(staleAt.getTime() / 1000)),
    'webhook-signature': new Webhook(client.secret).sign(original.webhookId ?? '', staleAt, original.rawBody),
  };
  const staleStatus = await sendToClient(client, staleHeaders, original.rawBody);
  printDetail(`The signature matches, but the timestamp is more than 5 minutes old. The client responded HTTP ${staleStatus} and kept ${describeRecord(client, recordId)}. Rejected so far: ${client.counts.rejected}.`);

  printStep(`Temporal Web UI, one workflow per delivery (GET /v1/deliveries?subscriptionId=${subscriptionId})`);
  const deliveries = await callApiExpecting<{ data: Delivery[] }>([200], 'GET', `/v1/deliveries?subscriptionId=${subscriptionId}`);
  const byVersion = [...deliveries.body.data].sort((a, b) => a.record.version - b.record.version);
  for (const delivery of byVersion) {
    const attempts = `${delivery.attemptCount} attempt${delivery.attemptCount === 1 ? '' : 's'}`;
    printDetail(`version ${delivery.record.version}, ${delivery.status} after ${attempts}: ${delivery.workflowUrl}`);
  }

  // The client goes away with the demo, so its subscription goes too; the deliveries stay listed.
  await callApiExpecting([204], 'DELETE', `/v1/subscriptions/${subscriptionId}`);
  printDetail(`Subscription ${subscriptionId} deleted, as the client exits.`);
}

async function main(): Promise<number> {
  // Synchronous pretty output keeps the client's log lines in order with the numbered steps.
  const logger = pino({ name: 'waiting-client' }, pretty({ sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss', singleLine: true }));
  const timeout = setTimeout(() => {
    process.stderr.write(`\nnpm run demo: did not finish within ${DEMO_TIMEOUT_MS / 1000} s; check the \`npm start\` terminal for errors\n`);
    process.exit(1);
  }, DEMO_TIMEOUT_MS);
  timeout.unref();

  let client: WaitingClient | undefined;
  let clientKeyId: string | undefined;
  try {
    await checkDoorbellIsReady();
    // The client gets a key of its own with the subscriber role, as a real client application
    // would, and the demo revokes it at the end.
    const clientKey = await callApiExpecting<{ id: string; token: string }>([201], 'POST', '/v1/api-keys', { name: 'npm run demo: waiting client', role: 'subscriber' });
    clientKeyId = clientKey.body.id;
    client = new WaitingClient({ doorbellUrl: API_URL, apiKey: clientKey.body.token, logger });

    await runDemo(client);
    process.stdout.write('\nDone.\n');
    return 0;
  } catch (error) {
    process.stderr.write(`\nnpm run demo: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await client?.stop();
    if (clientKeyId !== undefined) {
      await callApi('POST', `/v1/api-keys/${clientKeyId}/revoke`).catch(() => undefined);
    }
    clearTimeout(timeout);
  }
}

process.exitCode = await main();
