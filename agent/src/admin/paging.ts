/** One page of a listing: `offset` rows skipped, at most `limit` returned. */
export interface PageRequest {
  readonly offset: number;
  readonly limit: number;
}

/** The rows of one page and how many rows the whole listing has right now. */
export interface Page<T> {
  readonly total: number;
  readonly rows: readonly T[];
}

export const DEFAULT_PAGE_LIMIT = 1000;
export const MAX_PAGE_LIMIT = 10_000;

const DIGITS = /^\d{1,9}$/;

/**
 * Reads `?limit=&cursor=` (pure). The cursor is the `nextCursor` of the previous page; it is an
 * offset into the listing, so rows added or removed between two requests can shift a row onto
 * the next page or skip one (a live view, not a snapshot). `undefined` for values that are not
 * whole numbers in range.
 */
export function parsePage(limit: string | undefined, cursor: string | undefined): PageRequest | undefined {
  const l = limit === undefined ? DEFAULT_PAGE_LIMIT : DIGITS.test(limit) ? Number(limit) : Number.NaN;
  const o = cursor === undefined ? 0 : DIGITS.test(cursor) ? Number(cursor) : Number.NaN;
  if (!(l >= 1 && l <= MAX_PAGE_LIMIT) || !(o >= 0)) return undefined;
  return { offset: o, limit: l };
}

/** The page of an in-memory list (pure). */
export function pageOf<T>(all: readonly T[], page: PageRequest): Page<T> {
  return { total: all.length, rows: all.slice(page.offset, page.offset + page.limit) };
}

/** The JSON body of a page: `total`, `count` (rows on this page), the rows, `nextCursor` (null at the end). */
export function pageBody<K extends string, T>(
  key: K,
  page: Page<T>,
  request: PageRequest,
): { total: number; count: number; nextCursor: string | null } & Record<K, readonly T[]> {
  const next = request.offset + page.rows.length;
  return {
    total: page.total,
    count: page.rows.length,
    nextCursor: page.rows.length > 0 && next < page.total ? String(next) : null,
    [key]: page.rows,
  } as { total: number; count: number; nextCursor: string | null } & Record<K, readonly T[]>;
}

/**
 * A page cut from the first `offset + limit` rows of a listing that can only be read from its
 * start (the proxy's calls, the media sessions), with the listing's size counted separately.
 */
export function pageFromFirst<T>(total: number, first: readonly T[], page: PageRequest): Page<T> {
  return { total: Math.max(total, first.length), rows: first.slice(page.offset, page.offset + page.limit) };
}
