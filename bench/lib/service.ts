import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { ROOT } from './env';
import { call } from './http';
import { pidCpuSeconds, statusBytes } from '../../test/support/proc-stats';

export const SECRET = 'bench-secret-0123456789-0123456789-abcdef';
export const BASE = '/api/v1/ml/registry';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function token(tenant: string, roles: string[], sub = 'bench'): Promise<string> {
  return new SignJWT({ tenant_id: tenant, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('4h')
    .sign(new TextEncoder().encode(SECRET));
}

/** A child process serving HTTP on 127.0.0.1:port, with its RSS readable from /proc. */
export class Child {
  private exited = false;
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly port: number,
    readonly dataDir?: string,
  ) {
    proc.on('exit', () => (this.exited = true));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** VmRSS of the child, bytes. */
  rss(): number {
    // Throws once the child is gone: RssSampler counts on it.
    return statusBytes(this.proc.pid!, ['VmRSS']).VmRSS ?? NaN;
  }

  /** CPU seconds (user + system) the child has used so far. */
  cpuSeconds(): number {
    return pidCpuSeconds(this.proc.pid!);
  }

  async waitReady(path: string, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.exited) throw new Error(`${this.name} exited during startup (see its log)`);
      const ok = await call('GET', `${this.url}${path}`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(150);
    }
    throw new Error(`${this.name} not ready on ${this.url}${path} after ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
      if (!this.exited) this.proc.kill('SIGKILL');
    }
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface ServiceOptions {
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  dataDir?: string;
  log?: string;
}

/** The built service (`node dist/main.js`) as a child process on a free port. */
export async function startService(name: string, options: ServiceOptions = {}): Promise<Child> {
  const main = join(ROOT, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npx nest build\` first`);
  const port = await freePort();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'registry-bench-'));
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), main], {
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
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const child = new Child(name, proc, port, options.dataDir ? undefined : dataDir);
  try {
    await child.waitReady('/health/live');
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}

/** The bare NestJS app (bench/bare-app.ts) on Express or Fastify, answering `jsonFile`. */
export async function startBare(adapter: 'express' | 'fastify', jsonFile: string): Promise<Child> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      join(ROOT, 'bench', 'bare-app.ts'),
      adapter,
      String(port),
      jsonFile,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'bench', 'tsconfig.json') },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const child = new Child(`bare-${adapter}`, proc, port);
  await child.waitReady('/ready');
  return child;
}
