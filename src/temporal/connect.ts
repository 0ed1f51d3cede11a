import { readFileSync } from 'node:fs';
import { Client, Connection, type ClientInterceptors, type TLSConfig } from '@temporalio/client';
import type { Config } from '../config.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import protos from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';

// @temporalio/proto is CommonJS; its namespaces are reached through the default export.
const { IndexedValueType } = protos.temporal.api.enums.v1;

/**
 * Returns the options both kinds of Temporal connection take: the address, TLS with an optional
 * client certificate, and an API key (Temporal Cloud).
 *
 * @throws Error naming the file when a certificate or key cannot be read.
 */
export function connectionOptions(temporal: Config['temporal']): { address: string; tls: TLSConfig | boolean; apiKey?: string } {
  let tls: TLSConfig | boolean = temporal.tls;
  if (temporal.tls && temporal.clientCertificate !== null) {
    tls = { clientCertPair: { crt: readPemFile(temporal.clientCertificate.certPath), key: readPemFile(temporal.clientCertificate.keyPath) } };
  }
  return { address: temporal.address, tls, ...(temporal.apiKey === undefined ? {} : { apiKey: temporal.apiKey }) };
}

function readPemFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read ${path} for the Temporal TLS client certificate: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Connects a Temporal client, the kind the API and activities use to start and cancel workflows.
 * `interceptors` are those of tracing, when it is on.
 */
export async function connectClient(temporal: Config['temporal'], interceptors?: ClientInterceptors): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(temporal));
  return new Client({ connection, namespace: temporal.namespace, ...(interceptors === undefined ? {} : { interceptors }) });
}

/**
 * Registers Doorbell's custom search attributes so deliveries can be filtered in the Web UI.
 * Already registered ones are kept. A server that refuses (Temporal Cloud manages them in its
 * console) is logged, because workflows still run there once the attributes exist.
 */
export async function ensureSearchAttributes(client: Client, namespace: string, logger: Logger): Promise<void> {
  const wanted = Object.values(SEARCH_ATTRIBUTES).map((key) => key.name);
  try {
    const existing = await listCustomSearchAttributes(client, namespace);
    const missing = wanted.filter((name) => !existing.has(name));
    if (missing.length === 0) {
      return;
    }

    await client.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
    logger.info({ added: missing }, 'Search attributes registered');
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (code === grpcStatus.ALREADY_EXISTS) {
      return;
    }
    logger.warn({ err: error, wanted }, 'Could not register search attributes; register them on the server, or deliveries will fail to start');
  }
}

/**
 * Returns the names of the namespace's custom search attributes. Temporal's time-skipping test
 * server cannot list them (UNIMPLEMENTED) but can add them, so there every one counts as missing.
 */
async function listCustomSearchAttributes(client: Client, namespace: string): Promise<Set<string>> {
  try {
    const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
    return new Set(Object.keys(existing.customAttributes ?? {}));
  } catch (error) {
    if ((error as { code?: number }).code === grpcStatus.UNIMPLEMENTED) {
      return new Set();
    }
    throw error;
  }
}
