import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { azureSettings, type AzureSettings } from './azure-settings';
import { EnvironmentDto } from './environment.dto';
import { uiSettings, type UiSettings } from './ui-settings';
import { isModelFile, MODEL_FILE_NAMES, type ModelFileName } from '../domain/model-files';

export const DEV_SECRET_FILE = '.dev-jwt-secret';
const MiB = 1024 * 1024;

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/**
 * Typed, validated configuration. Also the DI token: inject `AppConfig` anywhere.
 * Built once at boot by `loadConfig`; tests build their own with `loadConfig({...})`.
 */
export class AppConfig {
  port!: number;
  host!: string;
  dataDir!: string;
  /** Set when MLFLOW_TRACKING_URI is: the registry lives in that MLflow Tracking Server. */
  mlflow?: MlflowSettings;
  /**
   * Set when several registry deployments share one MLflow server or Redis: every MLflow model
   * name and cache key this deployment makes carries it, so they never see each other.
   */
  namespace?: string;
  /** Set when MLFLOW_ARTIFACT_ROOT=s3://...: artifacts live in that S3-compatible store. */
  s3?: S3Settings;
  /** Set when MLFLOW_ARTIFACT_ROOT=wasbs://...: artifacts live in that Azure Blob container. */
  azure?: AzureSettings;
  databaseUrl?: string;
  redisUrl?: string;
  cacheTtlSeconds!: number;
  auth!: {
    jwtSecret?: string;
    /** True when the secret was generated for local development (no AUTH_* given). */
    jwtSecretGenerated: boolean;
    jwksUri?: string;
    issuer?: string;
    audience?: string;
  };
  /** The model formats an upload may carry (ARTIFACT_MODEL_FILES), by stored name. */
  modelFiles!: readonly ModelFileName[];
  limits!: {
    jsonBodyBytes: number;
    artifactFileBytes: number;
    artifactMetadataBytes: number;
  };
  logLevel!: string;
  /** JSON lines, or readable lines (pino-pretty) for a person at a terminal. */
  logFormat!: LogFormat;
  production!: boolean;
  approvalRetryIntervalMs!: number;
  /** Aliases whose set/move needs an approval when no production policy names its own. */
  protectedAliases!: string[];
  /** How long a shutdown waits for requests in flight before cutting their connections. */
  shutdownGraceMs!: number;
  /** Every request but an upload must have sent its whole body within this. */
  requestBodyTimeoutMs!: number;
  /** How long an approval being applied stays claimed by the process applying it. */
  approvalApplyLeaseMs!: number;
  /** How long a registration's model lock lasts unless renewed (renewed every third of it). */
  registrationLockLeaseMs!: number;
  /** Requests per minute per user and replica; 0 = no limit. */
  rateLimitPerMinute!: number;
  /** Origins allowed by CORS: [] = none (closed), ['*'] = any. */
  corsOrigins!: string[];
  /**
   * GET /metrics: 'main' on PORT beside the API, 'own' only on `port` (a server of its own),
   * 'off' nowhere (METRICS_PORT).
   */
  metrics!: { serve: 'main' } | { serve: 'own'; port: number } | { serve: 'off' };
  /** Webhook delivery (src/events): WEBHOOKS_* variables. */
  webhooks!: WebhookSettings;
  /** The console at /ui (UI_OIDC_*): how it signs people in. */
  ui!: UiSettings;
}

export interface WebhookSettings {
  allowHttp: boolean;
  allowPrivateNetworks: boolean;
  retryBaseMs: number;
  retryWindowMs: number;
  pollIntervalMs: number;
  concurrency: number;
  timeoutMs: number;
  /** Finished deliveries older than this are pruned (WEBHOOKS_DELIVERY_RETENTION_DAYS). */
  retentionMs: number;
}

export type LogFormat = 'json' | 'pretty';

/** What loadConfig needs to know of the process beyond its environment. */
export interface ConfigContext {
  /** stdout is a terminal: the logs default to readable lines (LOG_FORMAT unset). */
  stdoutIsTTY?: boolean;
}

export interface MlflowSettings {
  /** http(s)://host:port of the tracking server. */
  baseUrl: string;
  /** Every call to MLflow gives up after this long (and answers 503). */
  timeoutMs: number;
  token?: string;
  username?: string;
  password?: string;
}

export interface S3Settings {
  bucket: string;
  /** Key prefix inside the bucket, '' or ending in '/'. */
  prefix: string;
  /** Unset = AWS S3 (https://s3.<region>.amazonaws.com). */
  endpoint?: { useSSL: boolean; host: string; port: number };
  region: string;
  accessKey: string;
  secretKey: string;
}

