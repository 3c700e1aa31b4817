import { Controller, Get, HttpCode, Logger, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiTags,
  ApiBadRequestResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorResponseDto } from '../common/http/error-response.dto';
import { closeAfterAnswer, liftRequestDeadline } from '../common/http/request-deadline';
import { ArtifactsService } from './artifacts.service';
import { ArtifactManifestDto } from './dto/artifact-manifest.dto';
import { ArtifactFileParams, ArtifactParams } from './dto/artifact-params.dto';
import { Idempotent } from '../common/idempotency/idempotency.interceptor';

/**
 * Re-computes the SHA-256 of what is sent. The last chunk is held back until the digest is
 * known, so a mismatch always reaches the client as a short, cut-off response, never as a
 * complete-looking corrupt file.
 */
class DigestCheck extends Transform {
  private readonly hash = createHash('sha256');
  private held?: Buffer;

  constructor(private readonly expected: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    if (this.hash.digest('hex') !== this.expected) {
      done(new Error(`stored bytes do not match SHA-256 ${this.expected}`));
      return;
    }
    done(null, this.held);
  }
}

@ApiTags('artifacts')
@Controller('artifacts')
export class ArtifactsController {
  private readonly logger = new Logger(ArtifactsController.name);

  constructor(private readonly artifacts: ArtifactsService) {}

  @Post()
  @Idempotent()
  @HttpCode(201)
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: 'Upload a model artifact',
    description:
      'multipart/form-data. `model` (required, *.pkl or *.pt) and `preprocessor` are streamed to the ' +
      'object store with their SHA-256 computed on the way; `config` (config.json), `metrics` ' +
      '(metrics.json) and `requirements` (requirements.txt) are checked before they are stored. ' +
      'Nothing is kept if any part is rejected.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['model'],
      properties: {
        model: {
          type: 'string',
          format: 'binary',
          description: 'Serialized model: a file named *.pkl or *.pt (model.pkl or model.pt)',
        },
        preprocessor: { type: 'string', format: 'binary', description: 'preprocessor.pkl' },
        config: {
          type: 'object',
          description:
            'config.json: {"hyperparameters": {...}, ...}; hyperparameters become the parameters',
          properties: {
            hyperparameters: {
              type: 'object',
              additionalProperties: {
                oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }],
              },
            },
          },
          additionalProperties: true,
        },
        metrics: {
          type: 'object',
          description: 'metrics.json: {"f1_score": 0.912, ...}',
          additionalProperties: { type: 'number' },
        },
        requirements: { type: 'string', description: 'requirements.txt (UTF-8 text)' },
      },
    },
    encoding: {
      model: {
        contentType: 'application/octet-stream',
        headers: {
          'Content-Disposition': {
            schema: { type: 'string', example: 'form-data; name="model"; filename="model.pkl"' },
          },
        },
      },
      preprocessor: {
        contentType: 'application/octet-stream',
        headers: {
          'Content-Disposition': {
            schema: {
              type: 'string',
              example: 'form-data; name="preprocessor"; filename="preprocessor.pkl"',
            },
          },
        },
      },
      config: { contentType: 'application/json' },
      metrics: { contentType: 'application/json' },
      requirements: { contentType: 'text/plain' },
    },
  })
  @ApiCreatedResponse({ type: ArtifactManifestDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'A part is missing, unknown or invalid',
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorResponseDto,
    description: 'A part is over its size limit',
  })
  @ApiUnsupportedMediaTypeResponse({
    type: ErrorResponseDto,
    description: 'Not multipart/form-data',
  })
  async upload(@CurrentCaller() caller: Caller, @Req() req: Request): Promise<ArtifactManifestDto> {
    try {
      this.artifacts.checkUploadHeaders(req.headers);
      // Authenticated, allowed, and the headers fit: from here on the body may take as long as
      // it takes (the idle timeout still applies).
      liftRequestDeadline(req);
      return await this.artifacts.upload(req, caller);
    } catch (err) {
      // The rest of a rejected body is not worth reading: close the connection after answering.
      if (req.res !== undefined) closeAfterAnswer(req.res);
      throw err;
    }
  }

  @Get(':artifact_id')
  @Authenticated(Permission.Read)
  @ApiOperation({
    summary: 'Get the manifest of an artifact: its files, sizes and SHA-256 digests',
  })
  @ApiOkResponse({ type: ArtifactManifestDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  manifest(
    @CurrentCaller() caller: Caller,
    @Param() params: ArtifactParams,
  ): Promise<ArtifactManifestDto> {
    return this.artifacts.manifest(caller.tenant, params.artifact_id);
  }

  @Get(':artifact_id/files/:file')
  @Authenticated(Permission.Read)
  @ApiOperation({
    summary: 'Download one file of an artifact',
    description:
      'Streams the bytes. `X-Checksum-SHA256` and `ETag` carry the recorded digest; the bytes are ' +
      're-hashed while they are sent and the connection is cut if they do not match.',
  })
  @ApiProduces('application/octet-stream', 'application/json', 'text/plain')
  @ApiOkResponse({
    description:
      'The file: model.pkl, model.pt and preprocessor.pkl as application/octet-stream, ' +
      'config.json and metrics.json (JSON objects) as application/json, requirements.txt as text/plain',
    content: {
      'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      'application/json': { schema: { type: 'object', additionalProperties: true } },
      'text/plain': { schema: { type: 'string' } },
    },
    headers: {
      'X-Checksum-SHA256': {
        description: 'SHA-256 of the file recorded at upload, lowercase hex',
        schema: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
      ETag: { description: '"sha256-<hex digest>"', schema: { type: 'string' } },
      'Repr-Digest': { description: 'RFC 9530: sha-256=:<base64>:', schema: { type: 'string' } },
      'Content-Disposition': {
        description: 'attachment; filename="<file>"',
        schema: { type: 'string' },
      },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async download(
    @CurrentCaller() caller: Caller,
    @Param() params: ArtifactFileParams,
    @Res() res: Response,
  ): Promise<void> {
    const file = await this.artifacts.open(caller.tenant, params.artifact_id, params.file);
    res.status(200);
    res.setHeader('Content-Type', file.contentType);
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Content-Disposition', `attachment; filename="${file.name}"`);
    res.setHeader('ETag', `"sha256-${file.sha256}"`);
    res.setHeader('X-Checksum-SHA256', file.sha256);
    res.setHeader('Repr-Digest', `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`);
    try {
      await pipeline(file.stream, new DigestCheck(file.sha256), res);
    } catch (err) {
      // Headers are out: the only honest signal left is to cut the connection, so the client
      // sees a short read instead of a complete-looking corrupt file.
      res.destroy();
      if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.logger.error(
          { err, artifactId: params.artifact_id, file: params.file },
          'download failed',
        );
      }
    }
  }
}
