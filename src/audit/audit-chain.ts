import { createHash } from 'node:crypto';
import type { HistoryTable } from '../database/schema';

/**
 * The hash chain over a tenant's history: each entry's `hash` is
 * `sha256(prev_hash + canonicalJson(entry))` in lowercase hex, `prev_hash` being the hash of
 * the tenant's previous entry (`seq - 1`), or GENESIS_HASH for its first. The one definition of
 * it: the repository appends with it, the migration chained the rows from before it with it,
 * and verification recomputes it. README "Audit chain" shows the same in a few lines of Python.
 */

/** The `prev_hash` of a tenant's first entry (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The fields an entry's hash covers: every column of `history` but the database id and the
 * hash itself. Frozen: a column added later would change the canonical JSON (and so the hash)
 * of every entry before it, so new facts go into `details` instead.
 */
export const CHAINED_FIELDS = [
  'tenant_id',
  'seq',
  'prev_hash',
  'model_name',
  'model_uid',
  'version',
  'event',
  'from_stage',
  'to_stage',
  'actor',
  'actor_tenant',
  'at',
  'comment',
  'approval_id',
  'requested_by',
  'requested_by_tenant',
  'approved_by',
  'approved_by_tenant',
  'details',
] as const;

export type ChainedField = (typeof CHAINED_FIELDS)[number];

/** An entry as hashed: text, integers and nulls only. */
export type ChainedEntry = Record<ChainedField, string | number | null>;

// A compile-time check that CHAINED_FIELDS names every column but `id` and `hash`: adding a
// column to HistoryTable fails here until someone decides what the chain does with it.
type Unchained = Exclude<keyof HistoryTable, 'id' | 'hash' | ChainedField>;
const everyColumnChained: [Unchained] extends [never] ? true : Unchained = true;
void everyColumnChained;

const INTEGER_FIELDS: ReadonlySet<ChainedField> = new Set(['seq', 'version', 'at']);

/**
 * The canonical JSON of an entry: an object with exactly the CHAINED_FIELDS, keys sorted by
 * code point, no whitespace; integers as JSON numbers, text as JSON strings (escaped as
 * JSON.stringify does: `"`, `\`, and control characters only; other characters as themselves,
 * then UTF-8), a missing or null value as `null`. `details` is hashed as the text stored, not
 * re-serialized. Throws for a value that is not text, a safe integer or null: such an entry
 * must not be written, since its hash could not be recomputed elsewhere.
 */
export function canonicalJson(entry: Partial<Record<ChainedField, unknown>>): string {
  const sorted = [...CHAINED_FIELDS].sort();
  const parts = sorted.map((field) => {
    const value = entry[field] ?? null;
    if (value !== null) {
      const ok = INTEGER_FIELDS.has(field)
        ? typeof value === 'number' && Number.isSafeInteger(value)
        : typeof value === 'string';
      if (!ok) {
        throw new TypeError(
          `history entry field ${field} must be ${INTEGER_FIELDS.has(field) ? 'an integer' : 'text'} or null, not ${typeof value}`,
        );
      }
    }
    return `${JSON.stringify(field)}:${JSON.stringify(value)}`;
  });
  return `{${parts.join(',')}}`;
}

/** sha256(prev_hash + canonical JSON of the entry), lowercase hex. */
export function entryHash(entry: Partial<Record<ChainedField, unknown>>): string {
  const prev = entry.prev_hash;
  if (typeof prev !== 'string') throw new TypeError('history entry field prev_hash must be text');
  return createHash('sha256')
    .update(prev + canonicalJson(entry), 'utf8')
    .digest('hex');
}

/** The tenant's chain head: its last entry's seq and hash (0 and GENESIS_HASH before any). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** The first entry that does not hold, and why, in a sentence. */
export interface ChainBreak {
  /** The entry's database id; null when the break is after the last entry and none is left. */
  id: number | null;
  reason: string;
}

/** A stored entry as verification reads it. */
export type StoredEntry = Partial<Record<ChainedField, unknown>> & {
  id: number;
  seq: number | null;
  prev_hash: string | null;
  hash: string | null;
};

/**
 * Walks one tenant's entries in seq order, one at a time (callers stream them in pages, so
 * memory stays bounded whatever the history's length), and tells the first that breaks the
 * chain: a gap in seq (entries deleted), a prev_hash not the previous entry's hash (an entry
 * removed or rewritten before it), or a hash that is not the entry's (the entry edited).
 */
export class ChainVerifier {
  private last: ChainHead = EMPTY_HEAD;
  private lastId: number | null = null;
  private count = 0;

  /** Entries checked and sound so far. */
  get entries(): number {
    return this.count;
  }

  /** The hash of the last sound entry; null before any. */
  get head(): string | null {
    return this.count === 0 ? null : this.last.hash;
  }

  /** Checks the next entry; a break, or null when it holds. */
  next(entry: StoredEntry): ChainBreak | null {
    const id = Number(entry.id);
    const expected = this.last.seq + 1;
    if (entry.seq !== expected) {
      const after = this.lastId === null ? 'at the start' : `after entry ${this.lastId}`;
      return {
        id,
        reason:
          entry.seq === null
            ? `entry ${id} has no seq: it was not written by the chain`
            : `gap in seq: entry ${id} has seq ${entry.seq}, expected ${expected} ${after} ` +
              `(${Number(entry.seq) - expected} entries deleted)`,
      };
    }
    if (entry.prev_hash !== this.last.hash) {
      return {
        id,
        reason:
          `broken link: entry ${id} (seq ${expected}) has prev_hash ${String(entry.prev_hash)}, ` +
          `but the previous entry's hash is ${this.last.hash}`,
      };
    }
    let computed: string;
    try {
      computed = entryHash(entry);
    } catch (err) {
      return { id, reason: `entry ${id} (seq ${expected}) cannot be hashed: ${String(err)}` };
    }
    if (entry.hash !== computed) {
      return {
        id,
        reason:
          `hash mismatch: entry ${id} (seq ${expected}) stores hash ${String(entry.hash)}, ` +
          `but its content hashes to ${computed} (the entry was changed after it was written)`,
      };
    }
    this.last = { seq: expected, hash: computed };
    this.lastId = id;
    this.count += 1;
    return null;
  }

  /** After the last entry: the recorded head must be it (else the last entries were deleted). */
  finish(recorded: ChainHead | undefined): ChainBreak | null {
    const head = recorded ?? EMPTY_HEAD;
    if (head.seq === this.last.seq && head.hash === this.last.hash) return null;
    const last =
      this.lastId === null
        ? 'there are no entries'
        : `the last entry is ${this.lastId} (seq ${this.last.seq}, hash ${this.last.hash})`;
    const missing =
      head.seq > this.last.seq
        ? `: ${head.seq - this.last.seq} entries at the end were deleted`
        : '';
    return {
      id: this.lastId,
      reason:
        `head mismatch: the chain head records seq ${head.seq} with hash ${head.hash}, ` +
        `but ${last}${missing}`,
    };
  }
}
