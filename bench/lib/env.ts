import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadStackEnv, stack, Stack, STACK_ENV_FILE, stackDir } from '../../test/support/stack';

/** The running test stack, as test/support/stack.ts reads it for every suite. */
export type StackEnv = Stack;

export const ROOT = resolve(__dirname, '..', '..');

/**
 * The running test stack: the STACK_* variables of the environment, else this checkout's
 * `.stack/run/env` (`scripts/stack/stack.sh up` writes it). Throws with the command to run when
 * neither is there: the MLflow and S3 parts need it, the embedded parts do not.
 */
export function stackEnv(): StackEnv {
  if (!loadStackEnv()) {
    throw new Error(
      `the test stack is not running (no STACK_* variables, and ${STACK_ENV_FILE} is missing): ` +
        'start it with `scripts/stack/stack.sh up` (or `source` the env file of a running one), ' +
        'or run only the embedded parts with `npm run bench -- --embedded-only`',
    );
  }
  return stack();
}

/** The pid the stack recorded for one of its services (`mlflow`, `s3`, ...), if it is running. */
export function stackPid(service: string): number | undefined {
  const pidFile = join(stackDir(), 'run', `${service}.pid`);
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
