import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, freePort, launch, ROOT, ServiceProcess } from './support/service-process';

/**
 * `npm run token` as a user runs it: a real npm, a real child process, against a real service
 * started from the same folder. The folder is a copy of the project (package.json, a built
 * dist/, the sources and node_modules linked) in a temporary directory, so the default
 * DATA_DIR (./data) and `.env` are that folder's, never the worktree's own.
 */

jest.setTimeout(60_000);

const BASE = '/api/v1/ml/registry';
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function baseEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
  };
}

function sh(command: string, cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { cwd, env: { ...baseEnv(), ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const token = (args: string, cwd: string, env?: Record<string, string>): Promise<Run> =>
  sh(`npm run -s token -- ${args}`, cwd, env);

/** A folder laid out like a fresh clone after `npm install` and a build. */
function projectCopy(): string {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'token-cli-'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  // A copy, not a link: the service then knows this folder as its package folder.
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  for (const name of ['node_modules', 'src', 'scripts']) {
    symlinkSync(join(ROOT, name), join(dir, name));
  }
  return dir;
}

/** The service as `npm start` runs it (node dist/main.js from the folder), no AUTH_* set. */
async function startFrom(dir: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const port = await freePort();
  return launch({
    args: [join(dir, 'dist', 'main.js')],
    port,
    cwd: dir,
    env: { ...baseEnv(), NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), ...env },
    readyPath: '/health/ready',
  });
}

/** The command the service's startup line says to run. */
function printedCommand(service: ServiceProcess): string {
  for (const text of service.output().split('\n')) {
    if (!text.startsWith('{')) continue;
    const msg = (JSON.parse(text) as { msg?: string }).msg ?? '';
    const match = /Mint a token with: (.+)$/.exec(msg);
    if (match) return match[1];
  }
  throw new Error(`no mint command in the startup output:\n${service.output()}`);
}

async function get(service: ServiceProcess, jwt: string): Promise<Response> {
  return fetch(`${service.url}${BASE}/models`, { headers: { Authorization: `Bearer ${jwt}` } });
}

describe('npm run token (a real child process)', () => {
  let dir: string;
  const services: ServiceProcess[] = [];

  beforeAll(() => {
    dir = projectCopy();
  });
  afterAll(async () => {
    for (const service of services) await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help prints the usage on stdout and exits 0', async () => {
    const run = await token('--help', dir);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Mints a bearer token/);
    expect(run.stdout).toContain('--ttl <time>');
    expect(run.stdout).toContain('T=$(npm run -s token -- --sub alice');
    expect((await token('-h', dir)).stdout).toBe(run.stdout);
  });

  it.each([
    ['--sub alice --tenant acme --ttl 5', /--ttl '5' is not a duration: give a number and a unit/],
    ['--sub alice --tenant acme --ttl 0h', /--ttl must be longer than 0/],
    ['--sub alice --tenant acme --ttl 400d', /--ttl may be at most 365d/],
    ['--sub alice --tenant acme --bogus', /Unknown option '--bogus'/],
    ['--sub alice --tenant acme extra', /positional argument/i],
    ['--tenant acme', /--sub is required/],
    ['--sub alice --tenant', /--tenant <value>' argument missing/],
    ['--sub alice --tenant "acme corp"', /--tenant 'acme corp' is not a tenant id/],
    ['--sub alice --tenant acme --roles root', /unknown role\(s\) root; roles are viewer/],
    ['--sub alice --tenant acme --roles ,', /--roles names no role/],
  ])('refuses `%s` with a message, no stack trace, exit 2', async (args, message) => {
    const run = await token(args, dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^token: .*\nusage: npm run -s token -- --sub <user>/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses to mint when the service only takes tokens from an identity provider', async () => {
    const run = await token('--sub alice --tenant acme', dir, {
      AUTH_JWKS_URI: 'https://idp.example/jwks.json',
      AUTH_AUDIENCE: 'registry',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/identity provider only \(AUTH_JWKS_URI/);
  });

  it('with the default DATA_DIR: prints only the token, which the service from the same folder accepts; so does the command its startup line prints', async () => {
    const service = await startFrom(dir);
    services.push(service);
    const command = printedCommand(service);
    expect(command).toBe('npm run -s token -- --sub alice --tenant acme-corp --roles editor');

    const run = await sh(
      `T=$(npm run -s token -- --sub bob --tenant acme-corp --roles viewer --ttl 90s) && printf %s "$T"`,
      dir,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(JWT);
    expect(run.stderr).toContain(join(dir, 'data', '.dev-jwt-secret'));
    expect((await get(service, run.stdout)).status).toBe(200);

    const printed = await sh(command, dir);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect((await get(service, printed.stdout.trim())).status).toBe(200);
    await service.stop();
  });

  it("with another DATA_DIR: the printed command names it, and a token of another folder's secret gets a 401 that says so", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'token-cli-data-'));
    try {
      const service = await startFrom(dir, { DATA_DIR: elsewhere });
      services.push(service);
      const command = printedCommand(service);
      expect(command).toBe(
        `DATA_DIR=${elsewhere} npm run -s token -- --sub alice --tenant acme-corp --roles editor`,
      );
      const printed = await sh(command, dir);
      expect(printed.code).toBe(0);
      expect((await get(service, printed.stdout.trim())).status).toBe(200);

      // Minted without that DATA_DIR: signed with the folder's own ./data secret.
      const stray = await token('--sub alice --tenant acme-corp --roles editor', dir);
      expect(stray.code).toBe(0);
      const res = await get(service, stray.stdout.trim());
      expect(res.status).toBe(401);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(
        ['code', 'error', 'message', 'request_id', 'statusCode'].sort(),
      );
      expect(body).toMatchObject({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'UNAUTHENTICATED',
      });
      expect(body.message).toMatch(/^token signature is invalid; /);
      expect(body.message).toMatch(/may be signed with another development secret/);
      expect(body.message).toMatch(/`npm run -s token -- --sub <user>.*same DATA_DIR/);
      expect(body.message).not.toContain(elsewhere);
      await service.stop();
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("reads the folder's .env as the service does: DATA_DIR there, the same secret", async () => {
    writeFileSync(join(dir, '.env'), 'DATA_DIR=./env-data\n');
    try {
      const service = await startFrom(dir);
      services.push(service);
      expect(printedCommand(service)).toBe(
        `DATA_DIR=${join(dir, 'env-data')} npm run -s token -- --sub alice --tenant acme-corp --roles editor`,
      );
      const run = await token('--sub alice --tenant acme-corp --roles editor', dir);
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(join(dir, 'env-data', '.dev-jwt-secret'));
      expect((await get(service, run.stdout.trim())).status).toBe(200);
      await service.stop();
    } finally {
      rmSync(join(dir, '.env'));
    }
  });
});
