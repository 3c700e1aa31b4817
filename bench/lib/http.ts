import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One keep-alive agent for every sequential request of the bench (same client on both sides). */
export const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export interface Reply {
  status: number;
  body: string;
  ms: number;
  headers: Record<string, string | string[] | undefined>;
}

/** A request with a JSON (or no) body; resolves with status, body text and elapsed ms. */
export function call(
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - started,
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** call(), failing unless the status is the expected one; returns the parsed JSON body. */
export async function callOk<T = unknown>(
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
  expected: number[] = [200, 201],
): Promise<T & { __ms: number }> {
  const reply = await call(method, url, options);
  if (!expected.includes(reply.status)) {
    throw new Error(`${method} ${url} answered ${reply.status}: ${reply.body.slice(0, 300)}`);
  }
  const parsed = (reply.body === '' ? {} : JSON.parse(reply.body)) as T;
  return Object.assign(parsed as object, { __ms: reply.ms }) as T & { __ms: number };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function summarize(ms: number[]): LatencySummary {
  const mean = ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length);
  return {
    n: ms.length,
    p50: round(percentile(ms, 50)),
    p90: round(percentile(ms, 90)),
    p99: round(percentile(ms, 99)),
    mean: round(mean),
  };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
