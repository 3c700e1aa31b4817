import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const blankToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * The process environment as the service accepts it. Validated once at boot; a bad value
 * stops the boot with a message naming the variable.
 */
export class EnvironmentDto {
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  HOST?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  DATA_DIR?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  MLFLOW_TRACKING_URI?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]|wasbs:\/\/[^\s/]+)(\/[^\s]*)?$/, {
    message:
      'MLFLOW_ARTIFACT_ROOT must look like s3://bucket[/prefix] or ' +
      'wasbs://container@account.blob.core.windows.net[/prefix]',
  })
  MLFLOW_ARTIFACT_ROOT?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  S3_ENDPOINT?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^[a-z0-9-]{2,32}$/, { message: 'S3_REGION must look like us-east-1' })
  S3_REGION?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  AWS_ACCESS_KEY_ID?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  AWS_SECRET_ACCESS_KEY?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  MLFLOW_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  MLFLOW_TRACKING_TOKEN?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  MLFLOW_TRACKING_USERNAME?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  MLFLOW_TRACKING_PASSWORD?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, {
    message:
      "ML_REGISTRY_NAMESPACE must be 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit",
  })
  ML_REGISTRY_NAMESPACE?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86400)
  ML_REGISTRY_CACHE_TTL?: number;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  @MinLength(32, { message: 'AUTH_JWT_SECRET must be at least 32 characters long' })
  AUTH_JWT_SECRET?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  AUTH_JWKS_URI?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  AUTH_ISSUER?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  AUTH_AUDIENCE?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  MAX_JSON_BODY_BYTES?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  ARTIFACT_MAX_FILE_BYTES?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  ARTIFACT_MAX_METADATA_BYTES?: number;

  /** Comma-separated model file names accepted (model.pkl,model.onnx,...); all by default. */
  @IsOptional()
  @IsString()
  ARTIFACT_MODEL_FILES?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' })
  LOG_FORMAT?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  APPROVAL_RETRY_INTERVAL_MS?: number;

  /** Comma-separated alias names whose changes need an approval unless a production policy says otherwise. */
  @IsOptional()
  @IsString()
  @Matches(/^$|^[a-z][a-z0-9_-]{0,62}(,[a-z][a-z0-9_-]{0,62})*$/, {
    message:
      'PROTECTED_ALIASES must be alias names separated by commas (e.g. champion,prod), or empty',
  })
  PROTECTED_ALIASES?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  SHUTDOWN_GRACE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  REQUEST_BODY_TIMEOUT_MS?: number;

  /** How long an approval being applied is held by the replica applying it (a crash frees it then). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  APPROVAL_APPLY_LEASE_MS?: number;

  /** How long a registration holds its model's lock without renewing it (a crash frees it then). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  REGISTRATION_LOCK_LEASE_MS?: number;

  /** Requests per minute per user (tenant + subject), per replica; 0 turns the limit off. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE?: number;

  /** Comma-separated browser origins allowed to call the API (CORS); unset = none; `*` = any. */
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /**
   * Where GET /metrics (Prometheus) is served: unset = on PORT beside the API; a port number =
   * only there, on a small server of its own; `off` = nowhere.
   */
  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^(off|\d{1,5})$/, {
    message: 'METRICS_PORT must be a port number (0-65535) or `off`',
  })
  METRICS_PORT?: string;

  /** Azure Blob Storage (MLFLOW_ARTIFACT_ROOT=wasbs://...): see src/config/azure-settings.ts. */
  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  AZURE_STORAGE_CONNECTION_STRING?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^[a-z0-9]{3,24}$/, {
    message:
      'AZURE_STORAGE_ACCOUNT must be a storage account name (3-24 lowercase letters and digits)',
  })
  AZURE_STORAGE_ACCOUNT?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @Matches(/^[A-Za-z0-9+/]+={0,2}$/, {
    message: 'AZURE_STORAGE_KEY must be the base64 account key',
  })
  AZURE_STORAGE_KEY?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  AZURE_STORAGE_SAS_TOKEN?: string;

  @IsOptional()
  @Transform(blankToUndefined)
  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    {
      message:
        'AZURE_STORAGE_ENDPOINT must be an http(s) URL, e.g. http://127.0.0.1:10000/devstoreaccount1',
    },
  )
  AZURE_STORAGE_ENDPOINT?: string;
  /** Webhook targets may be plain http (tests, a local receiver); https only otherwise. */
  @IsOptional()
  @Transform(blankToUndefined)
  @IsIn(['true', 'false'], { message: 'WEBHOOKS_ALLOW_HTTP must be true or false' })
  WEBHOOKS_ALLOW_HTTP?: string;

  /** Webhook targets may resolve to loopback, private, link-local, CGNAT or metadata addresses. */
  @IsOptional()
  @Transform(blankToUndefined)
  @IsIn(['true', 'false'], { message: 'WEBHOOKS_ALLOW_PRIVATE_NETWORKS must be true or false' })
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS?: string;

  /** The first retry's delay; each next one doubles it (with jitter), at most an hour. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  WEBHOOKS_RETRY_BASE_MS?: number;

  /** How long a delivery is retried before it is `failed` (24 h). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  WEBHOOKS_RETRY_WINDOW_MS?: number;

  /** How often the delivery worker looks for due deliveries. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  WEBHOOKS_POLL_INTERVAL_MS?: number;

  /** Deliveries in flight at once per replica. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  WEBHOOKS_CONCURRENCY?: number;

  /** How long finished deliveries (and their events) stay in the delivery log (30 days). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  WEBHOOKS_DELIVERY_RETENTION_DAYS?: number;

  /** A receiver's whole answer must arrive within this (10 s). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60000)
  WEBHOOKS_TIMEOUT_MS?: number;
}
