import { readdirSync, readFileSync } from 'node:fs';

/**
 * What Linux's /proc says about a process: its memory (status) and its CPU time (stat). One
 * reader for the tests (rssBytes), the bench (RSS peaks, CPU per request) and the load run
 * (RSS by part, every second).
 */

/**
 * The `kB` fields of /proc/<pid>/status that are asked for (VmRSS, RssAnon, ...), in bytes;
 * a field the kernel does not report is undefined. Throws when the process is gone.
 */
export function statusBytes<K extends string>(
  pid: number,
  names: readonly K[],
): Record<K, number | undefined> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const out = {} as Record<K, number | undefined>;
  for (const name of names) {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    out[name] = match ? Number(match[1]) * 1024 : undefined;
  }
  return out;
}

/** Resident set size of a process, in bytes (Linux /proc); null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    return statusBytes(pid, ['VmRSS']).VmRSS ?? null;
  } catch {
    return null;
  }
}

/** The three parts VmRSS is the sum of, in bytes. */
export interface RssParts {
  anon: number;
  file: number;
  shmem: number;
}

/** RssAnon, RssFile and RssShmem of a process, in bytes (Linux), or null when it is gone. */
export function rssParts(pid: number): RssParts | null {
  try {
    const s = statusBytes(pid, ['RssAnon', 'RssFile', 'RssShmem']);
    return { anon: s.RssAnon ?? 0, file: s.RssFile ?? 0, shmem: s.RssShmem ?? 0 };
  } catch {
    return null;
  }
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
