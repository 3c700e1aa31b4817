import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { resolveTarget, TargetRefused } from './ssrf-guard';

/** At most this much of a receiver's answer is read; the rest is cut off. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export type SendOutcome =
  /** The receiver answered (any status; nothing of a redirect is followed). */
  | { kind: 'answered'; status: number; retryAfter?: string; body: string }
  /** No answer: connection refused or reset, DNS failure, timeout. Retried. */
  | { kind: 'network'; error: string }
  /** The target is not allowed (a forbidden address). Not retried. */
  | { kind: 'refused'; error: string };

export interface SendOptions {
  allowPrivateNetworks: boolean;
  timeoutMs: number;
}

/**
 * One POST of a signed body to a webhook's URL, with node:http(s): the name resolved and
 * checked by resolveTarget, the connection made to that address, with the name as Host and
 * TLS server name; the whole exchange bounded by `timeoutMs`; at most MAX_RESPONSE_BYTES of the
 * answer read. Never throws.
 */
export async function sendWebhook(
  url: URL,
  body: string,
  headers: Record<string, string>,
  options: SendOptions,
): Promise<SendOutcome> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  let target: { address: string; family: 4 | 6 };
  try {
    target = await Promise.race([
      resolveTarget(url.hostname, options.allowPrivateNetworks),
      new Promise<never>((_, reject) =>
        deadline.addEventListener('abort', () => reject(new Error('DNS lookup timed out'))),
      ),
    ]);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return err instanceof TargetRefused
      ? { kind: 'refused', error: message }
      : { kind: 'network', error: message };
  }
  const https = url.protocol === 'https:';
  const name = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => finish({ kind: 'network', error: `no answer within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    const req = (https ? httpsRequest : httpRequest)({
      host: target.address,
      family: target.family,
      port: url.port !== '' ? Number(url.port) : https ? 443 : 80,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      // SNI and certificate checks against the name, not the address (none for an IP literal).
      ...(https && name !== target.address ? { servername: name } : {}),
      headers: {
        ...headers,
        host: url.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'model-registry-webhooks/1',
      },
      agent: false,
    });
    req.on('error', (err) => finish({ kind: 'network', error: err.message }));
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (): void => {
        const retryAfter = res.headers['retry-after'];
        finish({
          kind: 'answered',
          status: res.statusCode ?? 0,
          retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      };
      res.on('data', (chunk: Buffer) => {
        const room = MAX_RESPONSE_BYTES - size;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size += chunk.length;
        // Enough read: the rest of a huge answer is not waited for.
        if (size >= MAX_RESPONSE_BYTES) done();
      });
      res.on('end', done);
      res.on('error', (err) => finish({ kind: 'network', error: err.message }));
    });
    req.end(body);
  });
}
