import autocannon from 'autocannon';
import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * A process's /proc/<pid>/stat fields after the command name (which may hold spaces): [2] is
 * its process group, [11] and [12] its user and system CPU time in clock ticks.
 */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const cpuSecondsOf = (fields: string[]): number => (Number(fields[11]) + Number(fields[12])) / 100;

/** CPU seconds (user + system) one process has used so far (from /proc). */
export function pidCpuSeconds(pid: number): number {
  return cpuSecondsOf(statFields(pid));
}

/** CPU seconds used so far by every process of a process group (from /proc). */
export function groupCpuSeconds(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(entry);
      if (Number(fields[2]) === pgid) total += cpuSecondsOf(fields);
    } catch {
      // gone meanwhile
    }
  }
  return total;
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