function s3Settings(parsed: EnvironmentDto): S3Settings | undefined {
  if (parsed.MLFLOW_ARTIFACT_ROOT === undefined) return undefined;
  if (parsed.MLFLOW_ARTIFACT_ROOT.startsWith('wasbs://')) return undefined;
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(parsed.MLFLOW_ARTIFACT_ROOT);
  if (!match)
    throw new ConfigurationError('MLFLOW_ARTIFACT_ROOT must look like s3://bucket[/prefix]');
  const [, bucket, rawPrefix] = match;
  const prefix = rawPrefix.replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(prefix)) {
    throw new ConfigurationError(
      'MLFLOW_ARTIFACT_ROOT prefix may hold only letters, digits, ".", "_", "-" and "/"',
    );
  }
  if (parsed.AWS_ACCESS_KEY_ID === undefined || parsed.AWS_SECRET_ACCESS_KEY === undefined) {
    throw new ConfigurationError(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required with MLFLOW_ARTIFACT_ROOT=s3://...',
    );
  }
  let endpoint: S3Settings['endpoint'];
  if (parsed.S3_ENDPOINT !== undefined) {
    const url = new URL(parsed.S3_ENDPOINT);
    if (url.pathname !== '/' && url.pathname !== '') {
      throw new ConfigurationError('S3_ENDPOINT must be scheme://host[:port] without a path');
    }
    const useSSL = url.protocol === 'https:';
    endpoint = {
      useSSL,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port !== '' ? Number(url.port) : useSSL ? 443 : 80,
    };
  }
  return {
    bucket,
    prefix: prefix === '' ? '' : `${prefix}/`,
    endpoint,
    region: parsed.S3_REGION ?? 'us-east-1',
    accessKey: parsed.AWS_ACCESS_KEY_ID,
    secretKey: parsed.AWS_SECRET_ACCESS_KEY,
  };
}

function describe(errors: ValidationError[]): string {
  return errors
    .map((e) => {
      const reasons = Object.values(e.constraints ?? {});
      return reasons.length > 0 ? reasons.join('; ') : `${e.property} is invalid`;
    })
    .join('\n');
}

