import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import pino, { type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { Store, storage } from 'nestjs-pino/storage';
import type { Principal } from '../auth/principal';
import { requestId } from './request-id';

/**
 * The process's one logger and its request logging, built once and shared by nestjs-pino (for
 * the application's own lines) and by one Express middleware installed first (for the request
 * lines). One middleware rather than nestjs-pino's route-bound pair: those are eight router
 * layers every request walks through, ~10% of a cached read's CPU (BENCHMARKS.md).
 */
export class AccessLog {
  readonly logger: Logger;
  readonly middleware: (req: Request, res: Response, next: NextFunction) => void;

  constructor(level: string) {
    // Lines are written by a background buffer: under load many lines go out in one write
    // instead of one system call each. Flushed when the process exits.
    this.logger = pino({ level }, pino.destination({ dest: 1, sync: false }));
    const http = pinoHttp({
      logger: this.logger,
      genReqId: requestId,
      // Only what a request line needs: copying and redacting every header of every request
      // cost ~15% of a cached read (BENCHMARKS.md), and headers carry tokens. The serializers
      // see the raw request (no intermediate copy per request).
      wrapSerializers: false,
      serializers: {
        req: (req: IncomingMessage & { id?: unknown; originalUrl?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.originalUrl ?? req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      // Who asked goes on the request's line itself: as `customProps` it cost two more child
      // loggers per request (the principal is only known after the guards).
      customSuccessObject: (req, _res, line: object) => withCaller(req, line),
      customErrorObject: (req, _res, _err, line: object) => withCaller(req, line),
      // Health probes every few seconds would drown the useful lines.
      autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health/') },
    });
    // The request's logger is the context of every line logged while serving it (nestjs-pino).
    this.middleware = (req, res, next) =>
      http(req, res, () => storage.run(new Store(req.log), next));
  }
}

/** The request line's fields, with the tenant and user once authentication has run. */
function withCaller(req: IncomingMessage, line: object): object {
  const principal = (req as IncomingMessage & { principal?: Principal }).principal;
  return principal ? { ...line, tenant: principal.tenantId, user: principal.subject } : line;
}
