/**
 * CPU time of processes and of the whole machine, read from Linux's /proc. Times are in seconds
 * of one core, so 2.0 s in a 1 s window means both cores of a 2-core machine were busy.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of the utime and stime fields (`getconf CLK_TCK`, 100 on Linux x86-64). */
const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(result.stdout.trim());
  return result.status === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

interface ProcStat {
  pid: number;
  parentPid: number;
  /** utime + stime of the process itself, in ticks. */
  ownTicks: number;
  /** cutime + cstime: children that exited and were waited for, in ticks. */
  reapedChildrenTicks: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may contain spaces
 * or parentheses, so the fields are counted from the last `)`.
 */
function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const field = (number: number): number => Number(fields[number - 3]);
  return { pid, parentPid: field(4), ownTicks: field(14) + field(15), reapedChildrenTicks: field(16) + field(17) };
}

function listProcessStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry)) {
      const stat = readProcStat(Number(entry));
      if (stat !== undefined) {
        stats.push(stat);
      }
    }
  }
  return stats;
}

/**
 * Returns the CPU seconds used so far by each root process together with its descendants (tsx
 * starts an esbuild service process under each Node.js process, for example). A root that has
 * exited counts as 0.
 */
export function readCpuSeconds(roots: Record<string, number>): Record<string, number> {
  const stats = listProcessStats();
  const byPid = new Map(stats.map((stat) => [stat.pid, stat]));
  const childrenOf = new Map<number, number[]>();
  for (const stat of stats) {
    const siblings = childrenOf.get(stat.parentPid) ?? [];
    siblings.push(stat.pid);
    childrenOf.set(stat.parentPid, siblings);
  }

  const result: Record<string, number> = {};
  for (const [name, rootPid] of Object.entries(roots)) {
    const root = byPid.get(rootPid);
    if (root === undefined) {
      result[name] = 0;
      continue;
    }

    let ticks = root.reapedChildrenTicks;
    const pending = [rootPid];
    while (pending.length > 0) {
      const pid = pending.pop()!;
      ticks += byPid.get(pid)?.ownTicks ?? 0;
      pending.push(...(childrenOf.get(pid) ?? []));
    }
    result[name] = ticks / CLOCK_TICKS_PER_SECOND;
  }
  return result;
}

/** Returns the busy CPU seconds of the whole machine so far: every state in /proc/stat except idle and iowait. */
export function readMachineBusySeconds(): number {
  const firstLine = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const ticks = firstLine.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

/** Returns the load averages over 1, 5 and 15 minutes from /proc/loadavg. */
export function readLoadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [one, five, fifteen];
}

/** CPU seconds of named processes, the bench process and the machine, over one measured window. */
export interface CpuWindow {
  seconds: number;
  /** CPU seconds of each named process tree in the window. */
  processes: Record<string, number>;
  /** CPU seconds of this bench process: load generator and receivers. */
  bench: number;
  /** Busy CPU seconds of the whole machine, other users' processes included. */
  machine: number;
}

/** Starts measuring CPU time; call the returned function to end the window. */
export function startCpuWindow(roots: Record<string, number>): () => CpuWindow {
  const startedAt = performance.now();
  const processesBefore = readCpuSeconds(roots);
  const benchBefore = process.cpuUsage();
  const machineBefore = readMachineBusySeconds();

  return () => {
    const processesAfter = readCpuSeconds(roots);
    const benchUsage = process.cpuUsage(benchBefore);
    const processes: Record<string, number> = {};
    for (const name of Object.keys(roots)) {
      processes[name] = (processesAfter[name] ?? 0) - (processesBefore[name] ?? 0);
    }
    return {
      seconds: (performance.now() - startedAt) / 1000,
      processes,
      bench: (benchUsage.user + benchUsage.system) / 1e6,
      machine: readMachineBusySeconds() - machineBefore,
    };
  };
}

/** Returns one window that spans two consecutive windows. */
export function combineWindows(first: CpuWindow, second: CpuWindow): CpuWindow {
  const processes: Record<string, number> = {};
  for (const name of Object.keys(first.processes)) {
    processes[name] = (first.processes[name] ?? 0) + (second.processes[name] ?? 0);
  }
  return { seconds: first.seconds + second.seconds, processes, bench: first.bench + second.bench, machine: first.machine + second.machine };
}
