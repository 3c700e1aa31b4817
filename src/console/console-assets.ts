import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { UiSettings } from '../config/ui-settings';

/** The files scripts/build-ui.mjs writes into dist/ui/, with their content types. */
export const CONSOLE_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
} as const;
export type ConsoleFile = keyof typeof CONSOLE_FILES;

/** The package's root: the nearest folder above this file with a package.json (src/ or dist/). */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Where the bundle is, whether the service runs from dist/ (npm start) or from src/ (tests). */
export function consoleBundleDir(): string {
  return join(packageRoot(), 'dist', 'ui');
}

/**
 * The page's own Content-Security-Policy: its script and stylesheet from this origin only (no
 * inline script or style), calls to this origin and, with OIDC, to the provider (discovery and
 * the token exchange are fetches from the page); nothing may frame it.
 */
export function consoleCsp(ui: UiSettings): string {
  const connect = ["'self'"];
  if (ui.oidc !== undefined) connect.push(new URL(ui.oidc.issuer).origin);
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect.join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

/** What the page reads at /ui/config.json: snake_case, like the API. */
export function consoleConfig(ui: UiSettings, apiBase: string): Record<string, unknown> {
  return {
    api_base: apiBase,
    oidc:
      ui.oidc === undefined
        ? null
        : {
            issuer: ui.oidc.issuer,
            client_id: ui.oidc.clientId,
            scope: ui.oidc.scope,
            resource: ui.oidc.resource ?? null,
          },
  };
}

/** Reads a bundle file once it exists; undefined while the console is not built. */
export class ConsoleBundle {
  private readonly cache = new Map<ConsoleFile, Buffer>();

  constructor(private readonly dir: string) {}

  read(file: ConsoleFile): Buffer | undefined {
    const cached = this.cache.get(file);
    if (cached !== undefined) return cached;
    const path = join(this.dir, file);
    if (!existsSync(path)) return undefined;
    const body = readFileSync(path);
    this.cache.set(file, body);
    return body;
  }
}
