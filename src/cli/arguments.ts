/**
 * Parsers for command-line values. Each returns the parsed value or throws commander's
 * InvalidArgumentError, which commander reports with the option's name and exits with 2.
 */
import { InvalidArgumentError } from 'commander';
import { RECORD_KEY_PATTERN, RECORD_KEY_RULE } from '../domain/ids.js';

export interface RecordKey {
  kind: string;
  id: string;
}

/** Parses `kind/id`, the path of one record. */
export function parseRecordPath(value: string): RecordKey {
  const parts = value.split('/');
  const [kind, id] = parts;
  if (parts.length !== 2 || kind === undefined || id === undefined) {
    throw new InvalidArgumentError(`expected kind/id such as products/p21, got ${JSON.stringify(value)}.`);
  }
  checkRecordKey(kind, 'kind');
  checkRecordKey(id, 'record id');
  return { kind, id };
}

/** Parses a subscription target: `kind/id` for one record or `kind/*` for every record of a kind. */
export function parseSubscriptionTarget(value: string): string {
  const parts = value.split('/');
  const [kind, id] = parts;
  if (parts.length !== 2 || kind === undefined || id === undefined) {
    throw new InvalidArgumentError(`expected kind/id or kind/* such as products/p21 or products/*, got ${JSON.stringify(value)}.`);
  }
  checkRecordKey(kind, 'kind');
  if (id !== '*') {
    checkRecordKey(id, 'record id');
  }
  return value;
}

function checkRecordKey(value: string, part: 'kind' | 'record id'): void {
  if (!RECORD_KEY_PATTERN.test(value)) {
    throw new InvalidArgumentError(`the ${part} ${JSON.stringify(value)} is invalid: it ${RECORD_KEY_RULE}.`);
  }
}

/** Adds one `--watch` target to the ones given before it, for options that may repeat. */
export function collectSubscriptionTarget(value: string, previous: string[] | undefined): string[] {
  const target = parseSubscriptionTarget(value);
  const targets = previous ?? [];
  return targets.includes(target) ? targets : [...targets, target];
}

/** Returns a parser of a decimal integer from min to max inclusive. `description` names the value in the message, such as "a port number". */
export function integerInRange(min: number, max: number, description: string): (value: string) => number {
  return (value) => {
    const trimmed = value.trim();
    const number = Number(trimmed);
    if (!/^-?\d+$/.test(trimmed) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected ${description} from ${min} to ${max}, got ${JSON.stringify(value)}.`);
    }
    return number;
  };
}

/** Parses a TCP port from 0 to 65535, where 0 lets the system pick a free one. */
export const parsePort = integerInRange(0, 65_535, 'a port number');

/** Parses a retry window in days: more than 0 and at most 3650, fractions allowed, as the API accepts. */
export function parseRetryWindowDays(value: string): number {
  const trimmed = value.trim();
  const days = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(days) || days <= 0 || days > 3650) {
    throw new InvalidArgumentError(`expected a number of days more than 0 and at most 3650, got ${JSON.stringify(value)}.`);
  }
  return days;
}

/** Source of a record body: a file (`@path`), standard input (`-`) or the argument itself. */
export type BodySource = { from: 'file'; path: string } | { from: 'stdin' } | { from: 'argument'; text: string };

export function parseBodySource(value: string): BodySource {
  if (value === '-') {
    return { from: 'stdin' };
  }
  if (value.startsWith('@')) {
    const path = value.slice(1);
    if (path === '') {
      throw new InvalidArgumentError('expected a file name after "@", such as @record.json.');
    }
    return { from: 'file', path };
  }
  return { from: 'argument', text: value };
}

const SINCE_DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const SINCE_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Returns a parser of a point in the past: a duration before `now()`, such as `2d`, `12h`, `30m`
 * or `90s`, or an ISO 8601 date-time with a time zone. The result is an ISO 8601 string in UTC.
 */
export function sinceParser(now: () => number = Date.now): (value: string) => string {
  return (value) => {
    const trimmed = value.trim();
    const duration = SINCE_DURATION.exec(trimmed);
    if (duration !== null) {
      return new Date(now() - Number(duration[1]) * SINCE_UNIT_MS[duration[2]!]!).toISOString();
    }
    const hasZone = /(Z|[+-]\d{2}:\d{2})$/i.test(trimmed);
    const time = Date.parse(trimmed);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(trimmed) || !hasZone || Number.isNaN(time)) {
      throw new InvalidArgumentError(`expected a duration ago such as 2d, 12h or 30m, or a date-time such as 2026-12-01T00:00:00Z, got ${JSON.stringify(value)}.`);
    }
    return new Date(time).toISOString();
  };
}
