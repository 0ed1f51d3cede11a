import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import { testServers } from '../support/env.js';

/** The parts of the driver's internals this test reaches: a server's pooled connections. */
interface DriverConnection {
  socket: { destroy(): void };
  command(ns: { db: string }, command: Record<string, unknown>, options: Record<string, unknown>): Promise<unknown>;
}
interface ClientInternals {
  topology: { s: { servers: Map<string, { pool: { connections: Iterable<DriverConnection> } }> } };
}

/** Upper bound of the wait for a command that should fail at once. A command still pending then has hung. */
const HANG_BOUND_MS = 5_000;

/**
 * The MongoDB driver 7.9.1 can write a command to a socket that Node.js has destroyed but not yet
 * reported closed, and then wait for a `drain` event that never comes. Its monitor does this
 * when the server restarts, so the process never reconnects. patches/mongodb+7.9.1.patch makes
 * the write fail as a network error instead.
 */
describe('MongoDB driver on a destroyed socket', () => {
  let client: MongoClient;

  before(async () => {
    client = await new MongoClient(testServers().mongoUri, { maxPoolSize: 1, serverSelectionTimeoutMS: 10_000 }).connect();
    await client.db('admin').command({ ping: 1 });
  });

  after(async () => {
    await client.close();
  });

  test('command on destroyed socket fails', async () => {
    const [server] = (client as unknown as ClientInternals).topology.s.servers.values();
    const [connection] = server!.pool.connections;
    assert.ok(connection !== undefined, 'the pool holds no connection after a ping');

    // Node.js marks the socket destroyed at once and emits its close event on a later turn of the
    // event loop. A server restart opens the same window.
    connection.socket.destroy();
    const outcome = await Promise.race([
      connection.command({ db: 'admin' }, { ping: 1 }, {}).then(
        () => 'answered',
        (error: Error) => error.name,
      ),
      sleep(HANG_BOUND_MS, 'hung', { ref: false }),
    ]);
    assert.equal(outcome, 'MongoNetworkError');
  });

  test('next command reconnects', async () => {
    assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
  });
});
