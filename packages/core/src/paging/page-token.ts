import { invalidArgument } from '@trainyard/contracts/errors';
import { defaultPageSize, maxPageSize } from '@trainyard/contracts/pagination';

/** Opaque keyset tokens: the last key of the previous page, so pages stay stable under inserts. */
export function encodePageToken(lastKey: string): string {
  return Buffer.from(JSON.stringify({ k: lastKey }), 'utf8').toString('base64url');
}

export function decodePageToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed.k === 'string') return parsed.k;
  } catch {
    // fall through to the error below
  }
  throw invalidArgument('pageToken', 'is not a token returned by a previous page');
}

export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return defaultPageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw invalidArgument('limit', `must be an integer from 1 to ${maxPageSize}`);
  }
  return limit;
}

/** Cuts a result fetched with `size + 1` rows into a page and the token of the next. */
export function toPage<T>(
  rows: T[],
  size: number,
  keyOf: (row: T) => string,
): { items: T[]; nextPageToken?: string } {
  if (rows.length <= size) return { items: rows };
  const items = rows.slice(0, size);
  const last = items[items.length - 1];
  return last === undefined ? { items } : { items, nextPageToken: encodePageToken(keyOf(last)) };
}
