import type { Backend, Metrics } from './metrics';

/** The methods of `T` that answer a promise: a port's backend calls. */
export type AsyncMethodsOf<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof T] &
  string;

/**
 * Every backend call of a port, named once (a Record, so that a method added to the port and
 * forgotten here fails to compile).
 */
export type PortOperations<T> = Record<AsyncMethodsOf<T>, true>;

/**
 * `port` with each of `operations` timed as a call to `backend` (labelled by the method's name).
 * A proxy: calls the adapter makes to itself are not counted again, and everything else (its
 * lifecycle hooks, `instanceof`) is the adapter's own. The adapter knows nothing of it.
 */
export function timedPort<T extends object>(
  port: T,
  metrics: Metrics,
  backend: Backend,
  operations: PortOperations<T>,
): T {
  const timed = new Map<PropertyKey, unknown>();
  for (const operation of Object.keys(operations) as AsyncMethodsOf<T>[]) {
    const method = port[operation] as (...args: unknown[]) => Promise<unknown>;
    timed.set(operation, (...args: unknown[]) =>
      metrics.timeBackend(backend, operation, () => method.apply(port, args)),
    );
  }
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(port, {
    get(target, property) {
      const wrapped = timed.get(property);
      if (wrapped !== undefined) return wrapped;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(property);
      if (fn === undefined) {
        fn = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(property, fn);
      }
      return fn;
    },
  });
}
