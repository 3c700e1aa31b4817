import type { NextFunction, Request, Response } from 'express';
import type { ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Logger } from 'pino';
import { storage } from 'nestjs-pino/storage';
import type { Principal } from '../auth/principal';
import { requestId } from './request-id';

type LoggedRequest = Request & { principal?: Principal };

const ANSWER_ERROR = Symbol('answerError');

type NotedResponse = ServerResponse & { [ANSWER_ERROR]?: { code: string; message: string } };

/**
 * Notes the error an answer carries (its `code` and `message`), for the request's log line:
 * the exception filter calls it for every error it answers.
 */
export function noteAnswerError(res: ServerResponse, code: string, message: string): void {
  (res as NotedResponse)[ANSWER_ERROR] = { code, message };
}

/**
 * The process's one logger and its request logging: one Express middleware, installed first,
 * that gives every request its id (X-Request-Id) and writes one line when the answer is done,
 * and makes the request the context of every line the application logs while serving it
 * (nestjs-pino reads that context). Built by hand rather than with pino-http, whose per-request
 * child loggers and listeners cost ~10% of a cached read's CPU (BENCHMARKS.md): here a child
 * logger is made only if the application actually logs during the request.
 */
export class AccessLog {
  readonly logger: Logger;
  readonly middleware: (req: Request, res: Response, next: NextFunction) => void;
  private readonly destination: DestinationStream;

  /**
   * Lines go to stdout as JSON through a background buffer by default: under load many lines go
   * out in one write instead of one system call each; flushed when the process exits. The
   * service passes `logDestination(config.logFormat)`.
   */
  constructor(
    level: string,
    destination: DestinationStream = pino.destination({ dest: 1, sync: false }),
  ) {
    this.destination = destination;
    this.logger = pino({ level }, destination);
    const logger = this.logger;
    this.middleware = (req: LoggedRequest, res, next) => {
      req.id = requestId(req, res);
      // Health probes every few seconds would drown the useful lines.
      if (!req.url.startsWith('/health/')) {
        const started = Date.now();
        // 'close' follows 'finish' when the answer was sent, and comes alone when the
        // connection went away first (writableFinished tells which): one listener, once.
        res.once('close', () => requestLine(logger, req, res, started));
      }
      storage.run(new RequestContext(logger, req), next);
    };
  }

  /** The id of the request whose work is running now (its async context), if any. */
  currentRequestId(): string | undefined {
    const context = storage.getStore();
    return context instanceof RequestContext ? context.requestId : undefined;
  }

  /** Writes out the lines still buffered, synchronously (before the process exits). */
  flushSync(): void {
    const destination = this.destination as DestinationStream & { flushSync?: () => void };
    try {
      destination.flushSync?.();
    } catch {
      // not opened yet (nothing was written), or stdout is gone: nothing more can be done
    }
  }
}

/**
 * The request's line: who asked what, the status, how long it took, and for an error answer its
 * `code` and `message`. No headers (tokens).
 */
function requestLine(logger: Logger, req: LoggedRequest, res: Response, started: number): void {
  const line: Record<string, unknown> = {
    req: { id: req.id, method: req.method, url: req.originalUrl },
    res: { statusCode: res.statusCode },
    responseTime: Date.now() - started,
  };
  if (req.principal !== undefined) {
    line.tenant = req.principal.tenantId;
    line.user = req.principal.subject;
  }
  const error = (res as NotedResponse)[ANSWER_ERROR];
  if (error !== undefined) {
    line.code = error.code;
    line.message = error.message;
  }
  if (!res.writableFinished) logger.info(line, 'request aborted');
  else if (res.statusCode >= 500) logger.info(line, 'request errored');
  else logger.info(line, 'request completed');
}

/**
 * nestjs-pino's per-request store (it reads and replaces `logger`), whose logger carrying the
 * request's id, method and URL is only made when first asked for.
 */
class RequestContext {
  private child?: Logger;

  constructor(
    private readonly root: Logger,
    private readonly req: LoggedRequest,
  ) {}

  get requestId(): string | undefined {
    const id: unknown = this.req.id;
    return typeof id === 'string' ? id : undefined;
  }

  get logger(): Logger {
    this.child ??= this.root.child({
      req: { id: this.req.id, method: this.req.method, url: this.req.originalUrl },
    });
    return this.child;
  }

  set logger(logger: Logger) {
    this.child = logger;
  }
}
