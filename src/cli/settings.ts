/**
 * Settings of the CLI: the API URL, taken from the command-line option, then the environment,
 * then the config file, then the default of a local `npm start`, and the API key.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.js';
import { isLoopbackHost } from './loopback.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** The admin key `npm start` writes for the local stack, in this checkout's `.doorbell` folder. */
export const LOCAL_ADMIN_KEY_FILE = fileURLToPath(new URL('../../.doorbell/admin-api-key', import.meta.url));

/** The keys `doorbell config set` accepts, with the config file property each one sets. */
export const CONFIG_KEYS = { 'api-url': 'apiUrl' } as const;
export type ConfigKey = keyof typeof CONFIG_KEYS;

/** The config file's contents. Unknown properties are kept when the file is rewritten. */
export interface ConfigFile {
  apiUrl?: string;
  apiKey?: string;
  [property: string]: unknown;
}

export type ApiUrlSource = '--api-url' | 'DOORBELL_API_URL' | 'config file' | 'default';
export type ApiKeySource = 'DOORBELL_API_KEY' | 'config file' | 'local admin key' | 'none';

export interface Settings {
  apiUrl: string;
  apiUrlSource: ApiUrlSource;
  /** Sent as `Authorization: Bearer` on every request when set. */
  apiKey: string | undefined;
  apiKeySource: ApiKeySource;
  configPath: string;
}

/** Returns the config file path: DOORBELL_CONFIG, else $XDG_CONFIG_HOME/doorbell/config.json, else ~/.config/doorbell/config.json. */
export function configFilePath(env: NodeJS.ProcessEnv): string {
  const explicit = nonEmpty(env.DOORBELL_CONFIG);
  if (explicit !== undefined) {
    return path.resolve(explicit);
  }
  const configHome = nonEmpty(env.XDG_CONFIG_HOME) ?? path.join(homedir(), '.config');
  return path.join(configHome, 'doorbell', 'config.json');
}

/**
 * Reads the config file, or returns an empty config when it does not exist.
 *
 * @throws UsageError when the file cannot be read or is not a JSON object.
 */
export function readConfigFile(filePath: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return {};
    }
    throw new UsageError(`cannot read the config file ${filePath}: ${(error as Error).message}`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${filePath} is not valid JSON (${(error as Error).message}); fix or delete it`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`config file ${filePath} must contain a JSON object such as {"apiUrl": "${DEFAULT_API_URL}"}`);
  }
  return parsed as ConfigFile;
}

/**
 * Writes the config file with mode 0600, because it may hold an API key.
 * It writes a temporary file and renames it, so an interrupted write leaves the old file intact.
 */
export function writeConfigFile(filePath: string, config: ConfigFile): void {
  mkdirSync(path.dirname(filePath), { recursive: true, mode: 0o700 });
  const temporaryPath = `${filePath}.${process.pid}.tmp`;
  writeFileSync(temporaryPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporaryPath, filePath);
}

/**
 * Resolves the API URL and key from the `--api-url` option, the environment and the config file.
 * An empty environment variable counts as unset. The API key comes from DOORBELL_API_KEY, else
 * `apiKey` in the config file, else, only for an API on a loopback address, the local admin key
 * that `npm start` wrote to `localKeyFile`, so that key never leaves the machine.
 *
 * @throws UsageError when the chosen API URL is not an absolute http or https URL, or the config file is invalid.
 */
export function resolveSettings(options: { apiUrl?: string | undefined }, env: NodeJS.ProcessEnv, localKeyFile = LOCAL_ADMIN_KEY_FILE): Settings {
  const configPath = configFilePath(env);
  const { apiUrl, apiUrlSource, file } = resolveApiUrl(options, env, configPath);
  const { apiKey, apiKeySource } = resolveApiKey(env, file ?? readConfigFile(configPath), configPath, apiUrl, localKeyFile);
  return { apiUrl, apiUrlSource, apiKey, apiKeySource, configPath };
}

function resolveApiUrl(options: { apiUrl?: string | undefined }, env: NodeJS.ProcessEnv, configPath: string): { apiUrl: string; apiUrlSource: ApiUrlSource; file?: ConfigFile } {
  const fromOption = nonEmpty(options.apiUrl);
  if (fromOption !== undefined) {
    return { apiUrl: normalizeApiUrl(fromOption, '--api-url'), apiUrlSource: '--api-url' };
  }
  const fromEnvironment = nonEmpty(env.DOORBELL_API_URL);
  if (fromEnvironment !== undefined) {
    return { apiUrl: normalizeApiUrl(fromEnvironment, 'DOORBELL_API_URL'), apiUrlSource: 'DOORBELL_API_URL' };
  }
  const file = readConfigFile(configPath);
  const fromFile = file.apiUrl;
  if (fromFile !== undefined) {
    if (typeof fromFile !== 'string') {
      throw new UsageError(`apiUrl in the config file ${configPath} must be a string`);
    }
    return { apiUrl: normalizeApiUrl(fromFile, `apiUrl in ${configPath}`), apiUrlSource: 'config file', file };
  }
  return { apiUrl: DEFAULT_API_URL, apiUrlSource: 'default', file };
}

function resolveApiKey(env: NodeJS.ProcessEnv, file: ConfigFile, configPath: string, apiUrl: string, localKeyFile: string): { apiKey: string | undefined; apiKeySource: ApiKeySource } {
  const fromEnvironment = nonEmpty(env.DOORBELL_API_KEY);
  if (fromEnvironment !== undefined) {
    return { apiKey: fromEnvironment, apiKeySource: 'DOORBELL_API_KEY' };
  }
  if (file.apiKey !== undefined) {
    if (typeof file.apiKey !== 'string' || file.apiKey === '') {
      throw new UsageError(`apiKey in the config file ${configPath} must be a non-empty string`);
    }
    return { apiKey: file.apiKey, apiKeySource: 'config file' };
  }
  if (isLoopbackHost(new URL(apiUrl).hostname)) {
    const local = readLocalKey(localKeyFile);
    if (local !== undefined) {
      return { apiKey: local, apiKeySource: 'local admin key' };
    }
  }
  return { apiKey: undefined, apiKeySource: 'none' };
}

function readLocalKey(filePath: string): string | undefined {
  try {
    return nonEmpty(readFileSync(filePath, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new UsageError(`cannot read the local admin key ${filePath}: ${(error as Error).message}`);
  }
}

/**
 * Checks that a value is an absolute http or https URL without credentials, and returns it
 * without a trailing slash, so API paths can be appended.
 *
 * @throws UsageError naming `source` when the value is not such a URL.
 */
export function normalizeApiUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source}: invalid API URL ${JSON.stringify(value)}; expected an absolute URL such as ${DEFAULT_API_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source}: the API URL must use http or https, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(`${source}: the API URL must not contain a username or password; set DOORBELL_API_KEY instead`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`${source}: the API URL must not have a query or fragment, got ${JSON.stringify(value)}`);
  }
  return url.href.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
