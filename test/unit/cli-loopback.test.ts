import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { isLoopbackHost, parseForwardUrl } from '../../src/cli/loopback.js';

describe('isLoopbackHost', () => {
  const loopbackHosts = ['127.0.0.1', '127.0.0.53', '127.255.255.254', '[::1]', '::1', 'localhost', 'LOCALHOST', 'localhost.', '[::ffff:7f00:1]'];
  for (const host of loopbackHosts) {
    test(`accepts ${host}`, () => {
      assert.equal(isLoopbackHost(host), true);
    });
  }

  const otherHosts = ['10.0.0.1', '192.168.1.10', '172.16.0.1', '0.0.0.0', '128.0.0.1', '[::]', '[fe80::1]', '[::ffff:a00:1]', 'example.com', 'localhost.example.com', 'my-localhost', ''];
  for (const host of otherHosts) {
    test(`rejects ${JSON.stringify(host)}`, () => {
      assert.equal(isLoopbackHost(host), false);
    });
  }
});

describe('parseForwardUrl', () => {
  test('accepts an http URL on 127.0.0.1', () => {
    assert.equal(parseForwardUrl('http://127.0.0.1:4000/hooks'), 'http://127.0.0.1:4000/hooks');
  });

  test('accepts https on [::1]', () => {
    assert.equal(parseForwardUrl('https://[::1]:8443/hooks?x=1'), 'https://[::1]:8443/hooks?x=1');
  });

  test('accepts localhost', () => {
    assert.equal(parseForwardUrl('http://localhost:4000/'), 'http://localhost:4000/');
  });

  test('accepts shortened IPv4 loopback forms', () => {
    assert.equal(parseForwardUrl('http://127.1:4000/hooks'), 'http://127.0.0.1:4000/hooks');
    assert.equal(parseForwardUrl('http://0x7f000001:4000/hooks'), 'http://127.0.0.1:4000/hooks');
  });

  const rejected: Array<[string, RegExp]> = [
    ['http://10.1.2.3/hooks', /host 10\.1\.2\.3 is not a loopback address/],
    ['http://example.com/hooks', /host example\.com is not a loopback address/],
    ['http://0.0.0.0:4000/hooks', /host 0\.0\.0\.0 is not a loopback address/],
    ['http://[::ffff:a00:1]/hooks', /is not a loopback address/],
    ['ftp://127.0.0.1/hooks', /must use http or https/],
    ['127.0.0.1:4000/hooks', /expected an absolute URL/],
    ['localhost:4000/hooks', /must use http or https/],
    ['/hooks', /expected an absolute URL/],
  ];
  for (const [value, message] of rejected) {
    test(`rejects ${value}`, () => {
      assert.throws(() => parseForwardUrl(value), InvalidArgumentError);
      assert.throws(() => parseForwardUrl(value), message);
    });
  }
});
