import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '../../src/cli/errors.js';
import { DEFAULT_API_URL, configFilePath, normalizeApiUrl, readConfigFile, resolveSettings, writeConfigFile } from '../../src/cli/settings.js';

describe('CLI settings', () => {
  let scratch: string;
  let configPath: string;

  before(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'doorbell-cli-settings-'));
    configPath = path.join(scratch, 'config.json');
    writeFileSync(configPath, JSON.stringify({ apiUrl: 'http://127.0.0.1:3100' }));
  });

  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  test('--api-url comes first', () => {
    const settings = resolveSettings({ apiUrl: 'http://127.0.0.1:3300' }, { DOORBELL_API_URL: 'http://127.0.0.1:3200', DOORBELL_CONFIG: configPath });

    assert.equal(settings.apiUrl, 'http://127.0.0.1:3300');
    assert.equal(settings.apiUrlSource, '--api-url');
  });

  test('DOORBELL_API_URL comes before the config file', () => {
    const settings = resolveSettings({}, { DOORBELL_API_URL: 'http://127.0.0.1:3200', DOORBELL_CONFIG: configPath });

    assert.equal(settings.apiUrl, 'http://127.0.0.1:3200');
    assert.equal(settings.apiUrlSource, 'DOORBELL_API_URL');
  });

  test('config file comes before the default', () => {
    const settings = resolveSettings({}, { DOORBELL_API_URL: '', DOORBELL_CONFIG: configPath });

    assert.equal(settings.apiUrl, 'http://127.0.0.1:3100');
    assert.equal(settings.apiUrlSource, 'config file');
  });

  test('default applies without any setting', () => {
    const settings = resolveSettings({}, { DOORBELL_CONFIG: path.join(scratch, 'missing.json') });

    assert.equal(settings.apiUrl, DEFAULT_API_URL);
    assert.equal(settings.apiUrlSource, 'default');
  });

  test('API key comes from DOORBELL_API_KEY', () => {
    const noLocalKey = path.join(scratch, 'no-admin-api-key');

    assert.equal(resolveSettings({}, { DOORBELL_CONFIG: configPath, DOORBELL_API_KEY: 'key-1' }, noLocalKey).apiKey, 'key-1');
    assert.equal(resolveSettings({}, { DOORBELL_CONFIG: configPath, DOORBELL_API_KEY: '' }, noLocalKey).apiKey, undefined);
  });

  test('API key comes from the config file', () => {
    const withKey = path.join(scratch, 'with-key.json');
    writeFileSync(withKey, JSON.stringify({ apiUrl: 'https://doorbell.example.com', apiKey: 'dbk_from_file' }));

    const fromFile = resolveSettings({}, { DOORBELL_CONFIG: withKey });
    const fromEnvironment = resolveSettings({}, { DOORBELL_CONFIG: withKey, DOORBELL_API_KEY: 'dbk_from_env' });

    assert.equal(fromFile.apiKey, 'dbk_from_file');
    assert.equal(fromFile.apiKeySource, 'config file');
    assert.equal(fromEnvironment.apiKey, 'dbk_from_env');
  });

  test('local admin key only for loopback', () => {
    const localKey = path.join(scratch, 'admin-api-key');
    writeFileSync(localKey, 'dbk_local\n');

    const local = resolveSettings({}, { DOORBELL_CONFIG: configPath }, localKey);
    const remote = resolveSettings({ apiUrl: 'https://doorbell.example.com' }, { DOORBELL_CONFIG: configPath }, localKey);

    assert.equal(local.apiKey, 'dbk_local');
    assert.equal(local.apiKeySource, 'local admin key');
    assert.equal(remote.apiKey, undefined);
    assert.equal(remote.apiKeySource, 'none');
  });

  test('config apiKey must be a string', () => {
    const broken = path.join(scratch, 'number-key.json');
    writeFileSync(broken, JSON.stringify({ apiKey: 42 }));

    assert.throws(() => resolveSettings({}, { DOORBELL_CONFIG: broken }), /apiKey in the config file/);
  });

  test('config path defaults to ~/.config/doorbell', () => {
    assert.equal(configFilePath({}), path.join(homedir(), '.config', 'doorbell', 'config.json'));
  });

  test('config path follows XDG_CONFIG_HOME', () => {
    assert.equal(configFilePath({ XDG_CONFIG_HOME: '/tmp/xdg' }), path.join('/tmp/xdg', 'doorbell', 'config.json'));
  });

  test('invalid config file is a usage error', () => {
    const broken = path.join(scratch, 'broken.json');
    writeFileSync(broken, '{"apiUrl": ');

    assert.throws(() => resolveSettings({}, { DOORBELL_CONFIG: broken }), UsageError);
    assert.throws(() => resolveSettings({}, { DOORBELL_CONFIG: broken }), /is not valid JSON/);
  });

  test('config file must hold an object', () => {
    const list = path.join(scratch, 'list.json');
    writeFileSync(list, '["http://127.0.0.1:3000"]');

    assert.throws(() => readConfigFile(list), /must contain a JSON object/);
  });

  test('writeConfigFile keeps other properties', () => {
    const target = path.join(scratch, 'nested', 'config.json');
    writeConfigFile(target, { apiUrl: 'http://127.0.0.1:3000', profile: 'local' });
    writeConfigFile(target, { ...readConfigFile(target), apiUrl: 'http://127.0.0.1:3001' });

    assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')), { apiUrl: 'http://127.0.0.1:3001', profile: 'local' });
    assert.equal(statSync(target).mode & 0o777, 0o600);
  });
});

describe('normalizeApiUrl', () => {
  test('drops trailing slashes', () => {
    assert.equal(normalizeApiUrl('http://127.0.0.1:3000/', 'test'), 'http://127.0.0.1:3000');
  });

  test('keeps a path prefix', () => {
    assert.equal(normalizeApiUrl('http://127.0.0.1:3000/doorbell/', 'test'), 'http://127.0.0.1:3000/doorbell');
  });

  const invalid: Array<[string, RegExp]> = [
    ['127.0.0.1:3000', /invalid API URL/],
    ['localhost:3000', /must use http or https/],
    ['not a url', /invalid API URL/],
    ['ftp://127.0.0.1/', /must use http or https/],
    ['http://user:pass@127.0.0.1:3000', /username or password/],
    ['http://127.0.0.1:3000/?debug=1', /query or fragment/],
  ];
  for (const [value, message] of invalid) {
    test(`rejects ${value}`, () => {
      assert.throws(() => normalizeApiUrl(value, '--api-url'), UsageError);
      assert.throws(() => normalizeApiUrl(value, '--api-url'), message);
    });
  }
});
