import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The server-side request forgery guard of outgoing deliveries. A subscription's URL is chosen by
 * a stranger, so the worker must not be usable to reach loopback, private networks, link-local
 * cloud metadata services and the like. The check runs on the address a connection is about to
 * use, after DNS resolution, so a name that resolves to a public address when registered and to a
 * private one later (DNS rebinding) is still refused.
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Error raised when a delivery would connect to an address the policy refuses. */
export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(`${host} resolves to ${address} (${range}), which deliveries may not reach; add its range to DELIVERY_ALLOWED_CIDRS to allow it`);
    this.name = 'BlockedAddressError';
  }
}

export type AddressVerdict = { allowed: true } | { allowed: false; range: string };

/**
 * Decides which addresses deliveries may reach: public unicast addresses, plus the CIDR ranges
 * of an allow-list. IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 addresses are judged by the IPv4
 * address they carry, so wrapping a private address in IPv6 does not get it through.
 */
export class AddressPolicy {
  private readonly allowedRanges: Array<[Address, number]>;

  /** @throws Error naming the entry when a CIDR in the allow-list is invalid. */
  constructor(allowedCidrs: readonly string[]) {
    this.allowedRanges = allowedCidrs.map((cidr) => {
      try {
        return ipaddr.parseCIDR(cidr);
      } catch {
        throw new Error(`invalid CIDR ${JSON.stringify(cidr)} in the delivery allow-list; write it as 10.1.0.0/16 or fd00::/8`);
      }
    });
  }

  check(address: string): AddressVerdict {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(address);
    } catch {
      return { allowed: false, range: 'not an IP address' };
    }

    if (this.isInAllowList(parsed)) {
      return { allowed: true };
    }

    const embedded = embeddedIpv4(parsed);
    if (embedded !== undefined) {
      return this.check(embedded.toString());
    }

    const range = parsed.range();
    return range === 'unicast' ? { allowed: true } : { allowed: false, range };
  }

  private isInAllowList(address: Address): boolean {
    return this.allowedRanges.some(([network, prefixLength]) => address.kind() === network.kind() && address.match(network, prefixLength));
  }
}

/** Returns the IPv4 address carried inside an IPv6 one (mapped, NAT64 or 6to4), if any. */
function embeddedIpv4(address: Address): ipaddr.IPv4 | undefined {
  if (address.kind() !== 'ipv6') {
    return undefined;
  }

  const ipv6 = address as ipaddr.IPv6;
  const bytes = ipv6.toByteArray();
  switch (ipv6.range()) {
    case 'ipv4Mapped':
    case 'rfc6052':
      return new ipaddr.IPv4(bytes.slice(12, 16));
    case '6to4':
      return new ipaddr.IPv4(bytes.slice(2, 6));
    default:
      return undefined;
  }
}

type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * Builds the `lookup` function that the HTTP client's sockets use: it resolves the host, keeps
 * only the addresses the policy allows, and fails with BlockedAddressError when none is left,
 * before any connection is attempted. `resolve` is replaceable so tests can stub DNS.
 */
export function createGuardedLookup(policy: AddressPolicy, resolve: Resolver = dnsLookup as unknown as Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, '', 4);
        return;
      }

      const allowed = addresses.filter((entry) => policy.check(entry.address).allowed);
      if (allowed.length === 0) {
        const first = addresses[0];
        const verdict = first === undefined ? { allowed: false as const, range: 'no address' } : policy.check(first.address);
        callback(new BlockedAddressError(hostname, first?.address ?? 'nothing', verdict.allowed ? 'unknown' : verdict.range), '', 4);
        return;
      }

      if ((options as LookupOptions).all === true) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, allowed);
        return;
      }
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/**
 * Checks a URL whose host is an IP literal, which sockets connect to without any lookup.
 * Returns the refusal, or undefined when the host is a name (checked at lookup) or allowed.
 */
export function checkLiteralHost(url: URL, policy: AddressPolicy): BlockedAddressError | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // The same test Node.js applies before it skips the lookup and connects to the literal.
  if (isIP(host) === 0) {
    return undefined;
  }
  const verdict = policy.check(host);
  return verdict.allowed ? undefined : new BlockedAddressError(url.hostname, host, verdict.range);
}
