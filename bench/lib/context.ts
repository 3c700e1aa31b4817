import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StackEnv } from './env';

export interface Context {
  smoke: boolean;
  runId: string;
  /** Undefined with --embedded-only. */
  stack?: StackEnv;
  resultsDir: string;
  tmp: string;
  log: (message: string) => void;
}

/** Load durations (seconds) for one measured run and its warm-up. */
export function durations(ctx: Context): { warm: number; run: number } {
  return ctx.smoke ? { warm: 1, run: 1 } : { warm: 2, run: 8 };
}

/** A file of `bytes` random bytes (incompressible), written in 8 MiB blocks. */
export function randomFile(ctx: Context, name: string, bytes: number): string {
  const path = join(ctx.tmp, name);
  const fd = openSync(path, 'w');
  const block = randomBytes(8 * 1024 * 1024);
  try {
    for (let left = bytes; left > 0; left -= block.length) {
      writeSync(fd, block, 0, Math.min(left, block.length));
      block.writeUInt32LE(left >>> 0, 0); // no two blocks alike
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

export const MiB = 1024 * 1024;
