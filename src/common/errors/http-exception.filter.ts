import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { noteAnswerError } from '../http/access-log';
import { ErrorCode, statusForCode } from './error-code';
import { RegistryError } from './registry-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code: string;
  request_id?: string;
  details?: Record<string, unknown>;
}

/** Errors from the body parser (JSON body too large, malformed JSON) carry a `type`. */
interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
}

function codeForHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.ValidationFailed;
    case 401:
      return ErrorCode.Unauthenticated;
    case 403:
      return ErrorCode.Forbidden;
    case 404:
      return ErrorCode.RouteNotFound;
    case 413:
      return ErrorCode.PayloadTooLarge;
    case 415:
      return ErrorCode.UnsupportedMediaType;
    case 429:
      return ErrorCode.RateLimited;
    case 503:
      return ErrorCode.BackendUnavailable;
    default:
      return ErrorCode.Internal;
  }
}

/**
 * The single place where errors become HTTP responses. Known errors keep their message;
 * anything unknown becomes a 500 that carries the request id and nothing internal.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const requestId = req?.id !== undefined ? String(req.id) : undefined;
    const { body, retryAfter } = this.toBody(exception, requestId);
    // The request's access-log line carries what the client was told.
    noteAnswerError(res, body.code, body.message);

    if (body.statusCode === 500) {
      this.logger.error({ err: exception, requestId, code: body.code }, 'unhandled error');
    } else if (body.statusCode > 500) {
      // A backend outage answers every request with 503 until it ends: one line each at warn
      // level with the cause's message, not an error with a stack trace per request.
      const cause = exception instanceof Error ? exception.message : String(exception);
      this.logger.warn({ requestId, code: body.code, cause }, body.message);
    }
    if (res.headersSent) {
      // A streamed response failed half way: the only honest signal left is to cut it.
      res.destroy();
      return;
    }
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    res.status(body.statusCode).json(body);
  }

  private toBody(
    exception: unknown,
    requestId: string | undefined,
  ): { body: ErrorBody; retryAfter?: number } {
    if (exception instanceof RegistryError) {
      const statusCode = statusForCode(exception.code);
      return {
        body: this.make(
          statusCode,
          exception.code,
          exception.message,
          requestId,
          exception.details,
        ),
        retryAfter:
          exception.retryAfterSeconds ??
          (exception.code === ErrorCode.BackendUnavailable ? 5 : undefined),
      };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const code = codeForHttpStatus(statusCode);
      if (code === ErrorCode.Internal && statusCode >= 500) {
        return { body: this.internal(requestId) };
      }
      return { body: this.make(statusCode, code, this.httpMessage(exception, code), requestId) };
    }
    const parserError = exception as BodyParserError | undefined;
    if (parserError && typeof parserError.type === 'string') {
      const status = parserError.status ?? parserError.statusCode ?? 400;
      if (parserError.type === 'entity.too.large') {
        return {
          body: this.make(413, ErrorCode.PayloadTooLarge, 'request body is too large', requestId),
        };
      }
      if (parserError.type === 'entity.parse.failed') {
        return {
          body: this.make(
            400,
            ErrorCode.ValidationFailed,
            'request body is not valid JSON',
            requestId,
          ),
        };
      }
      if (status >= 400 && status < 500) {
        return {
          body: this.make(
            status,
            codeForHttpStatus(status),
            'request body could not be read',
            requestId,
          ),
        };
      }
    }
    return { body: this.internal(requestId) };
  }

  private httpMessage(exception: HttpException, code: ErrorCode): string {
    if (code === ErrorCode.RouteNotFound) return 'no such route';
    const response = exception.getResponse();
    let message = exception.message;
    if (typeof response === 'string') message = response;
    else {
      const inner = (response as { message?: unknown }).message;
      if (Array.isArray(inner)) message = inner.join('; ');
      else if (typeof inner === 'string') message = inner;
    }
    // Our own 400s are RegistryErrors; an HttpException 400 is the framework failing to read
    // the request (body-parser's JSON SyntaxError, a malformed %-escape in the path).
    if (code === ErrorCode.ValidationFailed) {
      return /JSON/.test(message)
        ? `request body is not valid JSON (${message})`
        : `request could not be read (${message})`;
    }
    return message;
  }

  private internal(requestId: string | undefined): ErrorBody {
    return this.make(
      500,
      ErrorCode.Internal,
      `internal error; quote request id ${requestId ?? 'unknown'} when reporting it`,
      requestId,
    );
  }

  private make(
    statusCode: number,
    code: ErrorCode,
    message: string,
    requestId: string | undefined,
    details?: Record<string, unknown>,
  ): ErrorBody {
    const body: ErrorBody = {
      statusCode,
      error: STATUS_CODES[statusCode] ?? 'Error',
      message,
      code,
    };
    if (requestId !== undefined) body.request_id = requestId;
    if (details !== undefined) body.details = details;
    return body;
  }
}
