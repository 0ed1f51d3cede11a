/**
 * The loopback check of `doorbell listen --forward-to`. The listener is a local development tool,
 * so it forwards webhooks only to this machine: 127.0.0.0/8, ::1 (also as an IPv4-mapped
 * address such as ::ffff:127.0.0.1) and `localhost`.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from 'commander';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * Returns true when a URL host name is a loopback address or `localhost`. It takes the host name
 * as `URL.hostname` gives it, so IPv6 addresses may keep their brackets. Other names return
 * false without a DNS lookup, because a name could resolve elsewhere later.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost') {
    return true;
  }
  if (isIPv4(host)) {
    return loopback.check(host, 'ipv4');
  }
  if (isIPv6(host)) {
    return loopback.check(host, 'ipv6');
  }
  return false;
}

/**
 * Parses the `--forward-to` URL: absolute http or https on a loopback host.
 *
 * @throws InvalidArgumentError when the value is not such a URL.
 */
export function parseForwardUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected an absolute URL such as http://127.0.0.1:4000/hooks, got ${JSON.stringify(value)}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`the URL must use http or https, got ${url.protocol}.`);
  }
  // The WHATWG URL parser has already turned forms such as 127.1 or 0x7f000001 into 127.0.0.1.
  if (!isLoopbackHost(url.hostname)) {
    throw new InvalidArgumentError(
      `the host ${url.hostname} is not a loopback address; listen forwards only to this machine (127.0.0.0/8, [::1] or localhost), because it is a local development tool.`,
    );
  }
  return url.href;
}
