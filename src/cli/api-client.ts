/** A small client for Doorbell's HTTP API that turns every failure into a CliError with an exit code. */
import { STATUS_CODES } from 'node:http';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { ApiError, ApiUnreachableError, describeRequestError, type Problem } from './errors.js';

/** Maximum number of characters of a non-JSON error body shown in a message. */
const MAX_ERROR_BODY_CHARS = 300;

export interface ApiClientOptions {
  /** Base URL without a trailing slash, such as http://127.0.0.1:3000. */
  baseUrl: string;
  apiKey: string | undefined;
  /** Milliseconds to wait for each response, headers and body. */
  timeoutMs: number;
}

export interface ApiRequest {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | undefined>;
  /** A JSON object, sent serialized, or a string, sent as it is (record bodies keep their exact bytes). */
  body?: unknown;
  /** Aborts the request early, for example on Ctrl-C. */
  signal?: AbortSignal;
}

export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** Returns the URL of an API path with its query parameters. */
  url(path: string, query: ApiRequest['query'] = {}): string {
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) {
        url.searchParams.set(name, String(value));
      }
    }
    return url.href;
  }

  /**
   * Sends a request and returns the parsed JSON body of a 2xx response, or undefined for an empty one.
   *
   * @throws ApiError when the API responds with a status other than 2xx; its message contains the problem's detail.
   * @throws ApiUnreachableError when no response arrives within the timeout or the connection fails.
   */
  async request<T>(method: string, path: string, request: ApiRequest = {}): Promise<T> {
    const url = this.url(path, request.query);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.options.apiKey !== undefined) {
      headers.authorization = `Bearer ${this.options.apiKey}`;
    }
    let body: string | undefined;
    if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    }

    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
    let status: number;
    let text: string;
    try {
      const response = await undiciRequest(url, { method: method as Dispatcher.HttpMethod, headers, body, signal });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw this.unreachable(method, url, error, timeout, request.signal);
    }

    if (status < 200 || status > 299) {
      throw apiErrorFrom(status, text);
    }
    if (text === '') {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(status, undefined, `${method} ${url} returned HTTP ${status} with a body that is not JSON: ${text.slice(0, MAX_ERROR_BODY_CHARS)}`);
    }
  }

  /** Returns the error to throw for a request that got no response. An abort by the caller's signal is passed on as it is. */
  private unreachable(method: string, url: string, error: unknown, timeout: AbortSignal, callerSignal: AbortSignal | undefined): unknown {
    if (callerSignal?.aborted === true && !timeout.aborted) {
      return error;
    }
    if (timeout.aborted) {
      return new ApiUnreachableError(`the Doorbell API did not respond to ${method} ${url} within ${this.options.timeoutMs} ms; check that it runs, or raise --timeout`);
    }
    return new ApiUnreachableError(
      `cannot reach the Doorbell API at ${this.options.baseUrl} (${method} ${url}: ${describeRequestError(error)}); start it with \`npm start\`, or set --api-url or DOORBELL_API_URL`,
    );
  }
}

/** Builds the error for a non-2xx response, from its problem+json body when it has one. */
export function apiErrorFrom(status: number, text: string): ApiError {
  const problem = parseProblem(text);
  const title = problem?.title ?? STATUS_CODES[status] ?? '';
  const heading = `HTTP ${status}${title === '' ? '' : ` ${title}`}`;

  if (problem?.errors !== undefined && problem.errors.length > 0) {
    const lines = problem.errors.map((error) => `  ${error.field}: ${error.message}`);
    return new ApiError(status, problem, [`${heading}:`, ...lines].join('\n'));
  }
  if (problem?.detail !== undefined) {
    return new ApiError(status, problem, `${heading}: ${problem.detail}`);
  }
  const excerpt = text.trim().slice(0, MAX_ERROR_BODY_CHARS);
  return new ApiError(status, problem, excerpt === '' ? heading : `${heading}: ${excerpt}`);
}

function parseProblem(text: string): Problem | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Problem) : undefined;
  } catch {
    return undefined;
  }
}
