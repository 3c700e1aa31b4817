import type { Logger } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';

export function fileNotFound(key: string): RegistryError {
  return new RegistryError(ErrorCode.ArtifactFileNotFound, `stored file '${key}' does not exist`);
}

/**
 * Azure error codes (x-ms-error-code) that say our credentials, SAS or endpoint are wrong:
 * logged as errors. 401 and 403 answers count too, whatever their code.
 */
const MISCONFIGURED = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationSourceIPMismatch',
  'InsufficientAccountPermissions',
  'AccountIsDisabled',
  'InvalidAuthenticationInfo',
  'NoAuthenticationInformation',
]);

/** Error names of @azure/identity when DefaultAzureCredential finds no usable identity. */
const IDENTITY_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationRequiredError',
  'AuthenticationError',
  'AggregateAuthenticationError',
]);

/** Azure error codes of a store that is overloaded or failing: try again later. */
const TRANSIENT = new Set(['ServerBusy', 'InternalError', 'OperationTimedOut']);
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

const NOT_FOUND = new Set(['BlobNotFound', 'ContainerNotFound', 'CannotVerifyCopySource']);

/** Connection-level failures worth one more attempt on a fresh connection (stale keep-alive). */
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'EPIPE']);

/** Codes of errors on the way to the store: sockets, DNS, HTTP parsing, TLS. */
const NETWORK_CODE =
  /^(E[A-Z]+|HPE_[A-Z_]+|ERR_(SOCKET|TLS|SSL)_[A-Z_]+|ERR_STREAM_PREMATURE_CLOSE|REQUEST_SEND_ERROR|[A-Z_]*CERT[A-Z_]*|UNABLE_TO_[A-Z_]+)$/;
/** TLS failures: a wrong endpoint or CA, not an outage. */
const TLS_CODE = /CERT|ERR_TLS|ERR_SSL|UNABLE_TO_|EPROTO/;

// Told apart by shape, not `instanceof`: Node's socket errors and the SDK's RestError may come
// from another realm than the code under jest's module sandbox.
function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null
    ? (err as Record<string, unknown>)[name]
    : undefined;
}

/** The HTTP status of the Azure answer behind `err`, if there was one. */
export function azureStatus(err: unknown): number | undefined {
  const status = field(err, 'statusCode');
  return typeof status === 'number' && status > 0 ? status : undefined;
}

/** The Azure error code (x-ms-error-code), e.g. BlobNotFound. */
export function azureCode(err: unknown): string | undefined {
  const details = field(err, 'details');
  const fromDetails = field(details, 'errorCode') ?? field(details, 'Code');
  if (typeof fromDetails === 'string') return fromDetails;
  const code = field(err, 'code');
  return typeof code === 'string' && azureStatus(err) !== undefined ? code : undefined;
}

/** The network code (ECONNREFUSED, ECONNRESET, ...) of a failure to reach the store. */
function networkCode(err: unknown): string | undefined {
  if (azureStatus(err) !== undefined) return undefined;
  const code = field(err, 'code');
  if (typeof code === 'string' && NETWORK_CODE.test(code)) return code;
  // The SDK wraps socket errors in a RestError whose message is the socket's.
  const cause = field(err, 'cause');
  const causeCode = field(cause, 'code');
  return typeof causeCode === 'string' && NETWORK_CODE.test(causeCode) ? causeCode : undefined;
}

/** Our own time limit cut the call (an AbortSignal.timeout, or the idle guard of a download). */
export function isTimeout(err: unknown): boolean {
  const name = field(err, 'name');
  return name === 'AbortError' || name === 'TimeoutError' || field(err, 'code') === 'ETIMEDOUT';
}

function messageOf(err: unknown): string {
  const message = field(err, 'message');
  return typeof message === 'string' ? message.split('\n')[0] : String(err);
}

export function describeCause(err: unknown): string {
  const code = azureCode(err) ?? networkCode(err) ?? (field(err, 'name') as string | undefined);
  const status = azureStatus(err);
  const message = messageOf(err);
  return [status, code].filter((x) => x !== undefined).join(' ') + `: ${message}`;
}

/** The store says the object (or its container) is not there. */
export function isMissing(err: unknown): boolean {
  const code = azureCode(err);
  if (code !== undefined && NOT_FOUND.has(code)) return true;
  // A HEAD has no body, and some answers no x-ms-error-code: a bare 404.
  return azureStatus(err) === 404 && code === undefined;
}

export function isContainerMissing(err: unknown): boolean {
  return azureCode(err) === 'ContainerNotFound';
}

/** A connection that broke under the call: an idempotent call may be sent once more. */
export function isResetConnection(err: unknown): boolean {
  const network = networkCode(err);
  return network !== undefined && RETRYABLE_NETWORK.has(network);
}

/**
 * Why the store cannot serve us, if that is what `err` says: `misconfigured` when it refuses
 * our credentials (401/403, an identity DefaultAzureCredential cannot get a token for) or the
 * endpoint's TLS, `unavailable` when it cannot be reached, is too slow (our time limits), answers
 * 5xx/ServerBusy, or the container is gone. Undefined for any other error: a bug, to propagate.
 */
export function storeFailure(err: unknown): 'misconfigured' | 'unavailable' | undefined {
  const code = azureCode(err);
  const status = azureStatus(err);
  const network = networkCode(err);
  const name = field(err, 'name');
  if (
    status === 401 ||
    status === 403 ||
    (code !== undefined && MISCONFIGURED.has(code)) ||
    (typeof name === 'string' && IDENTITY_ERRORS.has(name)) ||
    TLS_CODE.test(network ?? '')
  ) {
    return 'misconfigured';
  }
  const unavailable =
    isContainerMissing(err) ||
    isTimeout(err) ||
    (status !== undefined && TRANSIENT_STATUS.has(status)) ||
    (code !== undefined && TRANSIENT.has(code)) ||
    network !== undefined;
  return unavailable ? 'unavailable' : undefined;
}

/**
 * BACKEND_UNAVAILABLE for a store that cannot serve us, its cause logged (credential and
 * endpoint problems as errors); anything else as it is.
 */
export function translate(logger: Logger, container: string, what: string, err: unknown): unknown {
  if (err instanceof RegistryError) return err;
  const failure = storeFailure(err);
  if (failure === undefined) return err;
  const context = { err: describeCause(err), op: what, container };
  if (failure === 'misconfigured') {
    logger.error(
      context,
      'Azure Blob Storage refuses our requests: check AZURE_STORAGE_CONNECTION_STRING / ' +
        'AZURE_STORAGE_KEY / AZURE_STORAGE_SAS_TOKEN (or the identity DefaultAzureCredential ' +
        'uses and its role on the container), AZURE_STORAGE_ENDPOINT and its TLS certificate; ' +
        'answering 503',
    );
  } else {
    logger.warn(context, 'Azure Blob Storage did not answer usefully; answering 503');
  }
  return RegistryError.unavailable('object store');
}
