import { RegistryError } from '../common/errors/registry-error';

/** How a model search orders: by name (A→Z), or most recently updated first, ties by name. */
export type ModelOrder = 'name' | 'last_updated';
export const MODEL_ORDERS: readonly ModelOrder[] = ['name', 'last_updated'];

export interface ModelSearchQuery {
  maxResults: number;
  /** From the previous page of the same query (same `nameLike` and `orderBy`). */
  pageToken?: string;
  /**
   * MLflow's `name LIKE` on the tenant's model names, case-sensitive: `%` any run of
   * characters, `_` one character; a backslash makes the next `%`, `_` or `\` literal.
   */
  nameLike?: string;
  /** Default `name`. */
  orderBy?: ModelOrder;
}

// ---- LIKE patterns ----

type LikePart = { kind: 'any' } | { kind: 'one' } | { kind: 'char'; char: string };

/** A LIKE pattern as its parts; a backslash escapes the character after it. */
function likeParts(pattern: string): LikePart[] {
  const parts: LikePart[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (i + 1 === pattern.length) {
        throw RegistryError.validation('name_like may not end with an escaping backslash');
      }
      parts.push({ kind: 'char', char: pattern[++i] });
    } else if (c === '%') parts.push({ kind: 'any' });
    else if (c === '_') parts.push({ kind: 'one' });
    else parts.push({ kind: 'char', char: c });
  }
  return parts;
}

/** Whether `name` matches the LIKE `pattern` (whole name, case-sensitive, as MLflow's LIKE). */
export function likeMatches(pattern: string, name: string): boolean {
  const source = likeParts(pattern)
    .map((p) =>
      p.kind === 'any'
        ? '[\\s\\S]*'
        : p.kind === 'one'
          ? '[\\s\\S]'
          : p.char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`, 'u').test(name);
}

/**
 * The pattern as SQLite GLOB, which is case-sensitive where SQLite's LIKE is not (for ASCII):
 * `%` → `*`, `_` → `?`, and GLOB's own `*`, `?`, `[` as one-character classes.
 */
export function likeToGlob(pattern: string): string {
  return likeParts(pattern)
    .map((p) =>
      p.kind === 'any'
        ? '*'
        : p.kind === 'one'
          ? '?'
          : /[*?[]/.test(p.char)
            ? `[${p.char}]`
            : p.char,
    )
    .join('');
}

/**
 * The pattern for a LIKE without an escape character (MLflow's filter: SQLAlchemy's `like()`
 * sends none, so a backslash is an escape on PostgreSQL and MySQL and a plain character on
 * SQLite and SQL Server): escaped `_` becomes the wildcard `_` (matching more; the caller
 * filters the answer with likeMatches). Null when no model name can match (`%`, `\` or
 * anything else outside names' characters taken literally).
 */
export function likeWithoutEscapes(pattern: string): string | null {
  let out = '';
  for (const p of likeParts(pattern)) {
    if (p.kind === 'any') out += '%';
    else if (p.kind === 'one' || p.char === '_') out += '_';
    else if (/^[A-Za-z0-9.-]$/.test(p.char)) out += p.char;
    else return null;
  }
  return out;
}

// ---- page tokens ----

/** Where a page ended: the last model it went through. */
export interface SearchCursor {
  name: string;
  lastUpdatedAt: number;
  /** Where that model stood in the backend's own listing, for a backend that pages by offset. */
  position?: number;
}

interface TokenBody {
  v: 1;
  /** The query the token belongs to. */
  l: string | null;
  o: ModelOrder;
  n: string;
  t: number;
  p?: number;
}

export function encodeSearchToken(query: ModelSearchQuery, cursor: SearchCursor): string {
  const body: TokenBody = {
    v: 1,
    l: query.nameLike ?? null,
    o: query.orderBy ?? 'name',
    n: cursor.name,
    t: cursor.lastUpdatedAt,
    ...(cursor.position !== undefined ? { p: cursor.position } : {}),
  };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

const notIssued = () => RegistryError.validation('page_token is not a token this service issued');

function parseToken(token: string): TokenBody {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) throw notIssued();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw notIssued();
  }
  const b = body as Partial<TokenBody> | null;
  const safeCount = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (
    typeof b !== 'object' ||
    b === null ||
    b.v !== 1 ||
    !(b.l === null || typeof b.l === 'string') ||
    !MODEL_ORDERS.includes(b.o as ModelOrder) ||
    typeof b.n !== 'string' ||
    !safeCount(b.t) ||
    !(b.p === undefined || safeCount(b.p))
  ) {
    throw notIssued();
  }
  return b as TokenBody;
}

/**
 * The cursor of `query.pageToken` (undefined without one). A token of another query is a 400
 * naming the parameter that differs: its position means nothing in another listing.
 */
export function decodeSearchToken(query: ModelSearchQuery): SearchCursor | undefined {
  if (query.pageToken === undefined) return undefined;
  const body = parseToken(query.pageToken);
  const order = query.orderBy ?? 'name';
  if (body.o !== order) {
    throw RegistryError.validation(
      `page_token belongs to a listing with order_by=${body.o}, not order_by=${order}; ` +
        'repeat that order_by or start again without page_token',
    );
  }
  const like = query.nameLike ?? null;
  if (body.l !== like) {
    const was = body.l === null ? 'without name_like' : `with name_like=${body.l}`;
    throw RegistryError.validation(
      `page_token belongs to a listing ${was}; ` +
        'repeat that name_like or start again without page_token',
    );
  }
  return {
    name: body.n,
    lastUpdatedAt: body.t,
    ...(body.p !== undefined ? { position: body.p } : {}),
  };
}

/** Whether a model (name, last update) comes after the cursor in `order` (code point order). */
export function isAfter(
  order: ModelOrder,
  model: { name: string; lastUpdatedAt: number },
  cursor: SearchCursor,
): boolean {
  if (order === 'last_updated' && model.lastUpdatedAt !== cursor.lastUpdatedAt) {
    return model.lastUpdatedAt < cursor.lastUpdatedAt;
  }
  return model.name > cursor.name;
}
