import type { NextFunction, Request, Response } from 'express';

const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE';
/** Range and the validators are what a browser needs to resume a download or revalidate a copy. */
const ALLOWED_HEADERS =
  'Authorization, Content-Type, Idempotency-Key, Range, If-None-Match, If-Range';
/** Response headers a browser client may read besides the simple ones. */
const EXPOSED_HEADERS = [
  'Location',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Idempotent-Replayed',
  'X-Checksum-SHA256',
  'Content-Disposition',
  'ETag',
  'Repr-Digest',
  'Accept-Ranges',
  'Content-Range',
].join(', ');

/**
 * CORS, closed unless CORS_ORIGINS names origins: a browser page of another origin gets no
 * `Access-Control-Allow-*` header, so it can neither read answers nor send preflighted requests.
 * Credentials (cookies) are never allowed: the API authenticates with a bearer header.
 */
export function cors(origins: string[]) {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (origin === undefined || origins.length === 0) return next();
    res.vary('Origin');
    if (!any && !allowed.has(origin)) return next();
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    next();
  };
}
