import type { Logger } from 'pino';

/**
 * The exit code of a process ended by an error nothing caught (EX_SOFTWARE of sysexits.h):
 * distinct from 1, which a refused configuration exits with, so a supervisor's log tells the
 * two apart.
 */
export const FATAL_EXIT_CODE = 70;

export interface FatalErrorOptions {
  /** The logger the line goes to (the process's one logger). */
  logger: Logger;
  /** The id of the request being served when the error was thrown, if any. */
  requestId: () => string | undefined;
  /** Writes out what the logger still buffers, synchronously. */
  flush: () => void;
  /** The process to watch and end (a test passes its own). */
  process?: Pick<NodeJS.Process, 'on' | 'exit'>;
}

/**
 * What the process does with an exception nothing caught, or a promise rejection nothing
 * handled: one `fatal` line naming the error and the request being served (a callback keeps
 * the request's context, so a timer of request 42 that throws is logged as request 42), then
 * exit with FATAL_EXIT_CODE at once, and the supervisor (Docker's `restart:`, Kubernetes)
 * starts a new process.
 *
 * Why not carry on: after an error nobody caught, the process's state is unknown (a lock held,
 * a stream half written, a listener missing), and Node's documentation says as much. Nothing
 * acknowledged is lost by exiting: every acknowledged write is committed (SQLite with
 * synchronous=FULL, or PostgreSQL), a transition in flight left an intent the reconciler settles
 * at the next start, an upload cut off is swept, and a client's retry with its Idempotency-Key
 * gets the answer or runs again. Requests in flight see their connection close.
 */
export function exitOnFatalErrors(options: FatalErrorOptions): void {
  const proc = options.process ?? process;
  let exiting = false;
  const fatal = (err: unknown, origin: string): void => {
    if (exiting) return;
    exiting = true;
    try {
      const requestId = options.requestId();
      // `req.id`, as in every other line about a request: one query finds them all.
      options.logger.fatal(
        { err, origin, ...(requestId !== undefined && { req: { id: requestId } }) },
        'uncaught error: the process exits and its supervisor restarts it',
      );
      options.flush();
    } finally {
      proc.exit(FATAL_EXIT_CODE);
    }
  };
  // An unhandled rejection reaches 'uncaughtException' too (Node's default --unhandled-rejections
  // mode is `throw`), with origin 'unhandledRejection'.
  proc.on('uncaughtException', fatal);
}
