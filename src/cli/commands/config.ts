/** `doorbell config`: read and write the CLI's config file. */
import { Argument, type Command } from 'commander';
import { createOutput } from '../output.js';
import { CONFIG_KEYS, configFilePath, normalizeApiUrl, readConfigFile, resolveSettings, writeConfigFile, type ConfigKey } from '../settings.js';
import type { GlobalOptions } from '../context.js';

const keyArgument = (): Argument => new Argument('<key>', 'the setting: api-url').choices(Object.keys(CONFIG_KEYS));

export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description('Read or write the config file: DOORBELL_CONFIG, else ~/.config/doorbell/config.json.');

  config
    .command('set')
    .description('Store a setting in the config file.')
    .addArgument(keyArgument())
    .argument('<value>', 'the value, such as http://127.0.0.1:3000 for api-url')
    .action((key: ConfigKey, value: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const output = createOutput(options.json === true);
      const configPath = configFilePath(process.env);
      const file = readConfigFile(configPath);
      const apiUrl = normalizeApiUrl(value, key);
      writeConfigFile(configPath, { ...file, [CONFIG_KEYS[key]]: apiUrl });

      if (output.json) {
        output.jsonLine({ key, value: apiUrl, configPath });
        return;
      }
      output.line(`Set ${key} to ${apiUrl} in ${configPath}.`);
      if (process.env.DOORBELL_API_URL) {
        output.note('Note: DOORBELL_API_URL is set and takes precedence over the config file.');
      }
    });

  config
    .command('get')
    .description('Show the value a setting has now, and where it comes from: --api-url, DOORBELL_API_URL, the config file or the default.')
    .addArgument(keyArgument())
    .action((key: ConfigKey, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const output = createOutput(options.json === true);
      const settings = resolveSettings({ apiUrl: options.apiUrl }, process.env);

      if (output.json) {
        output.jsonLine({ key, value: settings.apiUrl, source: settings.apiUrlSource, configPath: settings.configPath });
        return;
      }
      output.line(`${settings.apiUrl} (from ${settings.apiUrlSource}; config file ${settings.configPath})`);
    });
}
