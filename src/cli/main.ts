/**
 * Entry point of the `doorbell` command: `node --import tsx src/cli/main.ts`, `npm run cli --`,
 * or `bin/doorbell.js`. It runs one command and sets the exit code documented in `doorbell --help`.
 */
import { CommanderError } from 'commander';
import { CliError, ExitCode } from './errors.js';
import { buildProgram } from './program.js';

/** Runs the command line and returns its exit code. Messages go to stderr. */
export async function main(argv: string[]): Promise<ExitCode> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return ExitCode.success;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    // Commander has already printed its message, or the help that was asked for.
    return error.exitCode === 0 ? ExitCode.success : ExitCode.usage;
  }
  if (error instanceof CliError) {
    process.stderr.write(`doorbell: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`doorbell: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.failure;
}

// A reader that stops early (`doorbell get ... | head`) closes the pipe; the output is no longer
// wanted, so that ends the command quietly instead of with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') {
    throw error;
  }
  process.exit(ExitCode.success);
});

process.exitCode = await main(process.argv.slice(2));
