import { Client, ClientOptions } from 'minio';
import {
  Agent as HttpAgent,
  ClientRequest,
  IncomingMessage,
  request as httpRequest,
  RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { S3Settings } from '../../config/app-config';
import { RETRYABLE_STATUS } from './s3-errors';

/** The bounds on silence, in ms (see `S3StorageOptions` for what each covers). */
export interface Timeouts {
  requestMs: number;
  transferMs: number;
  copyMs: number;
}

/** Bodies larger than this are transfers (upload parts), under `transferIdleTimeoutMs`. */
const TRANSFER_BODY_BYTES = 64 * 1024;

class S3TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number, what: string) {
    super(`no answer from the object store for ${ms} ms (${what})`);
    this.name = 'S3TimeoutError';
  }
}

/**
 * The silence a request to the store may meet before its answer starts (`before`, which also
 * covers connecting and sending the body) and once it has (`after`), read from its shape.
 */
export function idleLimits(
  options: RequestOptions,
  t: Timeouts,
): { before: number; after: number } {
  const headers = (options.headers ?? {}) as Record<string, string | undefined>;
  const method = (options.method ?? 'GET').toUpperCase();
  const path = options.path ?? '/';
  let before = t.requestMs;
  let after = t.requestMs;
  if (headers['x-amz-copy-source'] !== undefined) {
    before = t.copyMs;
  } else if (method === 'POST' && /[?&]uploadId=/.test(path)) {
    before = t.copyMs;
  } else if (Number(headers['content-length'] ?? 0) > TRANSFER_BODY_BYTES) {
    before = t.transferMs;
  } else if (method === 'GET' && !path.includes('?')) {
    after = t.transferMs;
  }
  return { before, after };
}

/**
 * http(s).request with a bound on silence. Every request gets a socket timeout (it also covers
 * connecting); when it fires the request is destroyed, which fails the minio call (or the
 * download stream) with an error. The bound depends on what the request is, read from its
 * shape: server-side copies and CompleteMultipartUpload may legitimately work for long without
 * a byte, upload parts are bounded by idle time while they are sent, downloads by idle time once
 * their answer started, everything else by `requestMs`.
 */
function timedTransport(useSSL: boolean, t: Timeouts): NonNullable<ClientOptions['transport']> {
  const base = useSSL ? httpsRequest : httpRequest;
  const request = (
    options: RequestOptions,
    callback?: (res: IncomingMessage) => void,
  ): ClientRequest => {
    const method = (options.method ?? 'GET').toUpperCase();
    const path = options.path ?? '/';
    const { before, after } = idleLimits(options, t);
    let limit = before;
    const req = base({ ...options, timeout: before }, (res) => {
      // minio-js leaves these answers unread, which would hold the connection until the
      // timeout: drain them so that the connection goes back to the pool.
      if (RETRYABLE_STATUS.has(res.statusCode ?? 0)) res.resume();
      if (after !== before) {
        limit = after;
        req.setTimeout(after);
      }
      callback?.(res);
    });
    req.on('timeout', () => req.destroy(new S3TimeoutError(limit, `${method} ${path}`)));
    return req;
  };
  return { request } as unknown as NonNullable<ClientOptions['transport']>;
}

/**
 * The minio client for `settings`: path-style, on a keep-alive agent of its own (destroyed by
 * the caller at shutdown) and the timed transport, with minio's own retries off.
 */
export function connectS3(
  settings: S3Settings,
  partSize: number,
  timeouts: Timeouts,
): { client: Client; agent: HttpAgent } {
  const useSSL = settings.endpoint?.useSSL ?? true;
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, scheduling: 'lifo' as const };
  const agent = useSSL ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const client = new Client({
    endPoint: settings.endpoint?.host ?? 's3.amazonaws.com',
    port: settings.endpoint?.port,
    useSSL,
    region: settings.region,
    accessKey: settings.accessKey,
    secretKey: settings.secretKey,
    pathStyle: true,
    partSize,
    transportAgent: agent,
    transport: timedTransport(useSSL, timeouts),
    retryOptions: { disableRetry: true },
  });
  return { client, agent };
}
