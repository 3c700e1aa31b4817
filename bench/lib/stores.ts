import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Client } from 'minio';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pidCpuSeconds } from '../../test/support/proc-stats';
import { realBackendEnv, StackEnv, stackPid } from './env';

/**
 * An object store of the stack seen two ways: the service's environment for it, and a direct
 * client (the store's own SDK) putting and getting the same bytes, for the direct side of a
 * transfer ratio. The artifact and promotion sections run on each.
 */
export interface DirectStore {
  /** `s3` (the stack's SeaweedFS) or `azure` (the stack's Azurite). */
  name: 's3' | 'azure';
  /** What the direct side is, for the report. */
  client: string;
  /** The service's environment: MLflow of the stack, artifacts in this store under bench-<run>/. */
  serviceEnv: Record<string, string>;
  /** CPU seconds the store's server process has used so far (NaN when its pid is unknown). */
  serverCpu: () => number;
  /** Before the first timed transfer: what the direct client needs (Azure: the container). */
  prepare(): Promise<void>;
  put(key: string, file: string): Promise<void>;
  get(key: string): Promise<Readable>;
  remove(key: string): Promise<void>;
  /** Removes what the service and the direct client left under bench-<run>/. */
  cleanUp(): Promise<void>;
}

/** The stack's Azurite (STACK_AZURITE_*), when the stack has it. */
export interface AzuriteEnv {
  endpoint: string;
  account: string;
  key: string;
  container: string;
  connectionString: string;
}

export function azuriteEnv(): AzuriteEnv | undefined {
  const get = (name: string): string | undefined =>
    process.env[`STACK_AZURITE_${name}`] || undefined;
  const [endpoint, account, key, container, connectionString] = [
    'ENDPOINT',
    'ACCOUNT',
    'KEY',
    'CONTAINER',
    'CONNECTION_STRING',
  ].map(get);
  if (!endpoint || !account || !key || !container || !connectionString) return undefined;
  return { endpoint, account, key, container, connectionString };
}

/** CPU seconds of one of the stack's services (a single process), when its pid file is there. */
function serverCpuProbe(service: string): () => number {
  const pid = stackPid(service);
  return () => {
    try {
      return pid === undefined ? NaN : pidCpuSeconds(pid);
    } catch {
      return NaN;
    }
  };
}

export function minioClient(stack: StackEnv): Client {
  const url = new URL(stack.s3Endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: stack.s3AccessKey,
    secretKey: stack.s3SecretKey,
    region: 'us-east-1',
  });
}

/** The stack's S3 server, the minio client direct. */
export function s3Store(stack: StackEnv, runId: string): DirectStore {
  const s3 = minioClient(stack);
  return {
    name: 's3',
    client: 'the `minio` client `fPutObject` / `getObject`',
    serviceEnv: realBackendEnv(stack, runId),
    serverCpu: serverCpuProbe('s3'),
    prepare: () => Promise.resolve(),
    put: async (key, file) => {
      await s3.fPutObject(stack.s3Bucket, key, file);
    },
    get: (key) => s3.getObject(stack.s3Bucket, key),
    remove: (key) => s3.removeObject(stack.s3Bucket, key),
    // run.ts removes the run's S3 prefix once at the end.
    cleanUp: () => Promise.resolve(),
  };
}

/**
 * Service environment with the artifacts in Azurite instead of S3 (MLflow's wasbs:// form of
 * the root, signed with the connection string Azurite's account has): README, Azure part.
 */
export function azureBackendEnv(
  stack: StackEnv,
  azure: AzuriteEnv,
  runId: string,
): Record<string, string> {
  const env = { ...realBackendEnv(stack, runId) };
  for (const name of ['S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
    delete env[name];
  return {
    ...env,
    MLFLOW_ARTIFACT_ROOT: `wasbs://${azure.container}@${azure.account}.blob.core.windows.net/bench-${runId}`,
    AZURE_STORAGE_CONNECTION_STRING: azure.connectionString,
  };
}

/**
 * The stack's Azurite, @azure/storage-blob direct: `BlockBlobClient.uploadStream` with the
 * SDK's default buffers (8 MiB, 5 in flight) and `download()`, as a user of the SDK writes it.
 */
export function azureStore(stack: StackEnv, azure: AzuriteEnv, runId: string): DirectStore {
  const container = new ContainerClient(
    `${azure.endpoint}/${azure.container}`,
    new StorageSharedKeyCredential(azure.account, azure.key),
  );
  return {
    name: 'azure',
    client: '@azure/storage-blob `BlockBlobClient.uploadStream` / `download`',
    serviceEnv: azureBackendEnv(stack, azure, runId),
    serverCpu: serverCpuProbe('azurite'),
    prepare: async () => {
      await container.createIfNotExists();
    },
    put: async (key, file) => {
      await container
        .getBlockBlobClient(key)
        .uploadStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), 8 * 1024 * 1024, 5);
    },
    get: async (key) => {
      const body = (await container.getBlockBlobClient(key).download()).readableStreamBody;
      if (!body) throw new Error(`Azure download of ${key} has no body`);
      return body as Readable;
    },
    remove: async (key) => {
      await container.getBlockBlobClient(key).deleteIfExists();
    },
    cleanUp: async () => {
      for await (const blob of container.listBlobsFlat({ prefix: `bench-${runId}/` })) {
        await container.deleteBlob(blob.name).catch(() => undefined);
      }
    },
  };
}
