import type { Logger } from '@nestjs/common';
import { S3Error } from 'minio';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { fileNotFound, isMissing, isResetConnection, translate } from './s3-errors';

/** An error as minio-js makes it from an S3 error answer (`<Error><Code>…`). */
function s3Error(code: string | undefined, message = 'm'): S3Error {
  const err = new S3Error(message);
  if (code !== undefined) err.code = code;
  return err;
}

/** An error as Node's sockets, DNS, TLS and HTTP parser make it (from another realm under jest). */
function nodeError(code: string, message = `${code}: failed`): { code: string; message: string } {
  return { code, message };
}

/** A logger that records what it is given and fails on any other level. */
function recordingLogger() {
  const warn = jest.fn();
  const error = jest.fn();
  return { logger: { warn, error } as unknown as Logger, warn, error };
}

describe('S3 error mapping', () => {
  describe('missing objects (ARTIFACT_FILE_NOT_FOUND where the caller asks for it)', () => {
    it.each([
      ['NoSuchKey', s3Error('NoSuchKey')],
      ["NotFound (minio's code for a HEAD answered 404)", s3Error('NotFound')],
      ['NoSuchBucket', s3Error('NoSuchBucket')],
      ["a bare {Code} object (minio's XML parser)", { Code: 'NoSuchKey', Message: 'm' }],
    ])('reads %s as missing', (_what, err) => {
      expect(isMissing(err)).toBe(true);
    });

    it.each([
      ['AccessDenied', s3Error('AccessDenied')],
      ['an S3 answer without a code', s3Error(undefined)],
      ['a refused connection', nodeError('ECONNREFUSED')],
      ['a plain Error', new Error('NoSuchKey')],
    ])('does not read %s as missing', (_what, err) => {
      expect(isMissing(err)).toBe(false);
    });

    it('names the key in the not-found error', () => {
      const err = fileNotFound('acme/artifacts/a1/model.pkl');
      expect(err.code).toBe(ErrorCode.ArtifactFileNotFound);
      expect(err.message).toBe("stored file 'acme/artifacts/a1/model.pkl' does not exist");
    });
  });

  describe('a store that cannot serve us: BACKEND_UNAVAILABLE, logged as a warning', () => {
    it.each([
      ['503 SlowDown', s3Error('SlowDown')],
      ['500 InternalError', s3Error('InternalError')],
      ['ServiceUnavailable', s3Error('ServiceUnavailable')],
      ['a MinIO still starting', s3Error('XMinioServerNotInitialized')],
      ['a bucket deleted under us', s3Error('NoSuchBucket')],
      ["an answer that is not S3's (a proxy's HTML page)", s3Error(undefined)],
      [
        "minio-js's bare error for 502/503/504/429 (retries off)",
        new Error('Request failed after 0 retries: Error: Retryable HTTP status: 502'),
      ],
      ['a refused connection', nodeError('ECONNREFUSED')],
      ['a reset connection', nodeError('ECONNRESET')],
      ['an unknown host', nodeError('ENOTFOUND')],
      ['an idle timeout of the transport', nodeError('ETIMEDOUT')],
      ['a garbled HTTP answer', nodeError('HPE_INVALID_CONSTANT')],
      ['a connection closed mid-body', nodeError('ERR_STREAM_PREMATURE_CLOSE')],
    ])('%s', (_what, err) => {
      const { logger, warn, error } = recordingLogger();
      const mapped = translate(logger, 'bucket', 'get', err);
      expect(mapped).toBeInstanceOf(RegistryError);
      expect((mapped as RegistryError).code).toBe(ErrorCode.BackendUnavailable);
      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ op: 'get', bucket: 'bucket', err: expect.any(String) }),
        expect.stringContaining('answering 503'),
      );
      expect(error).not.toHaveBeenCalled();
    });

    it('logs the S3 code with the message as the cause', () => {
      const { logger, warn } = recordingLogger();
      translate(logger, 'bucket', 'stat', s3Error('SlowDown', 'Please reduce your request rate.'));
      expect(warn).toHaveBeenCalledWith(
        { err: 'SlowDown: Please reduce your request rate.', op: 'stat', bucket: 'bucket' },
        expect.any(String),
      );
    });
  });

  describe('credentials or endpoint settings refused: BACKEND_UNAVAILABLE, logged as an error', () => {
    it.each([
      ["403 (minio's AccessDenied)", s3Error('AccessDenied')],
      ['SignatureDoesNotMatch', s3Error('SignatureDoesNotMatch')],
      ['InvalidAccessKeyId', s3Error('InvalidAccessKeyId')],
      ['a clock too far off', s3Error('RequestTimeTooSkewed')],
      ['a bucket in another region', s3Error('PermanentRedirect')],
      ['a self-signed certificate', nodeError('DEPTH_ZERO_SELF_SIGNED_CERT')],
      ['a certificate for another host', nodeError('ERR_TLS_CERT_ALTNAME_INVALID')],
      ['an unknown CA', nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE')],
      ['TLS spoken to a plain-HTTP port', nodeError('ERR_SSL_WRONG_VERSION_NUMBER')],
      ['a TLS protocol error', nodeError('EPROTO')],
    ])('%s', (_what, err) => {
      const { logger, warn, error } = recordingLogger();
      const mapped = translate(logger, 'bucket', 'ping', err);
      expect((mapped as RegistryError).code).toBe(ErrorCode.BackendUnavailable);
      expect(error).toHaveBeenCalledWith(
        expect.objectContaining({ op: 'ping', bucket: 'bucket' }),
        expect.stringContaining('AWS_ACCESS_KEY_ID'),
      );
      expect(warn).not.toHaveBeenCalled();
    });
  });

  describe('anything else is a bug: it propagates as it is, unlogged', () => {
    it.each([
      ['InvalidArgument', s3Error('InvalidArgument')],
      ['NoSuchKey where no "not found" was asked for', s3Error('NoSuchKey')],
      ['a range past the end', s3Error('InvalidRange')],
      ['an S3 code that looks like a socket error', s3Error('EntityTooLarge')],
      ['a TypeError', new TypeError('x is undefined')],
      ['a non-error value', 'oops'],
    ])('%s', (_what, err) => {
      const { logger, warn, error } = recordingLogger();
      expect(translate(logger, 'bucket', 'put', err)).toBe(err);
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
    });

    it("passes the port's own errors through", () => {
      const { logger, warn } = recordingLogger();
      const own = fileNotFound('a/b');
      expect(translate(logger, 'bucket', 'copy', own)).toBe(own);
      expect(warn).not.toHaveBeenCalled();
    });
  });

  describe('one more attempt for idempotent calls', () => {
    it.each([
      ['a reset connection', true, nodeError('ECONNRESET')],
      ['a broken pipe', true, nodeError('EPIPE')],
      ['a refused connection', false, nodeError('ECONNREFUSED')],
      ['a timeout', false, nodeError('ETIMEDOUT')],
      ['an S3 error whose code reads ECONNRESET', false, s3Error('ECONNRESET')],
      ['SlowDown', false, s3Error('SlowDown')],
    ])('%s: retried %s', (_what, retried, err) => {
      expect(isResetConnection(err)).toBe(retried);
    });
  });
});
