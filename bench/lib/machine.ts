import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, type ServerBinaries } from '../../scripts/lib/local-servers.js';
import { readLoadAverage } from './cpu.js';

/** The machine and the software versions a result was measured with. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  temporalCli: string;
  mongoServer: string;
  loadAverageBefore: [number, number, number];
}

export function describeMachine(binaries: ServerBinaries): MachineInfo {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: commandOutput('uname', ['-r']),
    node: process.version,
    temporalCli: commandOutput(binaries.temporal, ['--version']),
    mongoServer: binaries.mongo.kind === 'mongod' ? commandOutput(binaries.mongo.path, ['--version']).split('\n', 1)[0]! : `FerretDB ${ferretDbVersion()} (tools/mongo-compat, SQLite backend)`,
    loadAverageBefore: readLoadAverage(),
  };
}

function commandOutput(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : `unknown (${command} ${args.join(' ')} failed)`;
}

/** Reads the FerretDB version that tools/mongo-compat pins; the embedded build reports "unknown" itself. */
function ferretDbVersion(): string {
  const goMod = readFileSync(path.join(PROJECT_ROOT, 'tools', 'mongo-compat', 'go.mod'), 'utf8');
  return /github\.com\/FerretDB\/FerretDB (v[\w.-]+)/.exec(goMod)?.[1] ?? 'unknown';
}
