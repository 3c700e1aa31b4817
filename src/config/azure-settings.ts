import type { EnvironmentDto } from './environment.dto';

/** How the service signs its requests to Azure Blob Storage. */
export type AzureCredentialSettings =
  /** The account key (AZURE_STORAGE_KEY, or AccountKey in the connection string). */
  | { kind: 'shared-key'; accountKey: string }
  /** A SAS token, without its leading '?' (AZURE_STORAGE_SAS_TOKEN or SharedAccessSignature). */
  | { kind: 'sas'; token: string }
  /** `DefaultAzureCredential` (@azure/identity): managed identity, workload identity, az login, ... */
  | { kind: 'default' };

export interface AzureSettings {
  container: string;
  account: string;
  /** Key prefix inside the container, '' or ending in '/'. */
  prefix: string;
  /** The account's blob endpoint without a trailing '/', e.g. https://acct.blob.core.windows.net. */
  endpoint: string;
  credential: AzureCredentialSettings;
}

/** Thrown for a bad Azure setting; app-config turns it into its ConfigurationError. */
export type Fail = (message: string) => never;

// MLflow's own form (mlflow/store/artifact/azure_blob_artifact_repo.py): the account in the host,
// the container before the '@'. Container names: 3-63 of a-z, 0-9 and single '-', Azure's rule.
const WASBS =
  /^wasbs:\/\/([a-z0-9](?:-?[a-z0-9]){2,62})@([a-z0-9]{3,24})\.blob\.core\.windows\.net(?:\/(.*))?$/;

