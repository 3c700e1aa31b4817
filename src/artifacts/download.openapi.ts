import { applyDecorators } from '@nestjs/common';
import {
  ApiHeader,
  ApiNotModifiedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPartialContentResponse,
  ApiProduces,
  ApiRequestedRangeNotSatisfiableResponse,
} from '@nestjs/swagger';
import type { HeadersObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ErrorCode } from '../common/errors/error-code';
import { errorExample } from '../common/http/api-errors.decorator';
import { ErrorResponseDto } from '../common/http/error-response.dto';

/** The whole file's digest and validator: the same on 200, 206 and 304. */
const REPRESENTATION: HeadersObject = {
  'X-Checksum-SHA256': {
    description: 'SHA-256 of the whole file, recorded at upload, lowercase hex',
    required: true,
    schema: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
  ETag: {
    description: 'Strong validator: `"sha256-<hex digest>"` of the whole file',
    required: true,
    schema: { type: 'string', pattern: '^"sha256-[0-9a-f]{64}"$' },
  },
  'Repr-Digest': {
    description: 'RFC 9530: `sha-256=:<base64>:` of the whole file (on a 206 too)',
    required: true,
    schema: { type: 'string', pattern: '^sha-256=:[A-Za-z0-9+/]{43}=:$' },
  },
};

const SENT_WITH_BYTES: HeadersObject = {
  'Accept-Ranges': {
    description: 'Byte ranges are served (Range: bytes=...)',
    required: true,
    schema: { type: 'string', enum: ['bytes'] },
  },
  'Content-Disposition': {
    description: 'attachment; filename="<file>"',
    required: true,
    schema: { type: 'string' },
  },
};

/** The OpenAPI side of `GET /artifacts/:artifact_id/files/:file`. */
export function ApiDownload(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'Download one file of an artifact, whole or a byte range',
      description:
        'Streams the bytes. `X-Checksum-SHA256`, `ETag` and `Repr-Digest` carry the recorded ' +
        'digest of the whole file; a whole file is re-hashed while it is sent and the connection ' +
        'is cut if it does not match. `If-None-Match` with the ETag answers 304. `Range` (one ' +
        'range: `bytes=a-b`, `bytes=a-`, `bytes=-n`) answers 206 with that part, read as such ' +
        'from the store; a part is not re-hashed (that would need the whole file): check the ' +
        'reassembled file against `X-Checksum-SHA256`. To resume, send `If-Range` with the ETag: ' +
        'if the file changed, the answer is the whole new file (200). Several ranges or a ' +
        'malformed `Range` are ignored (200, the whole file).',
    }),
    ApiHeader({
      name: 'Range',
      required: false,
      description:
        'One byte range: `bytes=0-1048575`, `bytes=1048576-` (resume) or `bytes=-1024` (the last ' +
        '1024 bytes)',
      schema: { type: 'string', pattern: '^bytes=(\\d+-\\d*|-\\d+)$', example: 'bytes=1024-' },
    }),
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description:
        'ETags the client holds (`"sha256-<hex>"`, `W/` forms, a list, or `*`): 304 when one ' +
        'is the current file',
      schema: { type: 'string' },
    }),
    ApiHeader({
      name: 'If-Range',
      required: false,
      description:
        'With Range: serve the range only if the file still has this ETag, else the whole file',
      schema: { type: 'string' },
    }),
    ApiProduces('application/octet-stream', 'application/gzip', 'application/json', 'text/plain'),
    ApiOkResponse({
      description:
        'The file: the model file (model.pkl, model.pt, model.onnx, ...) and preprocessor.pkl as ' +
        'application/octet-stream (model.tar.gz as application/gzip), ' +
        'config.json and metrics.json (JSON objects) as application/json, requirements.txt as text/plain',
      content: {
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
        'application/gzip': { schema: { type: 'string', format: 'binary' } },
        'application/json': { schema: { type: 'object', additionalProperties: true } },
        'text/plain': { schema: { type: 'string' } },
      },
      headers: { ...REPRESENTATION, ...SENT_WITH_BYTES },
    }),
    ApiPartialContentResponse({
      description:
        "The range's bytes, with the file's media type (a part of a JSON file is not JSON)",
      content: {
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
        'application/gzip': { schema: { type: 'string', format: 'binary' } },
        'application/json': {},
        'text/plain': { schema: { type: 'string' } },
      },
      headers: {
        'Content-Range': {
          description: '`bytes <first>-<last>/<size of the file>`',
          required: true,
          schema: { type: 'string', pattern: '^bytes \\d+-\\d+/\\d+$' },
        },
        ...REPRESENTATION,
        ...SENT_WITH_BYTES,
      },
    }),
    ApiNotModifiedResponse({
      description: 'If-None-Match names the current file: no body',
      headers: REPRESENTATION,
    }),
    ApiRequestedRangeNotSatisfiableResponse({
      type: ErrorResponseDto,
      description: '- `RANGE_NOT_SATISFIABLE`: the Range starts at or past the end of the file',
      example: errorExample({
        code: ErrorCode.RangeNotSatisfiable,
        when: '',
        message: 'Range selects no byte of model.pkl, which has 2048 bytes',
      }),
      headers: {
        'Content-Range': {
          description: '`bytes */<size of the file>`',
          required: true,
          schema: { type: 'string', pattern: '^bytes \\*/\\d+$' },
        },
      },
    }),
  );
}
