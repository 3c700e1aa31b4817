import {
  CallHandler,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import type { Response } from 'express';
import { createHash, randomUUID } from 'node:crypto';
import { from, lastValueFrom, Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../common/auth/auth.guard';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { IdempotencyHooks } from './idempotency-hooks';
import { IdempotencyRepository, IdempotencyRow, IdempotencyScope } from './idempotency.repository';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** How long a key and its answer are kept. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a JSON request holds its key before a retry may take it over (it died). */
const JSON_LEASE_MS = 2 * 60 * 1000;
/** The same for an upload, which may stream for a long time. */
const UPLOAD_LEASE_MS = 30 * 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** JSON with sorted keys: the same body, however its keys were ordered, digests the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface UploadAnswer {
  artifact_id: string;
  files: { name: string; size: number; sha256: string }[];
}

/** An upload's fingerprint: its files and their digests (the multipart framing varies). */
function uploadFingerprint(answer: UploadAnswer): string {
  return digest(
    canonical(answer.files.map((f) => [f.name, f.size, f.sha256]).sort((a, b) => (a < b ? -1 : 1))),
  );
}

/**
 * `Idempotency-Key` on every POST: the first request with a key runs and its answer is kept
 * (24 h, per caller); a retry with the same key and the same request gets that answer again,
 * marked `Idempotent-Replayed: true`, and creates nothing; the same key with another request is
 * 422; a retry while the first is still running is 409 with Retry-After. A request that fails
 * gives its key up, so its retry runs again. An upload's body cannot be compared before it is
 * read (multipart boundaries differ between two sends of the same files): a repeated upload is
 * received, compared by its files' digests, and discarded.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);

  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly hooks: IdempotencyHooks,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<AuthenticatedRequest>();
    const raw = req.headers['idempotency-key'];
    if (req.method !== 'POST' || raw === undefined || req.principal === undefined) {
      return next.handle();
    }
    const key = Array.isArray(raw) ? raw.join(',') : raw;
    if (!KEY_PATTERN.test(key)) {
      throw RegistryError.validation(
        `${IDEMPOTENCY_HEADER} header must be 1 to 255 visible ASCII characters`,
      );
    }
    const res = http.getResponse<Response>();
    const scope: IdempotencyScope = {
      tenant: req.principal.tenantId,
      subject: req.principal.subject,
      key,
    };
    return from(this.run(scope, req, res, next));
  }

  private async run(
    scope: IdempotencyScope,
    req: AuthenticatedRequest,
    res: Response,
    next: CallHandler,
  ): Promise<unknown> {
    const upload = /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');
    // With its query: `?tenant_id=` names the tenant the request acts on, so a key used for
    // one tenant is refused for another (422) before anything is done, an upload included.
    const path = req.originalUrl;
    const fingerprint = upload
      ? null
      : digest(`${req.method} ${req.originalUrl}\n${canonical(req.body ?? {})}`);
    const owner = randomUUID();
    const held = await this.repository.claim(scope, {
      method: req.method,
      path,
      fingerprint,
      owner,
      now: Date.now(),
      leaseMs: upload ? UPLOAD_LEASE_MS : JSON_LEASE_MS,
      ttlMs: IDEMPOTENCY_TTL_MS,
    });
    if (held !== undefined) return this.answerFromRecord(held, req, res, next, path, fingerprint);

    let result: unknown;
    try {
      result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (err) {
      await this.repository.release(scope, owner).catch((releaseErr: unknown) => {
        this.logger.warn({ err: releaseErr }, 'could not release an idempotency key');
      });
      throw err;
    }
    const location = res.getHeader('location');
    try {
      await this.repository.complete(scope, owner, {
        statusCode: res.statusCode,
        body: JSON.stringify(result ?? null),
        location: typeof location === 'string' ? location : null,
        fingerprint: upload ? uploadFingerprint(result as UploadAnswer) : fingerprint,
      });
    } catch (err) {
      // The request's effect happened: answer it. The key stays in progress until its lease
      // ends; a retry then runs the request again.
      this.logger.warn({ err }, 'could not record the answer of an idempotent request');
    }
    return result;
  }

  private async answerFromRecord(
    row: IdempotencyRow,
    req: AuthenticatedRequest,
    res: Response,
    next: CallHandler,
    path: string,
    fingerprint: string | null,
  ): Promise<unknown> {
    if (row.method !== req.method || row.path !== path) {
      throw this.reused(`it was used for ${row.method} ${row.path}`);
    }
    if (row.state !== 'done') {
      throw new RegistryError(
        ErrorCode.IdempotencyKeyInUse,
        `a request with this ${IDEMPOTENCY_HEADER} is still being processed; retry later`,
        undefined,
        1,
      );
    }
    if (fingerprint === null) {
      // An upload: receive it to learn its files, then drop it whatever they are.
      const answer = (await lastValueFrom(next.handle())) as UploadAnswer;
      await this.hooks.discardReplayedUpload(answer.artifact_id);
      if (uploadFingerprint(answer) !== row.fingerprint) {
        throw this.reused('it was used for an upload of other files');
      }
    } else if (fingerprint !== row.fingerprint) {
      throw this.reused('it was used for a request with another body');
    }
    res.status(Number(row.status_code));
    if (row.location !== null) res.setHeader('Location', row.location);
    res.setHeader('Idempotent-Replayed', 'true');
    return JSON.parse(row.response_body ?? 'null') as unknown;
  }

  private reused(why: string): RegistryError {
    return new RegistryError(
      ErrorCode.IdempotencyKeyReused,
      `${IDEMPOTENCY_HEADER} cannot be reused for another request: ${why}`,
    );
  }
}

/**
 * Put on every POST route: honours `Idempotency-Key` there. Per route rather than global, so
 * that reads carry no interceptor (Nest then skips its per-request RxJS chain). The e2e suite
 * checks that every POST in the OpenAPI document answers to the header.
 */
export const Idempotent = (): MethodDecorator & ClassDecorator =>
  UseInterceptors(IdempotencyInterceptor);
