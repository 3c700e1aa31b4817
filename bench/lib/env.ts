import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface StackEnv {
  mlflowUri: string;
  s3Endpoint: string;
  s3AccessKey: string;
  s3SecretKey: string;
  s3Bucket: string;
  databaseUrl: string;
  redisUrl: string;
}

export const ROOT = resolve(__dirname, '..', '..');
const ENV_FILE = resolve(ROOT, '.stack', 'run', 'env');

/**
 * The running test stack (`scripts/stack/stack.sh up` writes `.stack/run/env`). Throws with the
 * command to run when it is absent: the MLflow and S3 parts need it, the embedded parts do not.
 */
export function stackEnv(): StackEnv {
  if (!existsSync(ENV_FILE)) {
    throw new Error(
      `the test stack is not running (${ENV_FILE} is missing): start it with ` +
        '`scripts/stack/stack.sh up`, or run only the embedded parts with `npm run bench -- --embedded-only`',
    );
  }
  const vars: Record<string, string> = {};
  for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?(STACK_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  }
  const need = (k: string): string => {
    const v = vars[k];
    if (!v)
      throw new Error(`${ENV_FILE} has no ${k}: restart the stack (scripts/stack/stack.sh up)`);
    return v;
  };
  return {
    mlflowUri: need('STACK_MLFLOW_URI'),
    s3Endpoint: need('STACK_S3_ENDPOINT'),
    s3AccessKey: need('STACK_S3_ACCESS_KEY'),
    s3SecretKey: need('STACK_S3_SECRET_KEY'),
    s3Bucket: need('STACK_S3_BUCKET'),
    databaseUrl: need('STACK_DATABASE_URL'),
    redisUrl: need('STACK_REDIS_URL'),
  };
}

/** The pid the stack recorded for one of its services (`mlflow`, `s3`, ...), if it is running. */
export function stackPid(service: string): number | undefined {
  const pidFile = resolve(ROOT, '.stack', 'run', `${service}.pid`);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Service environment for the real backends of the stack (MLflow + S3). */
export function realBackendEnv(stack: StackEnv, runId: string): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: stack.mlflowUri,
    MLFLOW_ARTIFACT_ROOT: `s3://${stack.s3Bucket}/bench-${runId}`,
    S3_ENDPOINT: stack.s3Endpoint,
    AWS_ACCESS_KEY_ID: stack.s3AccessKey,
    AWS_SECRET_ACCESS_KEY: stack.s3SecretKey,
    ML_REGISTRY_NAMESPACE: `bench-${runId}`,
  };
}
