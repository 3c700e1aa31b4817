import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { withTestStore } from './azure-stack';
import { TcpProxy } from './tcp-proxy';

/**
 * The real test stack started by `scripts/stack/stack.sh up` (MLflow, S3, PostgreSQL, Redis on
 * 127.0.0.1), as the STACK_* variables of its env file describe it. Integration suites only.
 */
export interface Stack {
  mlflowUri: string;
  s3Endpoint: string;
  s3AccessKey: string;
  s3SecretKey: string;
  s3Bucket: string;
  databaseUrl: string;
  redisUrl: string;
  script: string;
}

export type StackService = 'mlflow' | 's3' | 'postgres' | 'redis';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: integration tests need the real stack. Run them with ` +
        '`npm run test:integration` (it starts the stack), or `source .stack/run/env` after ' +
        '`scripts/stack/stack.sh up`.',
    );
  }
  return value;
}

/** The checkout this file belongs to. */
const ROOT = resolve(__dirname, '..', '..');

/** The env file `scripts/stack/stack.sh up` writes for the stack of this checkout. */
export const STACK_ENV_FILE = join(ROOT, '.stack', 'run', 'env');

/**
 * For the scripts and the bench, which are run by hand: sets the STACK_* variables from
 * STACK_ENV_FILE unless the environment has them already (a shell that sourced an env file,
 * perhaps of the stack another checkout started). Returns whether they are set. The jest suites
 * do not call it: they are given the variables (scripts/test-integration.sh).
 */
export function loadStackEnv(): boolean {
  if (process.env['STACK_MLFLOW_URI'] !== undefined) return true;
  if (!existsSync(STACK_ENV_FILE)) return false;
  for (const line of readFileSync(STACK_ENV_FILE, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?(STACK_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2].replace(/^["']|["']$/g, '');
  }
  return process.env['STACK_MLFLOW_URI'] !== undefined;
}

/**
 * The state folder of the running stack (pid files, the MLflow venv): the `.stack/` beside the
 * stack.sh that started it (STACK_SCRIPT), which is not this checkout's in a git worktree.
 * stack.sh's own STACK_DIR override wins, as it does there.
 */
export function stackDir(): string {
  const script = process.env['STACK_SCRIPT'];
  return (
    process.env['STACK_DIR'] ??
    (script ? resolve(dirname(script), '..', '..', '.stack') : join(ROOT, '.stack'))
  );
}

export function stack(): Stack {
  return {
    mlflowUri: required('STACK_MLFLOW_URI'),
    s3Endpoint: required('STACK_S3_ENDPOINT'),
    s3AccessKey: required('STACK_S3_ACCESS_KEY'),
    s3SecretKey: required('STACK_S3_SECRET_KEY'),
    s3Bucket: required('STACK_S3_BUCKET'),
    databaseUrl: required('STACK_DATABASE_URL'),
    redisUrl: required('STACK_REDIS_URL'),
    script: required('STACK_SCRIPT'),
  };
}

/** A new, empty PostgreSQL database on the stack's server; returns its URL. */
export async function freshDatabase(label = 'test'): Promise<string> {
  const base = new URL(stack().databaseUrl);
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomUUID().slice(0, 8)}`;
  const client = new Client({ connectionString: base.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  base.pathname = `/${name}`;
  return base.toString();
}

/**
 * A new, empty database (as freshDatabase) reached through a TcpProxy, so that a test can make
 * PostgreSQL fail as the server or the network does without touching the shared server.
 */
export async function proxiedDatabase(
  label: string,
): Promise<{ databaseUrl: string; proxy: TcpProxy }> {
  const databaseUrl = await freshDatabase(label);
  const u = new URL(databaseUrl);
  const proxy = await TcpProxy.start({ host: u.hostname, port: Number(u.port || 5432) });
  return { databaseUrl, proxy };
}

/** A short, unique namespace for one test app's MLflow names, cache keys and S3 prefix. */
export function uniqueNamespace(label = 't'): string {
  return `${label.replace(/[^a-z0-9]/gi, '').slice(0, 12)}-${randomUUID().slice(0, 8)}`;
}

/**
 * Environment for createTestApp that puts one app on every real backend: MLflow, S3 under its
 * own prefix, its own PostgreSQL database and Redis, all scoped by `namespace`. Two apps given
 * the same `databaseUrl` and `namespace` are two replicas of one deployment.
 */
export function realBackendEnv(options: {
  namespace: string;
  databaseUrl: string;
}): Record<string, string> {
  const s = stack();
  const env = {
    MLFLOW_TRACKING_URI: s.mlflowUri,
    MLFLOW_ARTIFACT_ROOT: `s3://${s.s3Bucket}/${options.namespace}`,
    S3_ENDPOINT: s.s3Endpoint,
    AWS_ACCESS_KEY_ID: s.s3AccessKey,
    AWS_SECRET_ACCESS_KEY: s.s3SecretKey,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: s.redisUrl,
    ML_REGISTRY_NAMESPACE: options.namespace,
  };
  // The `e2e-azure` project: the same deployment with its artifacts in Azurite.
  return withTestStore(env, options.namespace);
}

const run = promisify(execFile);

/** Stops or starts one service of the stack (fault injection); resolves once it is down/up. */
export async function stackService(action: 'stop' | 'start', service: StackService): Promise<void> {
  await run(stack().script, [action, service], { timeout: 180_000 });
}
