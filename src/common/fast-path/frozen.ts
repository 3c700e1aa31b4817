/**
 * A value nothing may change, all the way down: what the read cache hands out. Its fields and
 * arrays are readonly to the compiler, and the object itself is frozen at run time (a write
 * throws in strict mode), so that one reader cannot change what the next one is served.
 */
export type Frozen<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

/** Freezes a plain JSON-like value and everything in it; returns it, typed as such. */
export function deepFreeze<T>(value: T): Frozen<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as object)) deepFreeze(inner);
  }
  return value as Frozen<T>;
}
