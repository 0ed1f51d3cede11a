/**
 * polling: N clients wait for a record that is written T seconds after they start. Polling
 * clients GET the record every P seconds until it returns 200; Doorbell clients send one lookup,
 * get 202, and receive the record as a webhook. Both modes run against the same stack and report
 * the requests the API served, the CPU time of the server processes, and the staleness: the time
 * from the write's 2xx until the client has the record.
 */
import { ApiClient } from '../lib/api-client.js';
import { startCpuWindow, type CpuWindow } from '../lib/cpu.js';
import { runWithConcurrency, sleep, waitUntil } from '../lib/pacing.js';
import { startProgress, type Progress } from '../lib/progress.js';
import { PROCESS_LABELS } from '../lib/report.js';
import type { BenchContext, Scenario } from '../lib/scenario.js';
import type { BenchStack } from '../lib/stack.js';
import { formatCount, formatNumber, summarize, type Summary } from '../lib/stats.js';
import { warmUp } from '../lib/warm-up.js';

const SIZES = {
  full: { clients: [10, 100, 1_000], appearAfterSeconds: 10, pollSeconds: 1 },
  quick: { clients: [10, 100], appearAfterSeconds: 3, pollSeconds: 1 },
};
type Sizes = (typeof SIZES)['full'];

/** Lookup requests in flight at once in the Doorbell mode. */
const LOOKUP_CONCURRENCY = 32;
/** Time a client keeps waiting after the write before it gives up. */
const CLIENT_LIMIT_AFTER_WRITE_MS = 300_000;
const IDLE_WINDOW_MS = 3_000;
/** After the last client has the record, the window goes on until the servers are idle again, at most this long. */
const SETTLE_LIMIT_MS = 20_000;
/** Cores above the idle rate that still count as idle when settling. */
const SETTLE_MARGIN_CORES = 0.05;
const KIND = 'polling';

type Mode = 'polling' | 'Doorbell';

interface ModeResult {
  mode: Mode;
  clients: number;
  /** Client requests the API responded to. The provider's write is not counted in either mode. */
  requestsServed: number;
  /** Responses 503 from the API's load shedding (MAX_IN_FLIGHT_REQUESTS); they are in requestsServed too. */
  shedResponses: number;
  /** Requests that failed otherwise: another unexpected status, a timeout or a connection error. */
  failedRequests: number;
  clientsWithRecord: number;
  stalenessSeconds: Summary;
  cpu: CpuWindow;
}

