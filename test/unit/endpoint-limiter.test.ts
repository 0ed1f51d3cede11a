import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EndpointConcurrencyLimiter, endpointOrigin } from '../../src/activities/endpoint-limiter.js';

describe('EndpointConcurrencyLimiter', () => {
  test('origin at its cap gets no slot', () => {
    const limiter = new EndpointConcurrencyLimiter(2);
    assert.ok(limiter.tryAcquire('https://a.example:443'));
    assert.ok(limiter.tryAcquire('https://a.example:443'));
    assert.equal(limiter.tryAcquire('https://a.example:443'), undefined);
    assert.equal(limiter.countInFlight('https://a.example:443'), 2);
  });

  test('other origins keep their slots', () => {
    const limiter = new EndpointConcurrencyLimiter(1);
    assert.ok(limiter.tryAcquire('https://a.example:443'));
    assert.ok(limiter.tryAcquire('https://b.example:443'));
  });

  test('released slot is reused once', () => {
    const limiter = new EndpointConcurrencyLimiter(1);
    const release = limiter.tryAcquire('https://a.example:443')!;
    release();
    release();
    assert.equal(limiter.countInFlight('https://a.example:443'), 0);
    assert.ok(limiter.tryAcquire('https://a.example:443'));
    assert.equal(limiter.tryAcquire('https://a.example:443'), undefined);
  });

  test('cap below 1 is rejected', () => {
    assert.throws(() => new EndpointConcurrencyLimiter(0), /positive integer/);
  });
});

describe('endpointOrigin', () => {
  test('default port is written out', () => {
    assert.equal(endpointOrigin('https://Example.com/hooks?a=1'), 'https://example.com:443');
    assert.equal(endpointOrigin('http://example.com:80/x'), 'http://example.com:80');
  });

  test('path and query do not matter', () => {
    assert.equal(endpointOrigin('http://127.0.0.1:4000/a'), endpointOrigin('http://127.0.0.1:4000/b?c=d'));
  });

  test('ports make different origins', () => {
    assert.notEqual(endpointOrigin('http://127.0.0.1:4000/a'), endpointOrigin('http://127.0.0.1:4001/a'));
  });
});
