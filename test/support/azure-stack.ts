import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { AzureSettings } from '../../src/config/azure-settings';

/**
 * The stack's Azurite (`scripts/stack/stack.sh up`, STACK_AZURITE_* in its env file): the blob
 * endpoint of the well-known development account, its key and the artifact container.
 */
export interface AzuriteStack {
  endpoint: string;
  account: string;
  key: string;
  container: string;
  connectionString: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: Azure suites need the stack's Azurite. Run them with ` +
        '`npm run test:integration`, or `source .stack/run/env` after `scripts/stack/stack.sh up azurite`.',
    );
  }
  return value;
}

export function azurite(): AzuriteStack {
  return {
    endpoint: required('STACK_AZURITE_ENDPOINT'),
    account: required('STACK_AZURITE_ACCOUNT'),
    key: required('STACK_AZURITE_KEY'),
    container: required('STACK_AZURITE_CONTAINER'),
    connectionString: required('STACK_AZURITE_CONNECTION_STRING'),
  };
}

/** MLflow's URI of `container` (default: the stack's) under `prefix`. */
export function wasbsRoot(prefix: string, container = azurite().container): string {
  return `wasbs://${container}@${azurite().account}.blob.core.windows.net/${prefix}`;
}

/**
 * Environment that stores one app's artifacts in Azurite under `namespace`, in place of the
 * S3 variables of realBackendEnv (`endpoint` overrides Azurite's, e.g. a proxy in front of it).
 */
export function azureStoreEnv(namespace: string, endpoint?: string): Record<string, string> {
  const a = azurite();
  return {
    MLFLOW_ARTIFACT_ROOT: wasbsRoot(namespace),
    AZURE_STORAGE_ACCOUNT: a.account,
    AZURE_STORAGE_KEY: a.key,
    AZURE_STORAGE_ENDPOINT: endpoint ?? a.endpoint,
  };
}

/** Settings for AzureObjectStorage on the stack's Azurite, signed with the account key. */
export function azuriteSettings(overrides: Partial<AzureSettings> = {}): AzureSettings {
  const a = azurite();
  return {
    container: a.container,
    account: a.account,
    prefix: '',
    endpoint: a.endpoint,
    credential: { kind: 'shared-key', accountKey: a.key },
    ...overrides,
  };
}

/** A client straight to Azurite, to look behind the storage's back. */
export function rawContainer(container = azurite().container): ContainerClient {
  const a = azurite();
  return new ContainerClient(
    `${a.endpoint}/${container}`,
    new StorageSharedKeyCredential(a.account, a.key),
  );
}

/**
 * `env` (realBackendEnv's) with the artifacts moved from S3 to Azurite under `namespace`, when
 * the suite runs in the `e2e-azure` jest project (REGISTRY_TEST_STORE=azure); else `env`.
 */
export function withTestStore(
  env: Record<string, string>,
  namespace: string,
): Record<string, string> {
  if (process.env['REGISTRY_TEST_STORE'] !== 'azure') return env;
  const rest = { ...env };
  for (const name of [
    'MLFLOW_ARTIFACT_ROOT',
    'S3_ENDPOINT',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
  ]) {
    delete rest[name];
  }
  return { ...rest, ...azureStoreEnv(namespace) };
}
