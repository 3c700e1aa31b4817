import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

const LIFT = Symbol('liftRequestDeadline');

type DeadlineRequest = IncomingMessage & { [LIFT]?: () => void };

/**
 * Whether a request announced a body (RFC 9112: Content-Length other than 0, or
 * Transfer-Encoding). A request without either has none: nothing to wait for (most GETs).
 */
export function announcesBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/**
 * Node's own request timeout is off (a multi-GiB upload may take hours), so this puts a limit
 * back on every request: its body must have arrived within `deadlineMs`, or the connection is
 * closed. It stops a client that trickles or withholds a body (before it is even authenticated)
 * from holding a connection forever, including after the service has answered it early (a 401,
 * 403, 404, 413, 415 or 429 sent before the body was read: Node then reads and drops the rest
 * of the body, for as long as the client sends it).
 *
 * The timer may fire at any point of the request's life, also long after the answer was sent,
 * so it touches nothing but the socket: no header, no write (setting a header on an answer
 * already sent throws, and a throw in a timer ends the process).
 *
 * Only a route that streams its body on purpose (the artifact upload, once its caller is
 * authenticated and allowed) lifts the deadline, with `liftRequestDeadline`; the idle timeout
 * still applies to it. Deciding this in the route rather than by matching the URL here means
 * every path Express routes to the upload (`/artifacts/`, other letter case) is treated alike.
 */
export function requestDeadline(deadlineMs: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (announcesBody(req) && !req.complete) {
      const timer = setTimeout(() => {
        if (!req.complete) req.socket.destroy();
      }, deadlineMs);
      timer.unref();
      const clear = (): void => clearTimeout(timer);
      req.once('end', clear);
      req.once('close', clear);
      (req as DeadlineRequest)[LIFT] = clear;
    }
    next();
  };
}

/** For a route that reads a long body on purpose: the request deadline no longer applies. */
export function liftRequestDeadline(req: IncomingMessage): void {
  (req as DeadlineRequest)[LIFT]?.();
}

/**
 * Asks for the connection to be closed once the answer is sent (the rest of a refused body is
 * not worth reading). A no-op once the answer's headers are out: a header cannot be added any
 * more, and trying would throw.
 */
export function closeAfterAnswer(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
