import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Reads `.env` from the working directory into `process.env` (variables already set win), as
 * the service does at start. The token script calls this same function, so the two read the
 * same file the same way and find the same secret and DATA_DIR.
 */
export function loadEnvironmentFile(dir: string = process.cwd()): void {
  const file = join(dir, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}