/** `k1=v1;k2=v2;...` (values may hold '='), as Azure prints connection strings. */
function parseConnectionString(value: string, fail: Fail): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) fail(`AZURE_STORAGE_CONNECTION_STRING: '${part.split('=')[0]}' is not key=value`);
    fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return fields;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The Azure Blob settings when MLFLOW_ARTIFACT_ROOT=wasbs://<container>@<account>.blob.core.windows.net[/prefix].
 * Credentials, first found wins: AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY (with
 * AZURE_STORAGE_ACCOUNT or the root's account), AZURE_STORAGE_SAS_TOKEN, else
 * DefaultAzureCredential. More than one given is refused rather than one silently ignored.
 * AZURE_STORAGE_ENDPOINT (or the connection string's BlobEndpoint) replaces
 * https://<account>.blob.core.windows.net, e.g. for Azurite.
 */
export function azureSettings(parsed: EnvironmentDto, fail: Fail): AzureSettings | undefined {
  const root = parsed.MLFLOW_ARTIFACT_ROOT;
  if (root === undefined || !root.startsWith('wasbs://')) {
    const stray = (
      [
        'AZURE_STORAGE_CONNECTION_STRING',
        'AZURE_STORAGE_ACCOUNT',
        'AZURE_STORAGE_KEY',
        'AZURE_STORAGE_SAS_TOKEN',
        'AZURE_STORAGE_ENDPOINT',
      ] as const
    ).filter((name) => parsed[name] !== undefined);
    if (stray.length > 0) {
      fail(
        `${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set but MLFLOW_ARTIFACT_ROOT is not wasbs://...: ` +
          'set MLFLOW_ARTIFACT_ROOT=wasbs://<container>@<account>.blob.core.windows.net[/prefix] ' +
          'to store artifacts in Azure Blob Storage, or unset them',
      );
    }
    return undefined;
  }
  const match = WASBS.exec(root);
  if (!match) {
    fail(
      'MLFLOW_ARTIFACT_ROOT must look like wasbs://<container>@<account>.blob.core.windows.net[/prefix] ' +
        '(container: 3-63 lowercase letters, digits and single hyphens; account: 3-24 lowercase letters and digits)',
    );
  }
  const [, container, account, rawPrefix = ''] = match;
  const prefix = rawPrefix.replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(prefix)) {
    fail('MLFLOW_ARTIFACT_ROOT prefix may hold only letters, digits, ".", "_", "-" and "/"');
  }
  if (parsed.AZURE_STORAGE_ACCOUNT !== undefined && parsed.AZURE_STORAGE_ACCOUNT !== account) {
    fail(
      `AZURE_STORAGE_ACCOUNT is '${parsed.AZURE_STORAGE_ACCOUNT}' but MLFLOW_ARTIFACT_ROOT names the account '${account}'`,
    );
  }
  const given = (
    ['AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_SAS_TOKEN'] as const
  ).filter((name) => parsed[name] !== undefined);
  if (given.length > 1) {
    fail(`${given.join(' and ')} are both set: give one way to sign in to Azure Blob Storage`);
  }

  let endpoint = `https://${account}.blob.core.windows.net`;
  let credential: AzureCredentialSettings = { kind: 'default' };
  if (parsed.AZURE_STORAGE_CONNECTION_STRING !== undefined) {
    const fields = parseConnectionString(parsed.AZURE_STORAGE_CONNECTION_STRING, fail);
    if (fields.get('UseDevelopmentStorage') === 'true') {
      fail(
        'AZURE_STORAGE_CONNECTION_STRING: UseDevelopmentStorage=true is not supported; give ' +
          'AccountName, AccountKey and BlobEndpoint (Azurite prints them) instead',
      );
    }
    const name = fields.get('AccountName');
    if (name !== undefined && name !== account) {
      fail(
        `AZURE_STORAGE_CONNECTION_STRING is for the account '${name}' but MLFLOW_ARTIFACT_ROOT names '${account}'`,
      );
    }
    const key = fields.get('AccountKey');
    const sas = fields.get('SharedAccessSignature');
    if (key !== undefined) credential = { kind: 'shared-key', accountKey: key };
    else if (sas !== undefined) credential = { kind: 'sas', token: sas.replace(/^\?/, '') };
    else {
      fail('AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature');
    }
    const blobEndpoint = fields.get('BlobEndpoint');
    if (blobEndpoint !== undefined) endpoint = trimSlash(blobEndpoint);
    else {
      const protocol = fields.get('DefaultEndpointsProtocol') ?? 'https';
      const suffix = fields.get('EndpointSuffix') ?? 'core.windows.net';
      endpoint = `${protocol}://${account}.blob.${suffix}`;
    }
  } else if (parsed.AZURE_STORAGE_KEY !== undefined) {
    credential = { kind: 'shared-key', accountKey: parsed.AZURE_STORAGE_KEY };
  } else if (parsed.AZURE_STORAGE_SAS_TOKEN !== undefined) {
    const token = parsed.AZURE_STORAGE_SAS_TOKEN.replace(/^\?/, '');
    if (!/(^|&)sig=/.test(token)) {
      fail('AZURE_STORAGE_SAS_TOKEN must be a SAS token (sv=...&sig=...), without the blob URL');
    }
    credential = { kind: 'sas', token };
  }
  if (parsed.AZURE_STORAGE_ENDPOINT !== undefined) {
    const url = new URL(parsed.AZURE_STORAGE_ENDPOINT);
    if (url.search !== '' || url.hash !== '') {
      fail(
        'AZURE_STORAGE_ENDPOINT must be the blob endpoint URL without a query (put a SAS in AZURE_STORAGE_SAS_TOKEN)',
      );
    }
    endpoint = trimSlash(url.toString());
  }
  try {
    const url = new URL(endpoint);
    if (!['http:', 'https:'].includes(url.protocol)) throw new Error(url.protocol);
  } catch {
    fail(`the Azure blob endpoint '${endpoint}' is not an http(s) URL`);
  }
  if (credential.kind === 'default' && endpoint.startsWith('http:')) {
    // The SDK sends no bearer token over plain http, and would fail every call.
    fail(
      `AZURE_STORAGE_ENDPOINT '${endpoint}' is plain http: DefaultAzureCredential (used when no ` +
        'AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN is set) ' +
        'signs only over https; give an https endpoint or a key or SAS token',
    );
  }
  return { container, account, prefix: prefix === '' ? '' : `${prefix}/`, endpoint, credential };
}