export const pollingScenario: Scenario = {
  name: 'polling',
  summary: 'N clients wait for a record written after T s: polling every P s versus one lookup and a webhook',
  async run(context) {
    const sizes = context.quick ? SIZES.quick : SIZES.full;
    const stack = await context.startStack('polling');
    const api = new ApiClient(stack.apiUrl, stack.apiToken);
    await warmUp(stack, api, context.receiver);

    const results: ModeResult[] = [];
    const idleCores: Record<number, number> = {};
    for (const clients of sizes.clients) {
      idleCores[clients] = await measureIdleCores(stack);
      results.push(await runPollingClients(stack, api, clients, sizes, idleCores[clients]));
      results.push(await runDoorbellClients(context, stack, api, clients, sizes, idleCores[clients]));
    }

    await api.close();
    await stack.stop();

    const { appearAfterSeconds: t, pollSeconds: p } = sizes;
    const rows = results.map((result) => {
      const processSeconds = Object.values(result.cpu.processes);
      const total = processSeconds.reduce((sum, seconds) => sum + seconds, 0);
      return [
        formatCount(result.clients),
        result.mode,
        formatCount(result.requestsServed),
        result.mode === 'polling' ? `${formatCount((result.clients * t) / p)} (N·T/P)` : `${formatCount(result.clients)} (N)`,
        formatNumber(result.stalenessSeconds.mean, 2),
        result.mode === 'polling' ? `${formatNumber(p / 2, 2)} (P/2)` : '',
        formatNumber(result.stalenessSeconds.max, 2),
        ...processSeconds.map((seconds) => formatNumber(seconds, 1)),
        formatNumber(total, 1),
        formatNumber(result.cpu.seconds, 1),
      ];
    });

    const incomplete = results.filter((result) => result.clientsWithRecord < result.clients || result.failedRequests > 0 || result.shedResponses > 0);
    return {
      tables: [
        {
          title: `Polling versus Doorbell: the record appears T = ${t} s after the clients start; polling period P = ${p} s`,
          columns: [
            'clients N',
            'mode',
            'requests served',
            'requests, formula',
            'staleness mean s',
            'mean, formula',
            'staleness max s',
            ...Object.keys(stack.pids).map((name) => `CPU s ${PROCESS_LABELS[name] ?? name}`),
            'CPU s all four',
            'window s',
          ],
          rows,
          notes: [
            'Requests served: client requests the API responded to (polling GETs, or Doorbell lookups). The provider\'s one write is left out of both.',
            'Staleness: from the write\'s 2xx until the client has the record (a 200 to its GET, or the webhook\'s arrival).',
            'Each CPU column is one process with its children: the Doorbell API, the Doorbell worker, the Temporal dev server, the MongoDB-compatible server.',
            '"all four" is their sum. Polling uses only the API and MongoDB; the worker and Temporal are idle then, and their idle CPU is in the sum too.',
            `The window starts when the clients start and ends when the four processes are back to their idle rate (measured before each N: ${Object.entries(idleCores)
              .map(([clients, cores]) => `N=${clients}: ${formatNumber(cores, 3)} cores`)
              .join(', ')}), at most ${SETTLE_LIMIT_MS / 1000} s after the last client has the record.`,
            ...incomplete.map(
              (result) =>
                `${result.mode}, N=${result.clients}: ${result.clientsWithRecord} of ${result.clients} clients got the record; ${result.shedResponses} responses were 503 (load shedding), ${result.failedRequests} requests failed otherwise.`,
            ),
          ],
        },
      ],
      data: { sizes, lookupConcurrency: LOOKUP_CONCURRENCY, idleCores, results },
    };
  },
};

/** Measures the CPU rate, in cores, of the four server processes while nothing is sent to them. */
async function measureIdleCores(stack: BenchStack): Promise<number> {
  const endWindow = startCpuWindow(stack.pids);
  await sleep(IDLE_WINDOW_MS);
  return sumOfProcesses(endWindow());
}

function sumOfProcesses(window: CpuWindow): number {
  return Object.values(window.processes).reduce((sum, seconds) => sum + seconds, 0) / window.seconds;
}

/** Waits, one second at a time, until the server processes use no more CPU than when idle. */
async function settle(stack: BenchStack, idleCores: number): Promise<void> {
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  while (performance.now() < deadline) {
    const endWindow = startCpuWindow(stack.pids);
    await sleep(1_000);
    if (sumOfProcesses(endWindow()) <= idleCores + SETTLE_MARGIN_CORES) {
      return;
    }
  }
}

/** Writes the record after T seconds; resolves with the time of the write's 2xx. */
async function writeAfter(api: ApiClient, recordId: string, sizes: Sizes): Promise<number> {
  await sleep(sizes.appearAfterSeconds * 1000);
  const write = await api.putRecord(KIND, recordId, { status: 'ready', recordId });
  return write.respondedAt;
}

function staleness(seenAt: number[], writtenAt: number): Summary {
  return summarize(seenAt.filter((time) => !Number.isNaN(time)).map((time) => (time - writtenAt) / 1000));
}

function progressFor(mode: Mode, clients: number): Progress {
  return startProgress(`${mode}, ${formatCount(clients)} clients`, clients, 'clients have the record');
}

