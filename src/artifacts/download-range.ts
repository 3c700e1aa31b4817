import type { ByteRange } from '../storage/object-storage';

/**
 * What a download answers, decided from the request's conditional and range headers (RFC 9110
 * §13 and §14) and the file's recorded size and digest, before any byte is read from the store:
 * - 304: `If-None-Match` names the file's ETag (weak comparison) or is `*`;
 * - 206: one satisfiable `Range: bytes=...` (and `If-Range`, when sent, is the ETag);
 * - 416: one `Range` that no byte of the file satisfies;
 * - 200: everything else, the whole file. A malformed `Range`, several ranges, another unit,
 *   or an `If-Range` that is not the current strong ETag (a date too: no Last-Modified is
 *   sent) are ignored, as RFC 9110 §14.2 allows, so the client gets the whole file.
 */
export type DownloadPlan =
  { status: 200 } | { status: 206; range: ByteRange } | { status: 304 } | { status: 416 };

/** The strong ETag of a file: its SHA-256, so equal bytes have equal tags wherever they are. */
export const etagOf = (sha256: string): string => `"sha256-${sha256}"`;

/** The request header fields a download plan depends on, as sent. */
export interface DownloadConditions {
  ifNoneMatch?: string;
  range?: string;
  ifRange?: string;
}

export function planDownload(
  { ifNoneMatch, range, ifRange }: DownloadConditions,
  size: number,
  etag: string,
): DownloadPlan {
  // If-None-Match is evaluated before Range (RFC 9110 §13.2.2): the client's copy is current.
  if (ifNoneMatch !== undefined && isNotModified(ifNoneMatch, etag)) return { status: 304 };
  if (range === undefined) return { status: 200 };
  // If-Range compares strongly: only the very same bytes may be completed by a part.
  if (ifRange !== undefined && ifRange.trim() !== etag) return { status: 200 };
  const selected = parseRange(range, size);
  if (selected === 'ignored') return { status: 200 };
  if (selected === 'unsatisfiable') return { status: 416 };
  return { status: 206, range: selected };
}

/**
 * Whether `If-None-Match` matches the current ETag, which makes the answer 304: `*` (the file
 * exists), or a list of entity-tags one of which equals it by weak comparison (`W/` ignored,
 * RFC 9110 §8.8.3.2). A field that is not a well-formed list matches nothing.
 */
export function isNotModified(field: string, etag: string): boolean {
  if (field.trim() === '*') return true;
  const tags = opaqueTags(field);
  return tags !== undefined && tags.includes(etag);
}

/**
 * The opaque tags (quotes included) of a list of entity-tags; undefined when malformed. Read
 * element by element rather than split on commas: a quoted tag may itself hold a comma.
 */
function opaqueTags(field: string): string[] | undefined {
  const element = /[ \t]*(?:(?:W\/)?("[\x21\x23-\x7e\x80-\xff]*"))?[ \t]*(,|$)/y;
  const tags: string[] = [];
  for (let at = 0; at < field.length;) {
    element.lastIndex = at;
    const match = element.exec(field);
    if (match === null) return undefined;
    // Empty elements are allowed in a list (RFC 9110 §5.6.1).
    if (match[1] !== undefined) tags.push(match[1]);
    if (match[2] === '') break;
    at = element.lastIndex;
  }
  return tags.length > 0 ? tags : undefined;
}

const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;

/**
 * The one byte range a `Range` field selects in a file of `size` bytes (RFC 9110 §14.1.2):
 * `bytes=a-b` (b clamped to the last byte), `bytes=a-`, `bytes=-n` (the last n bytes, the whole
 * file when n >= size). 'unsatisfiable' when it starts at or past the end, or is `bytes=-0`.
 * 'ignored' for anything the service does not serve as a part: a malformed field, another
 * unit, `b < a`, several ranges (a multipart/byteranges answer is not worth its complexity for
 * model files: clients resuming a download ask for one range), and a suffix range of an empty
 * file (satisfiable by RFC 9110 §14.1.1, yet no Content-Range can describe zero bytes).
 */
export function parseRange(field: string, size: number): ByteRange | 'unsatisfiable' | 'ignored' {
  const equals = field.indexOf('=');
  if (equals < 0 || field.slice(0, equals).trim().toLowerCase() !== 'bytes') return 'ignored';
  const specs = field
    .slice(equals + 1)
    .split(',')
    .map((spec) => spec.trim())
    .filter((spec) => spec !== '');
  if (specs.length !== 1) return 'ignored';
  const spec = specs[0];
  const int = INT_RANGE.exec(spec);
  if (int !== null) {
    const first = Number(int[1]);
    const last = int[2] === '' ? Number.POSITIVE_INFINITY : Number(int[2]);
    if (last < first) return 'ignored';
    if (first >= size) return 'unsatisfiable';
    return { start: first, end: Math.min(last, size - 1) };
  }
  const suffix = SUFFIX_RANGE.exec(spec);
  if (suffix !== null) {
    const length = Number(suffix[1]);
    if (length === 0) return 'unsatisfiable';
    if (size === 0) return 'ignored';
    return { start: Math.max(size - length, 0), end: size - 1 };
  }
  return 'ignored';
}

/** `Content-Range`: `bytes a-b/size` for a 206; for a 416, an asterisk in place of `a-b`. */
export function contentRange(size: number, range?: ByteRange): string {
  return range === undefined ? `bytes */${size}` : `bytes ${range.start}-${range.end}/${size}`;
}