/** Reads the development secret kept in DATA_DIR, creating it on first use. */
export function developmentSecret(dataDir: string): string {
  const file = join(dataDir, DEV_SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/** `https://a.example, http://localhost:8080` → exact origins (scheme://host[:port]), or `*`. */
function modelFiles(value: string | undefined): readonly ModelFileName[] {
  if (value === undefined) return MODEL_FILE_NAMES;
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !isModelFile(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new ConfigurationError(
      `ARTIFACT_MODEL_FILES: ${unknown.length > 0 ? `'${unknown.join("', '")}' is not a model file name` : 'names no model file'}; ` +
        `use some of ${MODEL_FILE_NAMES.join(', ')}`,
    );
  }
  return [...new Set(names as ModelFileName[])];
}

function metricsSettings(value: string | undefined, port: number): AppConfig['metrics'] {
  if (value === undefined) return { serve: 'main' };
  if (value === 'off') return { serve: 'off' };
  const metricsPort = Number(value);
  if (metricsPort > 65535) {
    throw new ConfigurationError('METRICS_PORT must be a port number (0-65535) or `off`');
  }
  if (metricsPort !== 0 && metricsPort === port) {
    throw new ConfigurationError(
      `METRICS_PORT ${metricsPort} is the API's PORT: unset METRICS_PORT to serve /metrics beside the API, or pick another port`,
    );
  }
  return { serve: 'own', port: metricsPort };
}

function corsOrigins(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  const origins = value
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (origins.includes('*')) {
    if (origins.length > 1) {
      throw new ConfigurationError('CORS_ORIGINS: `*` (any origin) cannot be combined with others');
    }
    return ['*'];
  }
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (
      parsed === undefined ||
      !['http:', 'https:'].includes(parsed.protocol) ||
      parsed.origin !== origin
    ) {
      throw new ConfigurationError(
        `CORS_ORIGINS: '${origin}' is not an origin (scheme://host[:port], no path or trailing slash)`,
      );
    }
  }
  return origins;
}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  context: ConfigContext = {},
): AppConfig {
  const parsed = plainToInstance(EnvironmentDto, { ...env }, { enableImplicitConversion: false });
  const errors = validateSync(parsed, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigurationError(`invalid configuration:\n${describe(errors)}`);
  }
  const s3 = s3Settings(parsed);
  const azure = azureSettings(parsed, (message) => {
    throw new ConfigurationError(message);
  });
  if (parsed.S3_ENDPOINT !== undefined && s3 === undefined) {
    throw new ConfigurationError(
      'S3_ENDPOINT is set but MLFLOW_ARTIFACT_ROOT is not: set MLFLOW_ARTIFACT_ROOT=s3://bucket[/prefix] ' +
        'to store artifacts there, or unset S3_ENDPOINT to keep them under DATA_DIR',
    );
  }

  if (parsed.AUTH_JWKS_URI !== undefined) {
    if (parsed.AUTH_AUDIENCE === undefined) {
      throw new ConfigurationError(
        'AUTH_AUDIENCE is required with AUTH_JWKS_URI: without it, tokens the identity provider ' +
          'issues for other applications would be accepted here',
      );
    }
    const { protocol, hostname } = new URL(parsed.AUTH_JWKS_URI);
    if (protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(hostname)) {
      throw new ConfigurationError(
        'AUTH_JWKS_URI must use https (plain http only on a loopback address)',
      );
    }
  }

  const production = parsed.NODE_ENV === 'production';
  const dataDir = resolve(parsed.DATA_DIR ?? './data');
  let jwtSecret = parsed.AUTH_JWT_SECRET;
  let jwtSecretGenerated = false;
  if (jwtSecret === undefined && parsed.AUTH_JWKS_URI === undefined) {
    if (production) {
      throw new ConfigurationError(
        'AUTH_JWT_SECRET (at least 32 characters) or AUTH_JWKS_URI is required when NODE_ENV=production',
      );
    }
    jwtSecret = developmentSecret(dataDir);
    jwtSecretGenerated = true;
  }

  const config = new AppConfig();
  config.port = parsed.PORT ?? 3000;
  config.host = parsed.HOST ?? '0.0.0.0';
  config.dataDir = dataDir;
  config.mlflow =
    parsed.MLFLOW_TRACKING_URI === undefined
      ? undefined
      : {
          baseUrl: parsed.MLFLOW_TRACKING_URI,
          timeoutMs: parsed.MLFLOW_TIMEOUT_MS ?? 10_000,
          token: parsed.MLFLOW_TRACKING_TOKEN,
          username: parsed.MLFLOW_TRACKING_USERNAME,
          password: parsed.MLFLOW_TRACKING_PASSWORD,
        };
  config.namespace = parsed.ML_REGISTRY_NAMESPACE;
  config.s3 = s3;
  config.azure = azure;
  config.databaseUrl = parsed.DATABASE_URL;
  config.redisUrl = parsed.REDIS_URL;
  config.cacheTtlSeconds = parsed.ML_REGISTRY_CACHE_TTL ?? 300;
  config.auth = {
    jwtSecret,
    jwtSecretGenerated,
    jwksUri: parsed.AUTH_JWKS_URI,
    issuer: parsed.AUTH_ISSUER,
    audience: parsed.AUTH_AUDIENCE,
  };
  config.limits = {
    jsonBodyBytes: parsed.MAX_JSON_BODY_BYTES ?? 1 * MiB,
    artifactFileBytes: parsed.ARTIFACT_MAX_FILE_BYTES ?? 10 * 1024 * MiB,
    artifactMetadataBytes: parsed.ARTIFACT_MAX_METADATA_BYTES ?? 1 * MiB,
  };
  config.modelFiles = modelFiles(parsed.ARTIFACT_MODEL_FILES);
  config.logLevel = parsed.LOG_LEVEL ?? 'info';
  config.logFormat =
    (parsed.LOG_FORMAT as LogFormat | undefined) ??
    (context.stdoutIsTTY === true ? 'pretty' : 'json');
  config.production = production;
  config.approvalRetryIntervalMs = parsed.APPROVAL_RETRY_INTERVAL_MS ?? 5000;
  config.protectedAliases = (parsed.PROTECTED_ALIASES ?? 'champion')
    .split(',')
    .filter((a) => a !== '');
  config.shutdownGraceMs = parsed.SHUTDOWN_GRACE_MS ?? 25_000;
  config.requestBodyTimeoutMs = parsed.REQUEST_BODY_TIMEOUT_MS ?? 30_000;
  config.approvalApplyLeaseMs = parsed.APPROVAL_APPLY_LEASE_MS ?? 120_000;
  config.registrationLockLeaseMs = parsed.REGISTRATION_LOCK_LEASE_MS ?? 60_000;
  config.rateLimitPerMinute = parsed.RATE_LIMIT_PER_MINUTE ?? 1200;
  config.corsOrigins = corsOrigins(parsed.CORS_ORIGINS);
  config.metrics = metricsSettings(parsed.METRICS_PORT, config.port);
  config.webhooks = {
    allowHttp: parsed.WEBHOOKS_ALLOW_HTTP === 'true',
    allowPrivateNetworks: parsed.WEBHOOKS_ALLOW_PRIVATE_NETWORKS === 'true',
    retryBaseMs: parsed.WEBHOOKS_RETRY_BASE_MS ?? 10_000,
    retryWindowMs: parsed.WEBHOOKS_RETRY_WINDOW_MS ?? 24 * 60 * 60 * 1000,
    pollIntervalMs: parsed.WEBHOOKS_POLL_INTERVAL_MS ?? 1000,
    concurrency: parsed.WEBHOOKS_CONCURRENCY ?? 8,
    timeoutMs: parsed.WEBHOOKS_TIMEOUT_MS ?? 10_000,
    retentionMs: (parsed.WEBHOOKS_DELIVERY_RETENTION_DAYS ?? 30) * 24 * 60 * 60 * 1000,
  };
  config.ui = uiSettings(env, (message) => {
    throw new ConfigurationError(message);
  });
  return config;
}
