import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { json, type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../errors/error-code';
import { RegistryError } from '../errors/registry-error';
import { announcesBody, closeAfterAnswer } from './request-deadline';

type RequestWithBodyError = Request & { bodyError?: unknown };

/**
 * JSON is `application/json` or a type built on it with RFC 6839's `+json` suffix
 * (`application/vnd.api+json`, `application/merge-patch+json`), with any parameters.
 */
const JSON_MEDIA_TYPE = /^\s*application\/(?:[^\s;/]+\+)?json\s*(?:;|$)/i;

export function isJsonRequest(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && JSON_MEDIA_TYPE.test(type);
}

/**
 * The JSON body parser, with its failure held back. Express parses bodies before Nest's guards
 * run, so a malformed or oversized body would otherwise answer 400/413 to a caller without a
 * token. The error is kept on the request and raised by `BodyErrorGuard`, after
 * authentication (401) and roles (403), as the contract's order of checks says.
 */
export function deferredJsonParser(limitBytes: number) {
  const parse = json({ limit: limitBytes, type: isJsonRequest });
  return (req: Request, res: Response, next: NextFunction): void => {
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112): nothing
    // to parse or check (most GETs); body-parser would only set `req.body = undefined`.
    if (
      req.headers['transfer-encoding'] === undefined &&
      req.headers['content-length'] === undefined
    ) {
      next();
      return;
    }
    // A body declared larger than the limit is refused before a byte of it is read (body-parser
    // would read all of it first, only to refuse it), and the connection closes after the answer.
    const declared = Number(req.headers['content-length']);
    if (declared > limitBytes && isJsonRequest(req)) {
      (req as RequestWithBodyError).bodyError = new RegistryError(
        ErrorCode.PayloadTooLarge,
        `request body is larger than the limit of ${limitBytes} bytes`,
        { limit_bytes: limitBytes },
      );
      closeAfterAnswer(res);
      next();
      return;
    }
    parse(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) {
        (req as RequestWithBodyError).bodyError = typed(err);
        // Whatever is left of a body we refused is not worth reading: close after answering.
        closeAfterAnswer(res);
      } else {
        (req as RequestWithBodyError).bodyError = checkShape(req.body);
      }
      next();
    });
  };
}

/**
 * body-parser reports a body that fails to decompress (a `Content-Encoding` that does not match
 * the bytes) as a 400 without a `type`; give it one so the filter answers 400, not 500.
 */
function typed(err: unknown): unknown {
  const e = err as { type?: unknown; status?: unknown } | null;
  if (
    typeof e === 'object' &&
    e !== null &&
    e.type === undefined &&
    typeof e.status === 'number' &&
    e.status >= 400 &&
    e.status < 500
  ) {
    return Object.assign(e, { type: 'entity.decode.failed' });
  }
  return err;
}

/**
 * Keys Nest's ValidationPipe deletes from bodies without a word (prototype-pollution guard).
 * Silently dropping a tag named 'constructor' would answer 200 for a write that did not
 * happen, so such a body is refused with a 400 naming the key instead.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** No request of this API nests deeper; deeper bodies are refused before anything walks them. */
const MAX_DEPTH = 32;

/**
 * Walks a parsed body without recursion (a hostile body can nest thousands deep): refuses one
 * nested beyond MAX_DEPTH or holding a reserved key. Returns the error to raise, if any.
 */
function checkShape(body: unknown): RegistryError | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value: body, path: '', depth: 0 },
  ];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_DEPTH) {
      return RegistryError.validation(`request body is nested more than ${MAX_DEPTH} levels deep`);
    }
    for (const key of Object.keys(value)) {
      const here = path === '' ? key : `${path}.${key}`;
      if (RESERVED_KEYS.has(key)) {
        return RegistryError.validation(`${here}: the key '${key}' is not allowed`);
      }
      stack.push({ value: (value as Record<string, unknown>)[key], path: here, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * Raises a body-parser failure kept by `deferredJsonParser`: the last global guard, so after
 * authentication, roles and the rate limit. (A guard, not an interceptor: a route without
 * interceptors skips Nest's per-request RxJS chain, ~10% of a cached read's CPU.)
 *
 * It also refuses, with 415, a body that is not JSON sent to a route that reads a JSON body
 * (a handler with a `@Body()` parameter): such a body is never parsed, and the route would
 * otherwise validate an empty object and answer a misleading 400 about a missing field. A
 * request without a body is not refused: it is an empty object (an approval's optional comment).
 */
@Injectable()
export class BodyErrorGuard implements CanActivate {
  /** Per handler: whether it has a `@Body()` parameter, read once. */
  private readonly readsBody = new WeakMap<object, boolean>();

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<RequestWithBodyError>();
    const error = req.bodyError;
    // body-parser's errors are Errors carrying `type` and `status`; the filter maps them.
    if (error !== undefined) throw error as Error;
    if (announcesBody(req) && !isJsonRequest(req) && this.takesJsonBody(context)) {
      throw new RegistryError(
        ErrorCode.UnsupportedMediaType,
        'Content-Type must be application/json (or application/*+json) for this request body',
      );
    }
    return true;
  }

  private takesJsonBody(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let reads = this.readsBody.get(handler);
    if (reads === undefined) {
      const args =
        (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) as
          Record<string, unknown> | undefined) ?? {};
      reads = Object.keys(args).some((key) => key.split(':')[0] === String(RouteParamtypes.BODY));
      this.readsBody.set(handler, reads);
    }
    return reads;
  }
}
