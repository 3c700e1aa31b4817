import { ErrorCode } from '../../src/common/errors/error-code';
import { RegistryError } from '../../src/common/errors/registry-error';

/** What a promise rejected with; undefined when it resolved. */
export function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** A 503 BACKEND_UNAVAILABLE with a Retry-After. */
export function expectUnavailable(err: unknown): void {
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe(ErrorCode.BackendUnavailable);
  expect((err as RegistryError).retryAfterSeconds).toBeGreaterThan(0);
}
