import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The worktree this file belongs to: the service is built and run from here. */
export const ROOT = resolve(__dirname, '..', '..');
/** The built service: what `npm start` runs. */
export const MAIN = join(ROOT, 'dist', 'main.js');
/** The service's AUTH_JWT_SECRET, for the tokens the tests mint. */
export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds the service (`nest build` → dist/) unless the last build made here is newer than every
 * file in src/. Several jest workers (or the load script) may call this at once: a directory
 * lock makes one of them build while the others wait.
 */
export function ensureBuilt(): void {
  const stamp = join(ROOT, 'dist', '.built-at');
  const fresh = (): boolean =>
    existsSync(MAIN) &&
    existsSync(stamp) &&
    statSync(stamp).mtimeMs >= newestMtime(join(ROOT, 'src'));
  if (fresh()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const lock = join(ROOT, 'dist', '.build-lock');
  const until = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // a lock left by a build that was killed
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      if (Date.now() > until) throw new Error(`${lock} is held for too long`);
      sleepSync(500);
    }
  }
  try {
    if (!fresh()) {
      const startedAt = Date.now();
      execFileSync(join(ROOT, 'node_modules', '.bin', 'nest'), ['build'], {
        cwd: ROOT,
        stdio: 'inherit',
      });
      writeFileSync(stamp, new Date(startedAt).toISOString() + '\n');
      // the stamp says when the build started: a source saved during it is newer
      utimesSync(stamp, startedAt / 1000, startedAt / 1000);
    }
  } finally {
    rmdirSync(lock);
  }
}

/** A TCP port nobody listens on right now (on loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** How to run one node process that serves HTTP on 127.0.0.1 (the service, the bench's bare app). */
export interface LaunchOptions {
  /** Names the process in errors. */
  name?: string;
  /** node's arguments: its flags, the script and the script's own arguments. */
  args: string[];
  port: number;
  /** The whole environment of the process: nothing is inherited from this one. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Polled until it answers 200. */
  readyPath: string;
  /** How long to wait for readyPath (ms). */
  readyTimeoutMs?: number;
  /**
   * 'capture' (the default): stdout and stderr kept for output() and onOutput, which the tests
   * read. 'stderr': stdout to /dev/null, stderr to this process's, nothing kept: the bench's
   * choice, as a pipe read by the process that measures would take its CPU, and a full one
   * would slow the service down.
   */
  output?: 'capture' | 'stderr';
  /** Sees every chunk the process writes to stdout or stderr (with 'capture'). */
  onOutput?: (chunk: string) => void;
}

export interface ServiceOptions {
  dataDir: string;
  /** Extra environment (backends, intervals); overrides the defaults below. */
  env?: Record<string, string>;
  /** Fixed port; a free one by default (kept across restarts). */
  port?: number;
  /** How long to wait for /health/ready (ms). */
  readyTimeoutMs?: number;
  /** Flags for node itself, before dist/main.js (e.g. --trace-gc). */
  nodeArgs?: string[];
  /** Sees every chunk the process writes to stdout or stderr. */
  onOutput?: (chunk: string) => void;
}

export interface ServiceProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr (pino JSON lines); '' unless captured. */
  output(): string;
  /** Sends a signal and resolves once the process has exited, with its exit code/signal. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: the process dies at once, whatever it was doing. */
  kill(): Promise<void>;
  /** A new process on the same DATA_DIR, port and environment (after stop/kill). */
  restart(): Promise<ServiceProcess>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function waitReady(
  name: string,
  url: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited before it was ready (${child.exitCode ?? child.signalCode})`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} was not ready within ${timeoutMs} ms: ${last}`);
}

/** Starts a node process serving HTTP and resolves once its readyPath answers 200. */
export async function launch(options: LaunchOptions): Promise<ServiceProcess> {
  const name = options.name ?? 'the service';
  const url = `http://127.0.0.1:${options.port}`;
  const capture = (options.output ?? 'capture') === 'capture';
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', capture ? 'pipe' : 'ignore', capture ? 'pipe' : 'inherit'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    const text = chunk.toString();
    options.onOutput?.(text);
    output += text;
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  try {
    await waitReady(name, `${url}${options.readyPath}`, child, options.readyTimeoutMs ?? 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    const tail = capture
      ? `\n--- service output ---\n${output.slice(-5000)}`
      : ' (its stderr is above)';
    throw new Error(`${(err as Error).message}${tail}`);
  }
  const service: ServiceProcess = {
    pid: child.pid ?? -1,
    port: options.port,
    url,
    child,
    exited,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      await service.kill();
      return launch(options);
    },
  };
  return service;
}

/**
 * Starts the real service (`node dist/main.js`, built by ensureBuilt) as a child process on
 * `dataDir`, and resolves once /health/ready answers 200.
 */
export async function startService(options: ServiceOptions): Promise<ServiceProcess> {
  ensureBuilt();
  const port = options.port ?? (await freePort());
  return launch({
    args: [...(options.nodeArgs ?? []), MAIN],
    port,
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: options.dataDir,
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'warn',
      APPROVAL_RETRY_INTERVAL_MS: '200',
      SHUTDOWN_GRACE_MS: '2000',
      ...options.env,
    },
    readyPath: '/health/ready',
    readyTimeoutMs: options.readyTimeoutMs,
    onOutput: options.onOutput,
  });
}

// Kept here too: the tests import it from the launcher, the process whose RSS they read.
export { rssBytes } from './proc-stats';
