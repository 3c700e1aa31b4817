import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';
import type { Observable } from 'rxjs';
import { RegistryError } from '../errors/registry-error';

type RequestWithBodyError = Request & { bodyError?: unknown };

/**
 * The JSON body parser, with its failure held back. Express parses bodies before Nest's guards
 * run, so a malformed or oversized body would otherwise answer 400/413 to a caller without a
 * token. The error is kept on the request and raised by `BodyErrorInterceptor`, after
 * authentication (401) and roles (403), as the contract's order of checks says.
 */
export function deferredJsonParser(limitBytes: number) {
  const parse = json({ limit: limitBytes });
  return (req: Request, res: Response, next: NextFunction): void => {
    parse(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) {
        (req as RequestWithBodyError).bodyError = err;
      } else {
        const path = reservedKeyPath(req.body);
        if (path !== undefined) {
          (req as RequestWithBodyError).bodyError = RegistryError.validation(
            `${path}: the key '${path.split('.').pop()}' is not allowed`,
          );
        }
      }
      next();
    });
  };
}

/**
 * Keys Nest's ValidationPipe deletes from bodies without a word (prototype-pollution guard).
 * Silently dropping a tag named 'constructor' would answer 200 for a write that did not
 * happen, so such a body is refused with a 400 naming the key instead.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function reservedKeyPath(value: unknown, path = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key of Object.keys(value)) {
    const here = path === '' ? key : `${path}.${key}`;
    if (RESERVED_KEYS.has(key)) return here;
    const inner = reservedKeyPath((value as Record<string, unknown>)[key], here);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** Raises a body-parser failure kept by `deferredJsonParser`, now that the guards have run. */
@Injectable()
export class BodyErrorInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const error = context.switchToHttp().getRequest<RequestWithBodyError>().bodyError;
    // body-parser's errors are Errors carrying `type` and `status`; the filter maps them.
    if (error !== undefined) throw error as Error;
    return next.handle();
  }
}
