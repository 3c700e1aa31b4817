import type { ArgumentMetadata } from '@nestjs/common';

/** Path parameters and queries validated before, remembered: the same read costs no new check. */
export const VALIDATED_MEMO_MAX_ENTRIES = 10_000;

/**
 * The memo's key for a path parameter or query object whose values are all strings (or arrays of
 * strings, as Express parses repeated query keys); undefined for anything else, which is checked
 * every time. Validation of such values by the DTO classes here is a pure function of them.
 */
export function memoKey(value: unknown, metadata: ArgumentMetadata): string | undefined {
  if (metadata.type !== 'param' && metadata.type !== 'query') return undefined;
  if (metadata.data !== undefined || metadata.metatype === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  for (const v of Object.values(value)) {
    if (typeof v === 'string') continue;
    if (Array.isArray(v) && v.every((item) => typeof item === 'string')) continue;
    return undefined;
  }
  return `${metadata.type}\u0000${JSON.stringify(value)}`;
}

/** A shallow copy keeping the class (prototype) of the original. */
function copyOf(value: object): object {
  const prototype = Object.getPrototypeOf(value) as object | null;
  return Object.assign(Object.create(prototype) as object, value);
}

/**
 * Validated DTO instances per DTO class and `memoKey`, at most VALIDATED_MEMO_MAX_ENTRIES. Each
 * use gets a shallow copy: a handler may set fields of its DTO without touching the
 * remembered one.
 */
export class ValidatedMemo {
  private byClass = new WeakMap<object, Map<string, object>>();
  private size = 0;

  get(metatype: object, key: string): object | undefined {
    const hit = this.byClass.get(metatype)?.get(key);
    return hit === undefined ? undefined : copyOf(hit);
  }

  remember(metatype: object, key: string, entity: object): void {
    if (this.size >= VALIDATED_MEMO_MAX_ENTRIES) {
      // Rarely reached (a working set of 10,000 distinct reads): start again rather than
      // track recency on every hit.
      this.byClass = new WeakMap();
      this.size = 0;
    }
    let perClass = this.byClass.get(metatype);
    if (perClass === undefined) {
      perClass = new Map();
      this.byClass.set(metatype, perClass);
    }
    perClass.set(key, copyOf(entity));
    this.size++;
  }
}
