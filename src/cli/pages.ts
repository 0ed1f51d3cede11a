/** Reading list endpoints one page at a time or to the end. */
import { Option } from 'commander';
import type { ApiClient } from './api-client.js';
import type { Page } from './api-types.js';
import { integerInRange } from './arguments.js';

/** Options every list command has. */
export interface PageOptions {
  limit: number;
  cursor?: string;
  all?: boolean;
}

/** Fetches one page, or with `all` every page from the cursor on, and returns them as one page. */
export async function fetchPages<T>(api: ApiClient, path: string, filters: Record<string, string | undefined>, options: PageOptions): Promise<Page<T>> {
  const data: T[] = [];
  let cursor = options.cursor;
  for (;;) {
    const page = await api.request<Page<T>>('GET', path, { query: { ...filters, limit: options.limit, cursor } });
    data.push(...page.data);
    if (options.all !== true || page.nextCursor === null) {
      return { data, nextCursor: page.nextCursor };
    }
    cursor = page.nextCursor;
  }
}

/** Creates the `--limit` option of list commands: items per page, within the API's range. */
export function pageLimitOption(): Option {
  return new Option('--limit <count>', 'items per page, 1 to 100').default(50).argParser(integerInRange(1, 100, 'an integer number of items'));
}
