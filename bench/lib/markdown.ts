/** Markdown helpers for the report parts kept beside bench/report.ts. */

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
