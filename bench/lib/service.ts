import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { pidCpuSeconds, statusBytes } from '../../test/support/proc-stats';
import { freePort, launch, ServiceProcess } from '../../test/support/service-process';
import { ROOT } from './env';

export const SECRET = 'bench-secret-0123456789-0123456789-abcdef';
export const BASE = '/api/v1/ml/registry';

export function token(tenant: string, roles: string[], sub = 'bench'): Promise<string> {
  return new SignJWT({ tenant_id: tenant, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('4h')
    .sign(new TextEncoder().encode(SECRET));
}

/** A child process serving HTTP on 127.0.0.1:port, with its RSS and CPU time read from /proc. */
export class Child {
  constructor(
    readonly name: string,
    private readonly proc: ServiceProcess,
    /** A data directory made for it, removed once it stopped. */
    private readonly dataDir?: string,
  ) {}

  get url(): string {
    return this.proc.url;
  }

  /** VmRSS of the child, bytes. */
  rss(): number {
    // Throws once the child is gone: RssSampler counts on it.
    return statusBytes(this.proc.pid, ['VmRSS']).VmRSS ?? NaN;
  }

  /** CPU seconds (user + system) the child has used so far. */
  cpuSeconds(): number {
    return pidCpuSeconds(this.proc.pid);
  }

  /** SIGTERM, and SIGKILL if it has not exited 10 s later. */
  async stop(): Promise<void> {
    const exited = await Promise.race([this.proc.stop('SIGTERM'), sleep(10_000)]);
    if (exited === undefined) await this.proc.kill();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface ServiceOptions {
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  dataDir?: string;
}

/**
 * The built service (`node dist/main.js`) as a child process on a free port, run from its data
 * directory (so no .env of the checkout is read) and with nothing of this environment but PATH
 * and HOME: the bench's own settings, not the tests' (test/support/service-process.ts).
 */
export async function startService(name: string, options: ServiceOptions = {}): Promise<Child> {
  const main = join(ROOT, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npx nest build\` first`);
  const port = await freePort();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'registry-bench-'));
  try {
    const service = await launch({
      name,
      args: [...(options.nodeArgs ?? []), main],
      port,
      cwd: dataDir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        AUTH_JWT_SECRET: SECRET,
        LOG_LEVEL: 'info',
        // The per-user rate limit stays on (its cost is part of every request) but never limits
        // the load generator's single user.
        RATE_LIMIT_PER_MINUTE: '1000000000',
        ...options.env,
      },
      readyPath: '/health/live',
      output: 'stderr',
    });
    return new Child(name, service, options.dataDir ? undefined : dataDir);
  } catch (err) {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** The bare NestJS app (bench/bare-app.ts) on Express or Fastify, answering `jsonFile`. */
export async function startBare(adapter: 'express' | 'fastify', jsonFile: string): Promise<Child> {
  const port = await freePort();
  const bare = await launch({
    name: `bare-${adapter}`,
    args: [
      '-r',
      'ts-node/register/transpile-only',
      join(ROOT, 'bench', 'bare-app.ts'),
      adapter,
      String(port),
      jsonFile,
    ],
    port,
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'bench', 'tsconfig.json') },
    readyPath: '/ready',
    output: 'stderr',
  });
  return new Child(`bare-${adapter}`, bare);
}
