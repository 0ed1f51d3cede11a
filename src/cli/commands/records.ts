/** `doorbell put` and `doorbell get`: write and read records. */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import type { RecordWritten, StoredRecord } from '../api-types.js';
import { parseBodySource, parseRecordPath, type BodySource, type RecordKey } from '../arguments.js';
import { commandContext } from '../context.js';
import { CliError } from '../errors.js';
import { indentJson } from '../output.js';

export function registerRecordCommands(program: Command): void {
  program
    .command('put')
    .description('Write a record: store a JSON object as its next version, which sends a webhook to its subscribers.')
    .argument('<kind/id>', 'the record, such as products/p21', parseRecordPath)
    .argument('<body>', 'the record as a JSON object: inline JSON, @FILE to read a file, or - to read standard input', parseBodySource)
    .addHelpText('after', '\nThe body is sent byte for byte as read, so key order and large integers reach receivers unchanged.')
    .action(async (record: RecordKey, source: BodySource, _options: unknown, command: Command) => {
      const { api, output } = commandContext(command);
      const body = validateRecordBody(await readBody(source), describeSource(source));

      const written = await api.request<RecordWritten>('PUT', recordUrlPath(record), { body });
      if (output.json) {
        output.jsonLine(written);
        return;
      }
      const verb = written.version === 1 ? 'Created' : 'Updated';
      output.line(`${verb} ${written.kind}/${written.id} version ${written.version} (event ${written.eventId}).`);
    });

  program
    .command('get')
    .description('Read the latest version of a record.')
    .argument('<kind/id>', 'the record, such as products/p21', parseRecordPath)
    .action(async (record: RecordKey, _options: unknown, command: Command) => {
      const { api, output } = commandContext(command);
      const stored = await api.request<StoredRecord>('GET', recordUrlPath(record));
      if (output.json) {
        output.jsonLine(stored);
        return;
      }
      output.line(`${stored.kind}/${stored.id} version ${stored.version}, updated ${stored.updatedAt}, created ${stored.createdAt}, event ${stored.eventId}`);
      output.line(indentJson(stored.data, 0));
    });
}

function recordUrlPath(record: RecordKey): string {
  return `/v1/records/${encodeURIComponent(record.kind)}/${encodeURIComponent(record.id)}`;
}

async function readBody(source: BodySource): Promise<string> {
  switch (source.from) {
    case 'argument':
      return source.text;
    case 'stdin':
      return text(process.stdin);
    case 'file':
      try {
        return await readFile(source.path, 'utf8');
      } catch (error) {
        throw new CliError(`cannot read the record body from ${source.path}: ${(error as Error).message}`);
      }
  }
}

function describeSource(source: BodySource): string {
  switch (source.from) {
    case 'argument':
      return 'the body argument';
    case 'stdin':
      return 'standard input';
    case 'file':
      return source.path;
  }
}

/**
 * Checks that a record body is a JSON object and returns it trimmed, as the API stores it. The
 * API checks this too; checking first names the file or stream in the message.
 *
 * @throws CliError (exit code 1) when the text is not JSON or not an object.
 */
export function validateRecordBody(body: string, origin: string): string {
  const trimmed = body.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    throw new CliError(`the record body in ${origin} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`the record body in ${origin} must be a JSON object such as {"name":"Mug"}`);
  }
  return trimmed;
}
