import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { describe, test } from 'node:test';
import { AddressPolicy, BlockedAddressError, checkLiteralHost, createGuardedLookup } from '../../src/activities/address-guard.js';

// Addresses here are strings handed to pure functions and a stubbed resolver: no packet is sent.
const BLOCKED: Array<[string, string]> = [
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.5.4', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'linkLocal'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['0.0.0.0', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.2.10', 'reserved'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'linkLocal'],
  ['fd12:3456::1', 'uniqueLocal'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['64:ff9b::a00:1', 'private'],
  ['64:ff9b::a9fe:a9fe', 'linkLocal'],
  ['2002:a00:1::1', 'private'],
  ['2001:db8::1', 'reserved'],
];

const ALLOWED = ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:93.184.216.34', '64:ff9b::5db8:d822'];

describe('AddressPolicy', () => {
  const policy = new AddressPolicy([]);

  for (const [address, range] of BLOCKED) {
    test(`blocks ${address}`, () => {
      assert.deepEqual(policy.check(address), { allowed: false, range });
    });
  }

  for (const address of ALLOWED) {
    test(`allows public ${address}`, () => {
      assert.deepEqual(policy.check(address), { allowed: true });
    });
  }

  test('allow-list opens a range', () => {
    const loopbackAllowed = new AddressPolicy(['127.0.0.0/8']);

    assert.deepEqual(loopbackAllowed.check('127.0.0.1'), { allowed: true });
    assert.deepEqual(loopbackAllowed.check('::ffff:127.0.0.1'), { allowed: true });
    assert.equal(loopbackAllowed.check('::1').allowed, false);
    assert.equal(loopbackAllowed.check('10.0.0.1').allowed, false);
  });

  test('invalid CIDR is named', () => {
    assert.throws(() => new AddressPolicy(['10.0.0.0/33']), /10\.0\.0\.0\/33/);
  });

  test('non-address is blocked', () => {
    assert.equal(policy.check('example.com').allowed, false);
  });
});

describe('createGuardedLookup', () => {
  function stubResolver(addresses: LookupAddress[]) {
    const calls: string[] = [];
    const resolve = (hostname: string, _options: unknown, callback: (error: null, addresses: LookupAddress[]) => void) => {
      calls.push(hostname);
      callback(null, addresses);
    };
    return { calls, resolve };
  }

  function lookupAll(lookup: ReturnType<typeof createGuardedLookup>, hostname: string): Promise<LookupAddress[]> {
    return new Promise((resolve, reject) => {
      lookup(hostname, { all: true }, (error, addresses) => (error === null ? resolve(addresses as unknown as LookupAddress[]) : reject(error)));
    });
  }

  test('rebound private answer is refused', async () => {
    const stub = stubResolver([{ address: '10.0.0.5', family: 4 }]);
    const lookup = createGuardedLookup(new AddressPolicy([]), stub.resolve);

    await assert.rejects(lookupAll(lookup, 'hooks.example.com'), (error: unknown) => {
      assert.ok(error instanceof BlockedAddressError);
      assert.equal(error.address, '10.0.0.5');
      assert.equal(error.range, 'private');
      assert.match(error.message, /DELIVERY_ALLOWED_CIDRS/);
      return true;
    });
    assert.deepEqual(stub.calls, ['hooks.example.com']);
  });

  test('private answers are dropped from a mix', async () => {
    const stub = stubResolver([
      { address: '169.254.169.254', family: 4 },
      { address: '93.184.216.34', family: 4 },
    ]);
    const lookup = createGuardedLookup(new AddressPolicy([]), stub.resolve);

    assert.deepEqual(await lookupAll(lookup, 'hooks.example.com'), [{ address: '93.184.216.34', family: 4 }]);
  });

  test('single-address form returns the first allowed', async () => {
    const stub = stubResolver([{ address: '2606:4700:4700::1111', family: 6 }]);
    const lookup = createGuardedLookup(new AddressPolicy([]), stub.resolve);

    const result = await new Promise<[string, number]>((resolve, reject) => {
      lookup('hooks.example.com', {}, (error, address, family) => (error === null ? resolve([address as string, family as number]) : reject(error)));
    });
    assert.deepEqual(result, ['2606:4700:4700::1111', 6]);
  });

  test('resolver error is passed on', async () => {
    const failure = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    const resolve = (_hostname: string, _options: unknown, callback: (error: Error, addresses: LookupAddress[]) => void) => callback(failure, []);
    const lookup = createGuardedLookup(new AddressPolicy([]), resolve);

    await assert.rejects(lookupAll(lookup, 'nowhere.invalid'), /ENOTFOUND/);
  });
});

describe('checkLiteralHost', () => {
  const policy = new AddressPolicy([]);

  test('blocks an IPv4 literal', () => {
    assert.ok(checkLiteralHost(new URL('http://10.0.0.1/hooks'), policy) instanceof BlockedAddressError);
  });

  test('blocks a bracketed IPv6 literal', () => {
    assert.ok(checkLiteralHost(new URL('http://[::1]:8080/hooks'), policy) instanceof BlockedAddressError);
  });

  test('blocks a hex IPv4 literal', () => {
    // The URL parser normalizes 0x7f000001 to 127.0.0.1.
    assert.ok(checkLiteralHost(new URL('http://0x7f000001/hooks'), policy) instanceof BlockedAddressError);
  });

  test('leaves host names to the lookup', () => {
    assert.equal(checkLiteralHost(new URL('https://hooks.example.com/x'), policy), undefined);
  });

  test('allows a public literal', () => {
    assert.equal(checkLiteralHost(new URL('https://93.184.216.34/x'), policy), undefined);
  });
});
