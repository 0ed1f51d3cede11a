/**
 * Custom headers a subscription adds to each of its deliveries, such as a receiver's API token.
 * Doorbell stores them encrypted, because they may carry credentials, and shows only their names.
 */

export const MAX_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 100;
export const MAX_HEADER_VALUE_LENGTH = 1024;
/** Sum of `name: value\r\n` over every header, in bytes; all of it is ASCII. */
export const MAX_HEADERS_TOTAL_BYTES = 8192;

/** A header field name is an RFC 9110 token (section 5.6.2). */
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, space and tab: no CR, LF, NUL or other control character can split the request. */
const VALUE_PATTERN = /^[\t\x20-\x7e]*$/;

/**
 * Names a subscription may not set, in lower case, with the reason shown in the error. Doorbell
 * sets the message framing and identity headers itself; hop-by-hop headers (RFC 9110, section
 * 7.6.1) describe one connection, which Doorbell's HTTP client manages.
 */
const REJECTED_NAMES = new Map<string, string>([
  ['host', 'Doorbell sets Host from the endpoint URL; change the URL instead'],
  ['connection', 'it is a hop-by-hop header that Doorbell\'s HTTP client manages'],
  ['keep-alive', 'it is a hop-by-hop header that Doorbell\'s HTTP client manages'],
  ['te', 'it is a hop-by-hop header that Doorbell\'s HTTP client manages'],
  ['trailer', 'it is a hop-by-hop header that Doorbell\'s HTTP client manages'],
  ['transfer-encoding', 'it is a hop-by-hop header that Doorbell\'s HTTP client manages'],
  ['upgrade', 'it is a hop-by-hop header that Doorbell\'s HTTP client manages'],
  ['expect', 'Doorbell sends the body at once and does not wait for 100 Continue'],
  ['content-length', 'Doorbell sets it from the body'],
  ['content-type', 'Doorbell always sends application/json'],
  ['content-encoding', 'Doorbell sends the body unencoded, so the header would misdescribe it'],
  ['user-agent', 'Doorbell identifies itself with its own User-Agent'],
]);

export type HeaderPair = [name: string, value: string];

export interface HeaderIssue {
  /** The header name as sent, or undefined for an issue about the whole set. */
  name: string | undefined;
  message: string;
}

/**
 * Checks a subscription's headers and returns every problem found; an empty list means they are
 * valid. Messages name the rule and the fix but never repeat a value, which may be a credential.
 */
export function findHeaderIssues(headers: Record<string, unknown>): HeaderIssue[] {
  const issues: HeaderIssue[] = [];
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) {
    issues.push({ name: undefined, message: `must have at most ${MAX_HEADERS} headers, got ${entries.length}; remove some` });
  }

  const seen = new Map<string, string>();
  let totalBytes = 0;
  for (const [name, value] of entries) {
    const problem = describeInvalidHeader(name, value, seen);
    if (problem !== undefined) {
      issues.push({ name, message: problem });
    }
    seen.set(name.toLowerCase(), name);
    totalBytes += name.length + (typeof value === 'string' ? value.length : 0) + 4;
  }

  if (totalBytes > MAX_HEADERS_TOTAL_BYTES) {
    issues.push({ name: undefined, message: `must total at most ${MAX_HEADERS_TOTAL_BYTES} bytes as "name: value" lines, got ${totalBytes}; shorten or remove headers` });
  }
  return issues;
}

function describeInvalidHeader(name: string, value: unknown, seen: Map<string, string>): string | undefined {
  if (name.length > MAX_HEADER_NAME_LENGTH) {
    return `header name must be at most ${MAX_HEADER_NAME_LENGTH} characters, got ${name.length}`;
  }
  if (!TOKEN_PATTERN.test(name)) {
    return 'header name must be an HTTP token: letters, digits and !#$%&\'*+-.^_`|~, without spaces or colons';
  }

  const lowerName = name.toLowerCase();
  const rejection = REJECTED_NAMES.get(lowerName);
  if (rejection !== undefined) {
    return `header ${name} cannot be set: ${rejection}; remove it`;
  }
  if (lowerName.startsWith('proxy-')) {
    return `header ${name} cannot be set: Proxy-* headers are for proxies on Doorbell's side; remove it`;
  }
  if (lowerName.startsWith('webhook-')) {
    return `header ${name} cannot be set: Doorbell sets the webhook-* headers of the Standard Webhooks scheme; use another name`;
  }
  const earlier = seen.get(lowerName);
  if (earlier !== undefined) {
    return `header names are case-insensitive, and ${earlier} is already set; keep one of them`;
  }

  if (typeof value !== 'string') {
    return 'header value must be a string';
  }
  if (value.length > MAX_HEADER_VALUE_LENGTH) {
    return `header value must be at most ${MAX_HEADER_VALUE_LENGTH} characters, got ${value.length}`;
  }
  if (!VALUE_PATTERN.test(value)) {
    return 'header value must be visible ASCII, spaces and tabs only: no CR, LF, NUL or other control characters';
  }
  if (value !== value.trim()) {
    return 'header value must not start or end with whitespace; trim it';
  }
  return undefined;
}
