import { ErrorCode } from './error-code';

/**
 * The one error type the service layer throws. The exception filter turns it into
 * `{statusCode, error, message, code}`; `details` adds machine-readable context
 * (e.g. the id of the approval that already is pending).
 */
export class RegistryError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds a client should wait before retrying (503, 429). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }

  static validation(message: string, details?: Record<string, unknown>): RegistryError {
    return new RegistryError(ErrorCode.ValidationFailed, message, details);
  }

  static unavailable(what: string, retryAfterSeconds = 5): RegistryError {
    return new RegistryError(
      ErrorCode.BackendUnavailable,
      `${what} is unavailable; retry later`,
      undefined,
      retryAfterSeconds,
    );
  }
}

export function isRegistryError(err: unknown, code?: ErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}
