import type { NextFunction, Request, Response } from 'express';

/**
 * Node's own request timeout is off (a multi-GiB upload may take hours), so this puts a limit
 * back on every other request: its body must have arrived within `deadlineMs`, or the
 * connection is closed. It stops a client that trickles a JSON body byte by byte (before it is
 * even authenticated) from holding a connection forever. Uploads (`isUpload`) are exempt: they
 * are authenticated before their body is read, and the idle timeout still applies to them.
 */
export function requestDeadline(deadlineMs: number, isUpload: (req: Request) => boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112): nothing to
    // wait for, no timer to set (most GETs).
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (hasBody && !isUpload(req) && !req.complete) {
      const timer = setTimeout(() => {
        if (req.complete) return;
        res.setHeader('Connection', 'close');
        req.socket.destroy();
      }, deadlineMs);
      timer.unref();
      const clear = () => clearTimeout(timer);
      req.once('end', clear);
      req.once('close', clear);
    }
    next();
  };
}
