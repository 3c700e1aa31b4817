/** Markdown helpers for the report parts kept beside bench/report.ts. */
import type { TransferRun } from '../sections/artifacts';

export const pct = (x: number): string => `${Math.round(x * 100)}%`;

export function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export interface Goal {
  goal: string;
  figure: string;
  met: boolean;
}

/**
 * Section 3's CPU table: CPU seconds per GiB moved, by process, on both paths, for the runs that
 * measured it. `store` names the object store's process (the S3 server, Azurite).
 */
export function transferCpuTable(runs: TransferRun[], store: string): string {
  return table(
    [
      'direction',
      'size MiB',
      `direct: ${store}`,
      'direct: client',
      `service path: ${store}`,
      'service path: service',
      'service path: client',
      'CPU-bound ratio',
      'measured ratio',
    ],
    runs
      .filter((a) => a.cpu)
      .map((a) => [
        a.direction,
        a.sizeMiB,
        a.cpu!.direct.s3,
        a.cpu!.direct.client,
        a.cpu!.service.s3,
        a.cpu!.service.service,
        a.cpu!.service.client,
        pct(a.cpu!.cpuBoundRatio),
        pct(a.ratio ?? NaN),
      ]),
  );
}