async function runPollingClients(stack: BenchStack, api: ApiClient, clients: number, sizes: Sizes, idleCores: number): Promise<ModeResult> {
  const recordId = `polled-by-${clients}`;
  const path = `/v1/records/${KIND}/${recordId}`;
  const periodMs = sizes.pollSeconds * 1000;
  const seenAt = new Array<number>(clients).fill(Number.NaN);
  let requestsServed = 0;
  let shedResponses = 0;
  let failedRequests = 0;
  let clientsWithRecord = 0;

  const progress = progressFor('polling', clients);
  const endCpuWindow = startCpuWindow(stack.pids);
  const startedAt = performance.now();
  const deadline = startedAt + sizes.appearAfterSeconds * 1000 + CLIENT_LIMIT_AFTER_WRITE_MS;
  const written = writeAfter(api, recordId, sizes);

  // Each client polls on its own grid of period P, the grids spread evenly over the first period.
  // A client whose response came after its next tick polls again at once.
  const pollUntilFound = async (client: number): Promise<void> => {
    let nextPollAt = startedAt + (client / clients) * periodMs;
    while (performance.now() < deadline) {
      await sleep(nextPollAt - performance.now());
      try {
        const response = await api.call('GET', path);
        requestsServed++;
        if (response.status === 200) {
          seenAt[client] = response.respondedAt;
          clientsWithRecord++;
          progress.update(clientsWithRecord);
          return;
        }
        if (response.status === 503) {
          shedResponses++;
        } else if (response.status !== 404) {
          failedRequests++;
        }
      } catch {
        failedRequests++;
      }
      nextPollAt = Math.max(nextPollAt + periodMs, performance.now());
    }
  };

  await Promise.all(Array.from({ length: clients }, (_, client) => pollUntilFound(client)));
  const writtenAt = await written;
  await settle(stack, idleCores);
  const cpu = endCpuWindow();
  progress.stop();

  return { mode: 'polling', clients, requestsServed, shedResponses, failedRequests, clientsWithRecord, stalenessSeconds: staleness(seenAt, writtenAt), cpu };
}

async function runDoorbellClients(context: BenchContext, stack: BenchStack, api: ApiClient, clients: number, sizes: Sizes, idleCores: number): Promise<ModeResult> {
  const recordId = `awaited-by-${clients}`;
  const receiver = context.receiver;
  const seenAt = new Array<number>(clients).fill(Number.NaN);
  let requestsServed = 0;
  let shedResponses = 0;
  let clientsWithRecord = 0;
  const progress = progressFor('Doorbell', clients);

  const markSeen = (client: number, time: number): void => {
    if (Number.isNaN(seenAt[client]!)) {
      seenAt[client] = time;
      clientsWithRecord++;
      progress.update(clientsWithRecord);
    }
  };
  const callbackPath = (client: number): string => `/polling/${clients}/client-${client}`;
  const stopListening = receiver.onArrival((arrival) => {
    const client = Number(/\/client-(\d+)$/.exec(arrival.path)?.[1]);
    if (arrival.kind === KIND && arrival.recordId === recordId && Number.isInteger(client)) {
      markSeen(client, arrival.arrivedAt);
    }
  });

  const endCpuWindow = startCpuWindow(stack.pids);
  const written = writeAfter(api, recordId, sizes);
  const lookups = await runWithConcurrency({
    count: clients,
    concurrency: LOOKUP_CONCURRENCY,
    timeLimitMs: sizes.appearAfterSeconds * 1000 + CLIENT_LIMIT_AFTER_WRITE_MS,
    task: async (client) => {
      const response = await api.call('POST', `/v1/records/${KIND}/${recordId}/lookup`, { callback: { url: receiver.url(callbackPath(client)), secret: receiver.secret } });
      requestsServed++;
      if (response.status === 200) {
        // The lookup came after the write, so the record came in the response.
        markSeen(client, response.respondedAt);
      } else if (response.status === 503) {
        shedResponses++;
        throw new Error('lookup shed with HTTP 503');
      } else if (response.status !== 202) {
        throw new Error(`lookup returned HTTP ${response.status}`);
      }
    },
  });
  const writtenAt = await written;
  await waitUntil(() => clientsWithRecord >= clients - lookups.failed, {
    timeoutMs: CLIENT_LIMIT_AFTER_WRITE_MS,
    pollMs: 100,
    onPoll: () => stack.assertRunning(),
  });
  await settle(stack, idleCores);
  const cpu = endCpuWindow();
  progress.stop();
  stopListening();

  return { mode: 'Doorbell', clients, requestsServed, shedResponses, failedRequests: lookups.failed - shedResponses, clientsWithRecord, stalenessSeconds: staleness(seenAt, writtenAt), cpu };
}
