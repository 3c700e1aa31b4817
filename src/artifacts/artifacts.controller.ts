import { Controller, Get, HttpCode, Logger, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { AppConfig } from '../config/app-config';
import { pipeline } from 'node:stream/promises';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { closeAfterAnswer, liftRequestDeadline } from '../common/http/request-deadline';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { ArtifactsService } from './artifacts.service';
import { DigestCheck, LengthCheck } from './download-checks';
import { contentRange, etagOf, planDownload } from './download-range';
import { ApiDownload } from './download.openapi';
import { ArtifactManifestDto } from './dto/artifact-manifest.dto';
import { ArtifactFileParams, ArtifactParams } from './dto/artifact-params.dto';
import { Idempotent } from '../idempotency/idempotency.interceptor';

@ApiTags('artifacts')
@Controller('artifacts')
export class ArtifactsController {
  private readonly logger = new Logger(ArtifactsController.name);

  constructor(
    private readonly artifacts: ArtifactsService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @Idempotent()
  @HttpCode(201)
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: 'Upload a model artifact',
    description:
      'multipart/form-data. `model` (required: *.pkl or *.pt, also *.onnx, *.joblib, *.safetensors, ' +
      '*.bin, *.h5, *.keras or a *.tar.gz bundle, as ARTIFACT_MODEL_FILES allows) and `preprocessor` are streamed to the ' +
      'object store with their SHA-256 computed on the way; `config` (config.json), `metrics` ' +
      "(metrics.json), `requirements` (requirements.txt) and an MLflow model's `mlmodel` (MLmodel), " +
      '`conda` (conda.yaml) and `python_env` (python_env.yaml) are checked before they are stored. ' +
      'Nothing is kept if any part is rejected. An optional part with no bytes (a file input ' +
      'left empty, as Swagger UI sends it) is read as not sent; an empty `model` is a 400. ' +
      'In Swagger UI: choose the model file, and the other files only if you have them.',
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
          description:
            'Serialized model: a file named *.pkl or *.pt (stored as model.pkl or model.pt); also ' +
            '*.onnx, *.joblib, *.safetensors, *.bin, *.h5, *.keras, or *.tar.gz (a model directory)',
        },
        preprocessor: {
          type: 'string',
          format: 'binary',
          description: 'preprocessor.pkl (optional)',
        },
        // The metadata documents are file inputs too: they are files of the training run, and
        // an object or string field would make Swagger UI send its placeholders as content.
        config: {
          type: 'string',
          format: 'binary',
          description:
            'config.json (optional), a JSON object: `{"hyperparameters": {"n_estimators": 200, ' +
            '"max_depth": 8, "learning_rate": 0.05}, "framework": "xgboost"}`; its hyperparameters ' +
            "(strings, numbers, booleans) become the version's parameters",
        },
        metrics: {
          type: 'string',
          format: 'binary',
          description:
            'metrics.json (optional), a flat JSON object of numbers: `{"f1_score": 0.912, ' +
            '"auc_roc": 0.97}`; it becomes the version\'s metrics',
        },
        requirements: {
          type: 'string',
          format: 'binary',
          description: 'requirements.txt (optional), UTF-8 text: `xgboost==2.0.3`',
        },
        // An MLflow model's files (mlflow.<flavor>.save_model writes them): stored under
        // MLflow's names beside the model, so MLflow clients load the version as a model.
        mlmodel: {
          type: 'string',
          format: 'binary',
          description:
            "MLmodel (optional): the MLflow model's YAML descriptor, with its `flavors` " +
            '(e.g. `sklearn` with `pickled_model: model.pkl`, `python_function`)',
        },
        conda: {
          type: 'string',
          format: 'binary',
          description:
            "conda.yaml (optional), a YAML mapping: the MLflow model's conda environment",
        },
        python_env: {
          type: 'string',
          format: 'binary',
          description:
            "python_env.yaml (optional), a YAML mapping: the MLflow model's Python environment",
        },
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
      mlmodel: { contentType: 'application/yaml' },
      conda: { contentType: 'application/yaml' },
      python_env: { contentType: 'application/yaml' },
    },
  })
  @ApiCreatedResponse({ type: ArtifactManifestDto })
  @ApiErrors(
    {
      code: ErrorCode.ValidationFailed,
      when: 'a part is missing, unknown, repeated or invalid; the message names it',
      message: 'model is required: a file part named model (e.g. model.pkl or model.pt)',
    },
    {
      code: ErrorCode.PayloadTooLarge,
      when: 'a part is over its size limit; `details` names it',
      message: 'model is larger than the limit of 1073741824 bytes',
      details: { field: 'model', limit_bytes: 1073741824 },
    },
    {
      code: ErrorCode.PayloadTooLarge,
      key: 'PAYLOAD_TOO_LARGE (Content-Length)',
      when: 'the declared Content-Length is more than any upload can weigh',
      message: 'upload is larger than the limit of 2147549184 bytes',
    },
    {
      code: ErrorCode.UnsupportedMediaType,
      when: 'the body is not multipart/form-data',
      message: 'Content-Type must be multipart/form-data',
    },
  )
  async upload(@CurrentCaller() caller: Caller, @Req() req: Request): Promise<ArtifactManifestDto> {
    try {
      this.checkUploadHeaders(req.headers);
    } catch (err) {
      // Refused by its headers: the body is not worth reading, close the connection after answering.
      if (req.res !== undefined) closeAfterAnswer(req.res);
      throw err;
    }
    // Authenticated, allowed, and the headers fit: from here on the body may take as long as
    // it takes (the idle timeout still applies). A body refused half-way is drained by the
    // receiver until this answer is written, then dropped (artifact-receiver.ts).
    liftRequestDeadline(req);
    return this.artifacts.upload(req, caller, req.res);
  }

  /**
   * Refuses an upload by its headers alone, before a byte of it is read: 415 unless it is
   * multipart/form-data, 413 when its Content-Length is more than a well-formed upload can weigh
   * (every part at its limit, plus multipart framing).
   */
  private checkUploadHeaders(headers: IncomingHttpHeaders): void {
    if (!/^multipart\/form-data\b/i.test(headers['content-type'] ?? '')) {
      throw new RegistryError(
        ErrorCode.UnsupportedMediaType,
        'Content-Type must be multipart/form-data',
      );
    }
    const { artifactFileBytes, artifactMetadataBytes } = this.config.limits;
    const maxRequestBytes = 2 * artifactFileBytes + 3 * artifactMetadataBytes + 64 * 1024;
    const declared = Number(headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxRequestBytes) {
      throw new RegistryError(
        ErrorCode.PayloadTooLarge,
        `upload is larger than the limit of ${maxRequestBytes} bytes`,
      );
    }
  }

  @Get(':artifact_id')
  @Authenticated(Permission.Read)
  @ApiOperation({
    summary: 'Get the manifest of an artifact: its files, sizes and SHA-256 digests',
  })
  @ApiOkResponse({ type: ArtifactManifestDto })
  manifest(
    @CurrentCaller() caller: Caller,
    @Param() params: ArtifactParams,
  ): Promise<ArtifactManifestDto> {
    return this.artifacts.manifest(caller.tenant, params.artifact_id);
  }

  @Get(':artifact_id/files/:file')
  @Authenticated(Permission.Read)
  @ApiDownload()
  async download(
    @CurrentCaller() caller: Caller,
    @Param() params: ArtifactFileParams,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const file = await this.artifacts.file(caller.tenant, params.artifact_id, params.file);
    const etag = etagOf(file.sha256);
    const plan = planDownload(
      {
        ifNoneMatch: req.get('If-None-Match'),
        range: req.get('Range'),
        ifRange: req.get('If-Range'),
      },
      file.size,
      etag,
    );
    if (plan.status === 416) {
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('Content-Range', contentRange(file.size));
      throw new RegistryError(
        ErrorCode.RangeNotSatisfiable,
        `Range selects no byte of ${file.name}, which has ${file.size} bytes`,
      );
    }
    if (plan.status === 304) {
      this.representationHeaders(res, file.sha256, etag);
      res.status(304).end();
      return;
    }
    const range = plan.status === 206 ? plan.range : undefined;
    // Read before any header is set: a missing object or an unavailable store is still an error
    // answer of its own.
    const stream = await this.artifacts.read(file, range);
    this.representationHeaders(res, file.sha256, etag);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', file.contentType);
    res.setHeader('Content-Disposition', `attachment; filename="${file.name}"`);
    let check: DigestCheck | LengthCheck;
    if (range === undefined) {
      res.status(200);
      res.setHeader('Content-Length', String(file.size));
      check = new DigestCheck(file.sha256);
    } else {
      const length = range.end - range.start + 1;
      res.status(206);
      res.setHeader('Content-Range', contentRange(file.size, range));
      res.setHeader('Content-Length', String(length));
      // A part is served unverified: checking it against the file's digest would mean reading
      // the whole file for every range. The client checks the file it reassembles.
      check = new LengthCheck(length);
    }
    try {
      await pipeline(stream, check, res);
    } catch (err) {
      // Headers are out: the only honest signal left is to cut the connection, so the client
      // sees a short read instead of a complete-looking corrupt file.
      res.destroy();
      if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.logger.error(
          { err, artifactId: params.artifact_id, file: params.file, range },
          'download failed',
        );
      }
    }
  }

  /** What describes the whole file, on 200, 206 and 304 alike (RFC 9530: Repr-Digest). */
  private representationHeaders(res: Response, sha256: string, etag: string): void {
    res.setHeader('ETag', etag);
    res.setHeader('X-Checksum-SHA256', sha256);
    res.setHeader('Repr-Digest', `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`);
  }
}
