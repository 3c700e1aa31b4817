import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './app-config';

const KEY = Buffer.from('an account key of sixty-four bytes, base64 like the real ones!!').toString(
  'base64',
);
const ROOT = 'wasbs://ml-artifacts@acme.blob.core.windows.net/registry/prod/';

describe('loadConfig: Azure Blob Storage (MLFLOW_ARTIFACT_ROOT=wasbs://...)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-spec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const load = (env: Record<string, string>) =>
    loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: 'a'.repeat(32), ...env });

  it('reads the container, account and prefix of the root; DefaultAzureCredential when no credential is given', () => {
    const c = load({ MLFLOW_ARTIFACT_ROOT: ROOT });
    expect(c.s3).toBeUndefined();
    expect(c.azure).toEqual({
      container: 'ml-artifacts',
      account: 'acme',
      prefix: 'registry/prod/',
      endpoint: 'https://acme.blob.core.windows.net',
      credential: { kind: 'default' },
    });
    expect(
      load({ MLFLOW_ARTIFACT_ROOT: 'wasbs://ml-artifacts@acme.blob.core.windows.net' }).azure,
    ).toMatchObject({ prefix: '' });
  });

  it('refuses a plain http endpoint with DefaultAzureCredential (bearer tokens need https)', () => {
    expect(() =>
      load({ MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_ENDPOINT: 'http://127.0.0.1:10000/acme' }),
    ).toThrow(/AZURE_STORAGE_ENDPOINT 'http:\/\/127\.0\.0\.1:10000\/acme' is plain http/);
    expect(
      load({ MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_ENDPOINT: 'https://127.0.0.1:10000/acme' })
        .azure,
    ).toMatchObject({ endpoint: 'https://127.0.0.1:10000/acme', credential: { kind: 'default' } });
  });

  it('signs with the account key, AZURE_STORAGE_ENDPOINT replacing the endpoint (Azurite)', () => {
    const c = load({
      MLFLOW_ARTIFACT_ROOT: ROOT,
      AZURE_STORAGE_ACCOUNT: 'acme',
      AZURE_STORAGE_KEY: KEY,
      AZURE_STORAGE_ENDPOINT: 'http://127.0.0.1:10000/acme/',
    });
    expect(c.azure).toMatchObject({
      endpoint: 'http://127.0.0.1:10000/acme',
      credential: { kind: 'shared-key', accountKey: KEY },
    });
  });

  it('reads the key or SAS and the endpoint of a connection string', () => {
    const withKey = load({
      MLFLOW_ARTIFACT_ROOT: ROOT,
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=acme;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10000/acme;`,
    });
    expect(withKey.azure).toMatchObject({
      endpoint: 'http://127.0.0.1:10000/acme',
      credential: { kind: 'shared-key', accountKey: KEY },
    });
    const withSas = load({
      MLFLOW_ARTIFACT_ROOT: ROOT,
      AZURE_STORAGE_CONNECTION_STRING:
        'AccountName=acme;SharedAccessSignature=sv=2024&sig=abc%3D;EndpointSuffix=core.chinacloudapi.cn',
    });
    expect(withSas.azure).toMatchObject({
      endpoint: 'https://acme.blob.core.chinacloudapi.cn',
      credential: { kind: 'sas', token: 'sv=2024&sig=abc%3D' },
    });
  });

  it('takes a SAS token with or without its "?"', () => {
    const c = load({
      MLFLOW_ARTIFACT_ROOT: ROOT,
      AZURE_STORAGE_SAS_TOKEN: '?sv=2024&sp=racwdl&sig=x',
    });
    expect(c.azure?.credential).toEqual({ kind: 'sas', token: 'sv=2024&sp=racwdl&sig=x' });
  });

  it.each([
    [
      { MLFLOW_ARTIFACT_ROOT: 'wasbs://ml-artifacts@acme.dfs.core.windows.net' },
      /MLFLOW_ARTIFACT_ROOT must look like wasbs:\/\/<container>@<account>\.blob\.core\.windows\.net/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: 'wasbs://ML@acme.blob.core.windows.net' },
      /container: 3-63 lowercase/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: 'wasbs://ml-artifacts@acme.blob.core.windows.net/a b' },
      /MLFLOW_ARTIFACT_ROOT/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: 'wasbs://ml-artifacts@acme.blob.core.windows.net/a?b' },
      /MLFLOW_ARTIFACT_ROOT prefix may hold only/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_ACCOUNT: 'other' },
      /AZURE_STORAGE_ACCOUNT is 'other' but MLFLOW_ARTIFACT_ROOT names the account 'acme'/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_ACCOUNT: 'Not_An_Account' },
      /AZURE_STORAGE_ACCOUNT must be a storage account name/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_KEY: 'not base64!' },
      /AZURE_STORAGE_KEY must be the base64 account key/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_KEY: KEY, AZURE_STORAGE_SAS_TOKEN: 'sig=x' },
      /AZURE_STORAGE_KEY and AZURE_STORAGE_SAS_TOKEN are both set/,
    ],
    [
      {
        MLFLOW_ARTIFACT_ROOT: ROOT,
        AZURE_STORAGE_SAS_TOKEN: 'https://acme.blob.core.windows.net/c',
      },
      /AZURE_STORAGE_SAS_TOKEN must be a SAS token/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_ENDPOINT: 'ftp://x' },
      /AZURE_STORAGE_ENDPOINT must be an http\(s\) URL/,
    ],
    [
      {
        MLFLOW_ARTIFACT_ROOT: ROOT,
        AZURE_STORAGE_CONNECTION_STRING: 'AccountName=other;AccountKey=abc',
      },
      /AZURE_STORAGE_CONNECTION_STRING is for the account 'other'/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_CONNECTION_STRING: 'AccountName=acme' },
      /AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' },
      /UseDevelopmentStorage=true is not supported/,
    ],
    [
      { MLFLOW_ARTIFACT_ROOT: ROOT, AZURE_STORAGE_CONNECTION_STRING: 'garbage' },
      /AZURE_STORAGE_CONNECTION_STRING: 'garbage' is not key=value/,
    ],
    [{ AZURE_STORAGE_KEY: KEY }, /AZURE_STORAGE_KEY is set but MLFLOW_ARTIFACT_ROOT is not wasbs/],
    [
      {
        MLFLOW_ARTIFACT_ROOT: 's3://ml-artifacts',
        AWS_ACCESS_KEY_ID: 'a',
        AWS_SECRET_ACCESS_KEY: 'b',
        AZURE_STORAGE_ENDPOINT: 'http://x',
      },
      /AZURE_STORAGE_ENDPOINT is set but MLFLOW_ARTIFACT_ROOT is not wasbs/,
    ],
  ])('refuses %j at boot, naming the variable', (env, message) => {
    expect(() => load(env as Record<string, string>)).toThrow(message);
  });
});
