/**
 * Exit codes of the `doorbell` command. Scripts may rely on them, so they only ever gain new
 * values, never change the meaning of one.
 */
export const ExitCode = {
  success: 0,
  /** The API rejected the request, or the input (such as a record body) is invalid. */
  failure: 1,
  /** The command line or the CLI configuration is invalid: unknown option, missing or malformed argument. */
  usage: 2,
  /** The API did not respond: connection refused, DNS failure or timeout. */
  unreachable: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI expects and reports as one message on stderr, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** An RFC 9457 problem details object as the API sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  errors?: Array<{ field: string; message: string }>;
}

/** The API responded with an error status. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    message: string,
  ) {
    super(message, ExitCode.failure);
    this.name = 'ApiError';
  }
}

/** No HTTP response arrived from the API. */
export class ApiUnreachableError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.unreachable);
    this.name = 'ApiUnreachableError';
  }
}

/** Describes a failed request by its system error code, such as ECONNREFUSED, and message. */
export function describeRequestError(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
