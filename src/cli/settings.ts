/**
 * Settings of the CLI: the API URL, taken from the command-line option, then the environment,
 * then the config file, then the default of a local `npm start`, and the API key.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** The keys `doorbell config set` accepts, with the config file property each one sets. */
export const CONFIG_KEYS = { 'api-url': 'apiUrl' } as const;
export type ConfigKey = keyof typeof CONFIG_KEYS;

/** The config file's contents. Unknown properties are kept when the file is rewritten. */
export interface ConfigFile {
  apiUrl?: string;
  [property: string]: unknown;
}

export type ApiUrlSource = '--api-url' | 'DOORBELL_API_URL' | 'config file' | 'default';

export interface Settings {
  apiUrl: string;
  apiUrlSource: ApiUrlSource;
  /**
   * Sent as `Authorization: Bearer` on every request when set. The API has no API keys yet, so
   * the only source is DOORBELL_API_KEY; a config file entry would be read here once keys exist.
   */
  apiKey: string | undefined;
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
 * Writes the config file with mode 0600, because it may hold an API key once the API has keys.
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
 * An empty environment variable counts as unset.
 *
 * @throws UsageError when the chosen API URL is not an absolute http or https URL, or the config file is invalid.
 */
export function resolveSettings(options: { apiUrl?: string | undefined }, env: NodeJS.ProcessEnv): Settings {
  const configPath = configFilePath(env);
  const apiKey = nonEmpty(env.DOORBELL_API_KEY);

  const fromOption = nonEmpty(options.apiUrl);
  if (fromOption !== undefined) {
    return { apiUrl: normalizeApiUrl(fromOption, '--api-url'), apiUrlSource: '--api-url', apiKey, configPath };
  }
  const fromEnvironment = nonEmpty(env.DOORBELL_API_URL);
  if (fromEnvironment !== undefined) {
    return { apiUrl: normalizeApiUrl(fromEnvironment, 'DOORBELL_API_URL'), apiUrlSource: 'DOORBELL_API_URL', apiKey, configPath };
  }
  const fromFile = readConfigFile(configPath).apiUrl;
  if (fromFile !== undefined) {
    if (typeof fromFile !== 'string') {
      throw new UsageError(`apiUrl in the config file ${configPath} must be a string`);
    }
    return { apiUrl: normalizeApiUrl(fromFile, `apiUrl in ${configPath}`), apiUrlSource: 'config file', apiKey, configPath };
  }
  return { apiUrl: DEFAULT_API_URL, apiUrlSource: 'default', apiKey, configPath };
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
