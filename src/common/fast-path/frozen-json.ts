import type { Express, Response } from 'express';

/** Values that are deeply frozen and may be served many times (the memory cache's entries). */
const immutable = new WeakSet<object>();
/** Their JSON answer body, encoded once, on first use. */
const encoded = new WeakMap<object, Buffer>();

/**
 * Marks a deeply frozen value (nothing in it can change) as one whose JSON may be computed once
 * and reused for every answer that sends it. Returns the value.
 */
export function servedManyTimes<T>(value: T): T {
  if (typeof value === 'object' && value !== null) immutable.add(value);
  return value;
}

/**
 * `res.json` for the values marked by `servedManyTimes`: their body is serialized and encoded
 * once (a hot cached read otherwise stringifies the same answer on every request), then sent
 * exactly as Express's own `res.json` would send it (`Content-Type: application/json;
 * charset=utf-8`, Content-Length, HEAD, 304) — same status, headers and bytes. Anything else,
 * and any answer whose Content-Type was set before, goes to Express's `res.json` as before.
 * Installed only while the app keeps Express's default JSON settings (no replacer, spaces or
 * escaping), which the encoded bodies assume.
 */
export function serveFrozenJson(app: Express): void {
  if (
    app.get('json replacer') !== undefined ||
    app.get('json spaces') !== undefined ||
    app.get('json escape') !== undefined
  ) {
    return;
  }
  const response = app.response as Response;
  const json = response.json;
  response.json = function frozenJson(this: Response, body?: unknown): Response {
    if (typeof body !== 'object' || body === null || !immutable.has(body)) {
      return json.call(this, body);
    }
    if (this.get('Content-Type') !== undefined) return json.call(this, body);
    let bytes = encoded.get(body);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify(body), 'utf8');
      encoded.set(body, bytes);
    }
    this.setHeader('Content-Type', 'application/json; charset=utf-8');
    return this.send(bytes);
  };
}
