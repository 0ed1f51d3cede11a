/**
 * Runs a launcher script again inside a private network namespace that has only a loopback
 * interface, so the servers it starts cannot be reached from, or reach, any other host.
 * `npm test` and `npm run bench` use it. They install what they need first, because a
 * namespace without an outside interface has no route to the package registries.
 */
import { spawn, spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from './local-servers.js';

/** Returns true when this user can create a network namespace and bring its loopback up. */
export function canIsolateNetwork(): boolean {
  const probe = spawnSync('unshare', ['--map-root-user', '--net', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * Runs `node --import tsx script ...args` in a new network namespace with only loopback, with
 * `markerVariable=1` added to its environment so the script can tell that it already runs inside.
 * Resolves with the exit code, or 128 when a signal ended it.
 */
export function runInIsolatedNetwork(options: { script: string; args: string[]; markerVariable: string }): Promise<number> {
  const shellScript = 'ip link set lo up && exec "$0" "$@"';
  const child = spawn('unshare', ['--map-root-user', '--net', 'sh', '-c', shellScript, process.execPath, '--import', 'tsx', options.script, ...options.args], {
    stdio: 'inherit',
    env: { ...process.env, [options.markerVariable]: '1' },
    cwd: PROJECT_ROOT,
  });
  return new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))));
}
