import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI_ARGS = ['--import', 'tsx', 'src/cli/main.ts'];

/** Maximum run time of a short CLI command, in milliseconds, before the test kills it and fails. */
const COMMAND_TIMEOUT_MS = 30_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Returns the environment of a CLI child process: this process's variables without any Doorbell
 * CLI setting, plus the given ones, so the developer's own config file is never read.
 */
export function cliEnvironment(variables: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DOORBELL_API_URL;
  delete env.DOORBELL_API_KEY;
  delete env.DOORBELL_CONFIG;
  return { ...env, ...variables };
}

/** Runs `doorbell ARGS` to its end and returns its exit code and output. Kills it and fails when it runs too long. */
export async function runCli(args: string[], options: { env: NodeJS.ProcessEnv; input?: string; command?: string[] }): Promise<CliResult> {
  const child = spawn(process.execPath, [...(options.command ?? CLI_ARGS), ...args], { cwd: PROJECT_ROOT, env: options.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(options.input ?? '');

  const code = await waitForExit(child, COMMAND_TIMEOUT_MS, `doorbell ${args.join(' ')}`, () => stderr);
  return { code, stdout, stderr };
}

/** A long-running CLI command such as `listen` or `deliveries --follow`, whose output the test reads while it runs. */
export class CliProcess {
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly description: string,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  }

  static start(args: string[], env: NodeJS.ProcessEnv): CliProcess {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new CliProcess(child, `doorbell ${args.join(' ')}`);
  }

  /** Complete stdout lines parsed as JSON. */
  jsonLines<T = any>(): T[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as T);
  }

  /** Waits until `probe` returns a value, checking after each output chunk; fails with the output so far when the process exits or timeoutMs passes. */
  async waitFor<T>(description: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) {
        return value;
      }
      if (exitCode !== undefined) {
        throw new Error(`${this.description} exited with ${exitCode} before ${description}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${description} from ${this.description}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sends a signal and returns the exit code; kills the process and fails when it does not exit in time. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    this.child.kill(signal);
    return waitForExit(this.child, COMMAND_TIMEOUT_MS, this.description, () => this.stderr, this.exited);
  }

  /** Kills the process if it still runs, for cleanup after a failed test. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
  }
}

async function waitForExit(child: ChildProcess, timeoutMs: number, description: string, stderr: () => string, exited?: Promise<number | null>): Promise<number | null> {
  const exit = exited ?? new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${description} did not exit within ${timeoutMs} ms; stderr: ${stderr()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([exit, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
