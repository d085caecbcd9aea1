import { z } from 'zod';

/** Page sizes of every list: the REST contract and the stores read these same numbers. */
export const defaultPageSize = 100;
export const maxPageSize = 1000;

/** Query of every list route: an opaque token from the previous page and a page size (1..1000, default 100). */
export const PageQuery = z.object({
  pageToken: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(maxPageSize).default(defaultPageSize),
});
export type PageQuery = z.input<typeof PageQuery>;

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextPageToken: z.string().optional() });
}

/** A page as stores return it. `nextPageToken` is absent on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}
