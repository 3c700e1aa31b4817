import autocannon from 'autocannon';

export interface LoadResult {
  label: string;
  url: string;
  connections: number;
  durationS: number;
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU milliseconds the server used per request, when its CPU time can be read. */
  cpuMsPerRequest?: number;
}

/** A fixed-duration closed-loop load (autocannon) on one URL; fails on errors or non-2xx. */
export async function load(
  label: string,
  url: string,
  options: {
    durationS: number;
    connections: number;
    headers?: Record<string, string>;
    method?: 'GET' | 'POST';
    body?: string;
    /** The server's CPU seconds so far (to report CPU per request). */
    cpu?: () => number;
  },
): Promise<LoadResult> {
  const cpuBefore = options.cpu?.();
  const result = await autocannon({
    url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    connections: options.connections,
    duration: options.durationS,
    pipelining: 1,
  });
  const out: LoadResult = {
    label,
    url,
    connections: options.connections,
    durationS: options.durationS,
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
  if (options.cpu && cpuBefore !== undefined && result.requests.total > 0) {
    out.cpuMsPerRequest =
      Math.round(((options.cpu() - cpuBefore) * 1000 * 1000) / result.requests.total) / 1000;
  }
  // No request completing within the duration is a result (a very slow server), not a failure.
  if (out.errors > 0 || out.non2xx > 0) {
    throw new Error(
      `${label}: ${out.errors} errors, ${out.non2xx} non-2xx answers of ${out.requests} requests (${url})`,
    );
  }
  return out;
}
