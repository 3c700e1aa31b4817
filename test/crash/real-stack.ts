import { Client } from 'pg';
import { freshDatabase, realBackendEnv, stack, uniqueNamespace } from '../support/stack';
import { TcpProxy } from '../support/tcp-proxy';

export interface Deployment {
  /** Environment for startService: every backend real, MLflow (and S3 if asked) via proxies. */
  env: Record<string, string>;
  databaseUrl: string;
  mlflow: TcpProxy;
  s3?: TcpProxy;
  /** Runs one query on the deployment's own PostgreSQL database. */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * One deployment of the service on the shared real stack, in a database and namespace of its
 * own, with MLflow (and optionally S3) reached through TCP proxies this test controls.
 */
export async function deployment(
  label: string,
  options: { proxyS3?: boolean } = {},
): Promise<Deployment> {
  const databaseUrl = await freshDatabase(`crash_${label}`);
  const s = stack();
  const mlflow = await TcpProxy.start(TcpProxy.targetOf(s.mlflowUri));
  const s3 = options.proxyS3 ? await TcpProxy.start(TcpProxy.targetOf(s.s3Endpoint)) : undefined;
  const env = {
    ...realBackendEnv({ namespace: uniqueNamespace(label), databaseUrl }),
    MLFLOW_TRACKING_URI: mlflow.url,
    ...(s3 ? { S3_ENDPOINT: s3.url } : {}),
    MLFLOW_TIMEOUT_MS: '5000',
  };
  return {
    env,
    databaseUrl,
    mlflow,
    s3,
    query: async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as T[];
      } finally {
        await client.end();
      }
    },
    close: async () => {
      await mlflow.close();
      await s3?.close();
    },
  };
}
