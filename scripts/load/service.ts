/** The service under load: started with --trace-gc (and a heap cap), and the tokens to call it. */
import { SignJWT } from 'jose';
import { ServiceProcess, startService, TEST_SECRET } from '../../test/support/service-process';
import {
  freshDatabase,
  loadStackEnv,
  realBackendEnv,
  STACK_ENV_FILE,
  uniqueNamespace,
} from '../../test/support/stack';
import type { GcTrace } from './memory';
import type { Options } from './options';

export const token = (sub: string, roles: string[]): Promise<string> =>
  new SignJWT({ tenant_id: 'load-tenant', roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setSubject(sub)
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(TEST_SECRET));

async function realEnv(): Promise<Record<string, string>> {
  if (!loadStackEnv()) throw new Error(`--real needs the test stack: ${STACK_ENV_FILE} is missing`);
  const databaseUrl = await freshDatabase('load');
  return realBackendEnv({ namespace: uniqueNamespace('load'), databaseUrl });
}

/** The service's environment: embedded, or on the test stack with --real. */
export async function serviceEnv(o: Options): Promise<Record<string, string>> {
  return {
    LOG_LEVEL: 'warn',
    APPROVAL_RETRY_INTERVAL_MS: '1000',
    // The per-user rate limit stays on, high enough for the workload's few users.
    RATE_LIMIT_PER_MINUTE: '1000000',
    ML_REGISTRY_CACHE_TTL: String(o.cacheTtl),
    ...(o.real ? await realEnv() : {}),
  };
}

/** Starts the service on `dataDir`, its GC trace going to `gc`. */
export function startUnderLoad(
  o: Options,
  dataDir: string,
  env: Record<string, string>,
  gc: GcTrace,
): Promise<ServiceProcess> {
  return startService({
    dataDir,
    env: { ...env, ...o.serviceEnv },
    nodeArgs: ['--trace-gc', ...(o.heapLimit ? [`--max-old-space-size=${o.heapLimit}`] : [])],
    onOutput: gc.onOutput,
  });
}
