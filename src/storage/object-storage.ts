import type { Readable } from 'node:stream';

/** Bytes `start` to `end` of an object, both inclusive (HTTP's `bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The one port to the object store. Keys are '/'-separated relative paths
 * (`<tenant>/artifacts/<artifact_id>/<file>`). Implementations: a directory on the local disk
 * (embedded default, `FilesystemObjectStorage`) and, with MLFLOW_ARTIFACT_ROOT=s3://..., an
 * S3-compatible store (`S3ObjectStorage`).
 * Both pass the contract suite in `object-storage.contract.ts`.
 *
 * Errors: RegistryError with ARTIFACT_FILE_NOT_FOUND for a missing object and
 * BACKEND_UNAVAILABLE when the store cannot be reached.
 */
export abstract class ObjectStorage {
  /**
   * Streams `body` into the object at `key`. The object becomes visible only once every byte is
   * stored: a failed or aborted write leaves nothing at `key`. Overwrites an existing object.
   */
  abstract put(
    key: string,
    body: Readable,
    options?: { contentType?: string },
  ): Promise<{ size: number }>;

  /**
   * A stream of the object's bytes; with `range`, of bytes `range.start` to `range.end` (both
   * inclusive, as in an HTTP Range), read as such from the store: the bytes outside the range
   * are never transferred (a resumed 10 GiB download must not cost a 10 GiB read).
   * The caller asks for a range inside the size it recorded. Should the object be shorter, a
   * range reaching past its end gives the bytes up to the end, and one starting at or past the
   * end an empty stream, not an error: the caller counts what it receives. A missing object is
   * ARTIFACT_FILE_NOT_FOUND, ranged or not; a range that is not one (negative, fractional,
   * `end < start`) is a bug and throws.
   */
  abstract get(key: string, range?: ByteRange): Promise<Readable>;

  /** The object's size, or null when it does not exist. */
  abstract stat(key: string): Promise<{ size: number } | null>;

  /**
   * Copies the object at `fromKey` to `toKey` inside the store (no bytes pass through the
   * service), overwriting `toKey`. Like `put`, the destination becomes visible only complete: a
   * failed copy leaves `toKey` as it was. ARTIFACT_FILE_NOT_FOUND when `fromKey` does not exist.
   * `size`: the source's size when the caller knows it (an artifact's recorded file size), which
   * spares a store that needs it (S3: one request or parts) a lookup.
   */
  abstract copy(fromKey: string, toKey: string, size?: number): Promise<void>;

  /** Deletes every object under `prefix` (a key prefix ending in '/'). Idempotent. */
  abstract deletePrefix(prefix: string): Promise<void>;

  /**
   * Deletes the objects with these keys (one request where the store takes a batch, instead of
   * a listing and a deletion); keys that do not exist are fine. A folder the deletion leaves
   * empty goes too, where the store has folders.
   */
  abstract deleteObjects(keys: readonly string[]): Promise<void>;

  /**
   * Removes what writes cut off by a crash left in the store (a filesystem's temporary files,
   * S3's incomplete multipart uploads), never a stored object and never a write this instance
   * has in progress. Only writes older than `olderThanMs` go; 0 removes every one. The caller
   * picks the age, since only it knows whether another process may be writing meanwhile.
   * Returns how many were removed.
   */
  abstract sweepAbandonedWrites(olderThanMs: number): Promise<number>;

  /** The URI clients see for an object, e.g. file:///data/artifacts/... or s3://bucket/... */
  abstract uri(key: string): string;

  /** Readiness: resolves when the store answers. */
  abstract ping(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Keys are built by the service from validated ids; this is the last line of defence. */
export function assertSafeKey(key: string, { prefix = false } = {}): void {
  const body = prefix ? key.replace(/\/$/, '') : key;
  const segments = body.split('/');
  if (segments.length === 0 || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    throw new Error(`unsafe object key '${key}'`);
  }
  if (prefix && !key.endsWith('/')) throw new Error(`prefix '${key}' must end with '/'`);
}

/** A range handed to `get` is one: whole non-negative offsets, `start <= end`. */
export function assertByteRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new Error(`invalid byte range ${start}-${end}`);
  }
}
