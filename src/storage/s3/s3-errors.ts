import type { Logger } from '@nestjs/common';
import { S3Error } from 'minio';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';

/** S3 error codes that say our credentials or endpoint settings are wrong: logged as errors. */
const MISCONFIGURED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AuthorizationHeaderMalformed',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AccountProblem',
  'AllAccessDisabled',
  'InvalidSecurity',
  'RequestTimeTooSkewed',
  'MovedPermanently',
  'PermanentRedirect',
  'TemporaryRedirect',
]);

/** S3 error codes of a store that is overloaded or failing: try again later. */
const TRANSIENT = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'Busy',
  'OperationAborted',
  'RequestTimeoutException',
  'XMinioServerNotInitialized',
]);

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);

/**
 * Statuses that minio-js turns into a bare `Error('Request failed after 0 retries: Error:
 * Retryable HTTP status: 503')` (with retries off), without reading the answer.
 */
export const RETRYABLE_STATUS = new Set([408, 429, 499, 500, 502, 503, 504, 520]);
const RETRYABLE_STATUS_ERROR = /Retryable HTTP status: (\d+)/;

/** Connection-level failures worth one more attempt on a fresh connection (stale keep-alive). */
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'EPIPE']);

export function fileNotFound(key: string): RegistryError {
  return new RegistryError(ErrorCode.ArtifactFileNotFound, `stored file '${key}' does not exist`);
}

// Errors are told apart by shape, not `instanceof Error`: errors made by Node's core (socket
// errors) come from another realm than the code under jest's module sandbox.
function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null
    ? (err as Record<string, unknown>)[name]
    : undefined;
}

/** The S3 error code of a minio error (S3Error, or the bare `{Code}` object its XML parser throws). */
export function s3Code(err: unknown): string | undefined {
  if (err instanceof S3Error) return err.code ?? '';
  const bare = field(err, 'Code');
  return typeof bare === 'string' ? bare : undefined;
}

/** Codes of errors on the way to the store: sockets, DNS, HTTP parsing, TLS. */
const NETWORK_CODE =
  /^(E[A-Z]+|HPE_[A-Z_]+|ERR_(SOCKET|TLS|SSL)_[A-Z_]+|ERR_STREAM_PREMATURE_CLOSE|[A-Z_]*CERT[A-Z_]*|UNABLE_TO_[A-Z_]+)$/;
/** TLS failures: a wrong endpoint or CA, not an outage. */
const TLS_CODE = /CERT|ERR_TLS|ERR_SSL|UNABLE_TO_|EPROTO/;

/** The code of a network / TLS / HTTP parser error (ECONNREFUSED, ETIMEDOUT, HPE_..., ...). */
function networkCode(err: unknown): string | undefined {
  if (err instanceof S3Error) return undefined;
  const code = field(err, 'code');
  return typeof code === 'string' && NETWORK_CODE.test(code) ? code : undefined;
}

function messageOf(err: unknown): string {
  const message = field(err, 'message') ?? field(err, 'Message');
  return typeof message === 'string' ? message : String(err);
}

export function describeCause(err: unknown): string {
  const code = s3Code(err) ?? networkCode(err);
  const message = messageOf(err);
  return code !== undefined && code !== '' ? `${code}: ${message}` : message;
}

/** The store says the object (or its bucket) is not there. */
export function isMissing(err: unknown): boolean {
  const code = s3Code(err);
  return code !== undefined && NOT_FOUND.has(code);
}

/** A connection that broke under the call: an idempotent call may be sent once more. */
export function isResetConnection(err: unknown): boolean {
  const network = networkCode(err);
  return network !== undefined && RETRYABLE_NETWORK.has(network);
}

/**
 * Why the store cannot serve us, if that is what `err` says: `misconfigured` when it refuses
 * our credentials or endpoint settings (TLS included), `unavailable` when it cannot be reached,
 * is too slow, answers 5xx/SlowDown or is not an S3 store at all (an answer without an S3 error
 * code), or the bucket is gone. Undefined for any other error: a bug, to propagate as it is.
 */
export function storeFailure(err: unknown): 'misconfigured' | 'unavailable' | undefined {
  const code = s3Code(err);
  const network = networkCode(err);
  if ((code !== undefined && MISCONFIGURED.has(code)) || TLS_CODE.test(network ?? '')) {
    return 'misconfigured';
  }
  const unavailable =
    code === 'NoSuchBucket' ||
    RETRYABLE_STATUS_ERROR.test(messageOf(err)) ||
    (code !== undefined && (code === '' || TRANSIENT.has(code))) ||
    network !== undefined;
  return unavailable ? 'unavailable' : undefined;
}

/**
 * BACKEND_UNAVAILABLE for a store that cannot serve us, its cause logged (credential and
 * endpoint problems as errors); anything else as it is.
 */
export function translate(logger: Logger, bucket: string, what: string, err: unknown): unknown {
  if (err instanceof RegistryError) return err;
  const failure = storeFailure(err);
  if (failure === undefined) return err;
  const context = { err: describeCause(err), op: what, bucket };
  if (failure === 'misconfigured') {
    logger.error(
      context,
      'the object store refuses our requests: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ' +
        'their permissions on the bucket, S3_ENDPOINT (and its TLS certificate) and S3_REGION; ' +
        'answering 503',
    );
  } else {
    logger.warn(context, 'the object store did not answer usefully; answering 503');
  }
  return RegistryError.unavailable('object store');
}
