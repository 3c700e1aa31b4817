/*
 * For `FUZZ_BACKENDS=real npm run test:fuzz`: prints, one KEY=VALUE a line, the environment that
 * puts the fuzzed service on the real test stack (MLflow, S3, a fresh PostgreSQL database,
 * Redis) in a namespace of its own. Needs the STACK_* variables (.stack/run/env).
 */
import { freshDatabase, realBackendEnv, uniqueNamespace } from '../../test/support/stack';

async function main(): Promise<void> {
  const env = realBackendEnv({
    namespace: uniqueNamespace('fuzz'),
    databaseUrl: await freshDatabase('fuzz'),
  });
  for (const [key, value] of Object.entries(env)) process.stdout.write(`${key}=${value}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
