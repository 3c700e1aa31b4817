import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/** The example arguments of the mint command the service prints at start. */
export const TOKEN_EXAMPLE_ARGS = '--sub alice --tenant acme-corp --roles editor';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The exact shell command that mints a token signed with this service's development secret.
 * `npm run` works in the folder holding package.json and the token script reads `.env` and
 * `./data` from there: so the command is plain when the service runs from that folder with the
 * default DATA_DIR, and otherwise says where to go (`cd`) and which DATA_DIR to read.
 */
export function mintTokenCommand(options: {
  dataDir: string;
  /** The service's working directory. */
  cwd: string;
  /** The folder holding the service's package.json. */
  packageRoot: string;
}): string {
  const root = real(options.packageRoot);
  const parts: string[] = [];
  if (real(options.cwd) !== root) parts.push(`cd ${shellQuote(root)} &&`);
  if (real(options.dataDir) !== real(resolve(root, 'data'))) {
    parts.push(`DATA_DIR=${shellQuote(resolve(options.dataDir))}`);
  }
  parts.push(`npm run -s token -- ${TOKEN_EXAMPLE_ARGS}`);
  return parts.join(' ');
}
