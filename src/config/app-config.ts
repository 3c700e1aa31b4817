import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EnvironmentDto } from './environment.dto';

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
  mlflowTrackingUri?: string;
  artifactRoot?: string;
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
  limits!: {
    jsonBodyBytes: number;
    artifactFileBytes: number;
    artifactMetadataBytes: number;
  };
  logLevel!: string;
  production!: boolean;
  approvalRetryIntervalMs!: number;
  /** How long a shutdown waits for requests in flight before cutting their connections. */
  shutdownGraceMs!: number;
  /** Every request but an upload must have sent its whole body within this. */
  requestBodyTimeoutMs!: number;
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

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = plainToInstance(EnvironmentDto, { ...env }, { enableImplicitConversion: false });
  const errors = validateSync(parsed, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigurationError(`invalid configuration:\n${describe(errors)}`);
  }
  const unsupported = (
    [
      ['MLFLOW_TRACKING_URI', parsed.MLFLOW_TRACKING_URI],
      ['MLFLOW_ARTIFACT_ROOT', parsed.MLFLOW_ARTIFACT_ROOT],
      ['DATABASE_URL', parsed.DATABASE_URL],
      ['REDIS_URL', parsed.REDIS_URL],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (unsupported.length > 0) {
    // The real backends are not part of this build yet; refusing to boot is better than
    // silently running on the embedded default while the operator believes otherwise.
    throw new ConfigurationError(
      `${unsupported.map(([name]) => name).join(', ')} set, but this build only supports the ` +
        'embedded backends (SQLite and files under DATA_DIR); unset them to run embedded',
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
  config.mlflowTrackingUri = parsed.MLFLOW_TRACKING_URI;
  config.artifactRoot = parsed.MLFLOW_ARTIFACT_ROOT;
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
  config.logLevel = parsed.LOG_LEVEL ?? 'info';
  config.production = production;
  config.approvalRetryIntervalMs = parsed.APPROVAL_RETRY_INTERVAL_MS ?? 5000;
  config.shutdownGraceMs = parsed.SHUTDOWN_GRACE_MS ?? 25_000;
  config.requestBodyTimeoutMs = parsed.REQUEST_BODY_TIMEOUT_MS ?? 30_000;
  return config;
}
