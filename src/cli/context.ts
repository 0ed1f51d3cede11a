/** The context every command runs in: the resolved settings, an API client and the output. */
import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { createOutput, type Output } from './output.js';
import { resolveSettings, type Settings } from './settings.js';

/** The options defined on the program, which every command accepts. */
export interface GlobalOptions {
  apiUrl?: string;
  json?: boolean;
  timeout: number;
}

export interface CommandContext {
  settings: Settings;
  api: ApiClient;
  output: Output;
}

/**
 * Builds the context of a running command from its options and the environment.
 *
 * @throws UsageError when the API URL or the config file is invalid.
 */
export function commandContext(command: Command, env: NodeJS.ProcessEnv = process.env): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const settings = resolveSettings({ apiUrl: options.apiUrl }, env);
  return {
    settings,
    api: new ApiClient({ baseUrl: settings.apiUrl, apiKey: settings.apiKey, timeoutMs: options.timeout }),
    output: createOutput(options.json === true),
  };
}

/**
 * Returns a promise that resolves on the first SIGINT or SIGTERM, and a function that stops
 * listening for them. Later signals are caught too until `dispose` is called, so a caller that
 * needs a second Ctrl-C to exit installs its own handler before calling it.
 */
export function waitForStopSignal(): { stopped: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = (): void => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    dispose = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  });
  return { stopped, dispose };
}
