import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, DEV_SECRET_FILE, loadConfig } from './app-config';

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-spec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const secret = 'a'.repeat(32);

  it('has the documented defaults', () => {
    const c = loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: secret });
    expect(c).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      dataDir: dir,
      cacheTtlSeconds: 300,
      limits: { jsonBodyBytes: 1024 * 1024, artifactMetadataBytes: 1024 * 1024 },
      auth: { jwtSecret: secret, jwtSecretGenerated: false },
    });
  });

  it('logs JSON unless stdout is a terminal or LOG_FORMAT says otherwise', () => {
    const env = { DATA_DIR: dir, AUTH_JWT_SECRET: secret };
    expect(loadConfig(env).logFormat).toBe('json');
    expect(loadConfig(env, { stdoutIsTTY: true }).logFormat).toBe('pretty');
    expect(loadConfig({ ...env, LOG_FORMAT: 'json' }, { stdoutIsTTY: true }).logFormat).toBe(
      'json',
    );
    expect(loadConfig({ ...env, LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must not be greater than 65535/],
    [{ ML_REGISTRY_CACHE_TTL: '-1' }, /ML_REGISTRY_CACHE_TTL must not be less than 0/],
    [{ AUTH_JWT_SECRET: 'short' }, /AUTH_JWT_SECRET must be at least 32 characters long/],
    [{ AUTH_JWKS_URI: 'not a url' }, /AUTH_JWKS_URI must be a URL/],
    [{ MLFLOW_ARTIFACT_ROOT: 'ftp://x' }, /MLFLOW_ARTIFACT_ROOT must look like s3:\/\/bucket/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of the following values/],
    [{ LOG_FORMAT: 'text' }, /LOG_FORMAT must be json or pretty/],
  ])('stops the boot naming the variable for %j', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: secret, ...env })).toThrow(
      ConfigurationError,
    );
    expect(() => loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: secret, ...env })).toThrow(message);
  });

  it('accepts every model format by default; ARTIFACT_MODEL_FILES narrows them, checked by name', () => {
    const base = { DATA_DIR: dir, AUTH_JWT_SECRET: secret };
    expect(loadConfig(base).modelFiles).toContain('model.onnx');
    expect(
      loadConfig({ ...base, ARTIFACT_MODEL_FILES: ' model.pkl, model.onnx,model.pkl ' }).modelFiles,
    ).toEqual(['model.pkl', 'model.onnx']);
    expect(() => loadConfig({ ...base, ARTIFACT_MODEL_FILES: 'model.pkl,model.zip' })).toThrow(
      /^ARTIFACT_MODEL_FILES: 'model.zip' is not a model file name; use some of model.pkl, /,
    );
    expect(() => loadConfig({ ...base, ARTIFACT_MODEL_FILES: ' , ' })).toThrow(ConfigurationError);
  });

  it('serves /metrics beside the API by default; METRICS_PORT moves it to a port of its own or turns it off', () => {
    const base = { DATA_DIR: dir, AUTH_JWT_SECRET: secret };
    expect(loadConfig(base).metrics).toEqual({ serve: 'main' });
    expect(loadConfig({ ...base, METRICS_PORT: '9464' }).metrics).toEqual({
      serve: 'own',
      port: 9464,
    });
    expect(loadConfig({ ...base, METRICS_PORT: 'off' }).metrics).toEqual({ serve: 'off' });
    expect(loadConfig({ ...base, METRICS_PORT: ' ' }).metrics).toEqual({ serve: 'main' });
    for (const bad of ['false', '-1', '70000', '9464x']) {
      expect(() => loadConfig({ ...base, METRICS_PORT: bad })).toThrow(
        /^(invalid configuration:\n)?METRICS_PORT must be a port number \(0-65535\) or `off`$/,
      );
    }
    expect(() => loadConfig({ ...base, PORT: '8080', METRICS_PORT: '8080' })).toThrow(
      /METRICS_PORT 8080 is the API's PORT/,
    );
  });

  it('reads the S3 artifact root and its connection settings', () => {
    const config = loadConfig({
      DATA_DIR: dir,
      AUTH_JWT_SECRET: secret,
      MLFLOW_ARTIFACT_ROOT: 's3://ml-artifacts/registry/prod/',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_ACCESS_KEY_ID: 'key',
      AWS_SECRET_ACCESS_KEY: 'secret-key',
    });
    expect(config.s3).toEqual({
      bucket: 'ml-artifacts',
      prefix: 'registry/prod/',
      endpoint: { useSSL: false, host: '127.0.0.1', port: 9000 },
      region: 'us-east-1',
      accessKey: 'key',
      secretKey: 'secret-key',
    });
    expect(config.mlflow).toBeUndefined();
    expect(
      loadConfig({
        DATA_DIR: dir,
        AUTH_JWT_SECRET: secret,
        MLFLOW_TRACKING_URI: 'http://mlflow:5000',
      }).mlflow,
    ).toEqual({ baseUrl: 'http://mlflow:5000', timeoutMs: 10_000 });
  });

  it('refuses an S3 root without credentials, and an S3 endpoint without a root', () => {
    expect(() =>
      loadConfig({
        DATA_DIR: dir,
        AUTH_JWT_SECRET: secret,
        MLFLOW_ARTIFACT_ROOT: 's3://ml-artifacts',
      }),
    ).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required/);
    expect(() =>
      loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: secret, S3_ENDPOINT: 'http://127.0.0.1:9000' }),
    ).toThrow(/S3_ENDPOINT is set but MLFLOW_ARTIFACT_ROOT is not/);
    expect(() =>
      loadConfig({
        DATA_DIR: dir,
        AUTH_JWT_SECRET: secret,
        MLFLOW_ARTIFACT_ROOT: 's3://ml-artifacts',
        S3_ENDPOINT: 'http://127.0.0.1:9000/path',
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
      }),
    ).toThrow(/S3_ENDPOINT must be scheme:\/\/host\[:port\] without a path/);
  });

  it('requires a secret or a JWKS URI in production', () => {
    expect(() => loadConfig({ DATA_DIR: dir, NODE_ENV: 'production' })).toThrow(
      /AUTH_JWT_SECRET .* or AUTH_JWKS_URI is required/,
    );
    expect(
      loadConfig({
        DATA_DIR: dir,
        NODE_ENV: 'production',
        AUTH_JWKS_URI: 'https://idp.example.com/jwks',
        AUTH_AUDIENCE: 'model-registry',
      }).auth.jwtSecret,
    ).toBeUndefined();
  });

  it('with an OIDC key set, requires an audience and https', () => {
    const oidc = { DATA_DIR: dir, AUTH_JWKS_URI: 'https://idp.example.com/jwks' };
    expect(() => loadConfig(oidc)).toThrow(/AUTH_AUDIENCE is required with AUTH_JWKS_URI/);
    expect(() =>
      loadConfig({ ...oidc, AUTH_JWKS_URI: 'http://idp.example.com/jwks', AUTH_AUDIENCE: 'a' }),
    ).toThrow(/AUTH_JWKS_URI must use https/);
    expect(
      loadConfig({ ...oidc, AUTH_JWKS_URI: 'http://127.0.0.1:8080/jwks', AUTH_AUDIENCE: 'a' }).auth
        .jwksUri,
    ).toBe('http://127.0.0.1:8080/jwks');
  });

  it('outside production, makes a development secret once and keeps it in DATA_DIR', () => {
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.auth.jwtSecretGenerated).toBe(true);
    expect(first.auth.jwtSecret!.length).toBeGreaterThanOrEqual(32);
    const file = join(dir, DEV_SECRET_FILE);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.auth.jwtSecret);
    expect(loadConfig({ DATA_DIR: dir }).auth.jwtSecret).toBe(first.auth.jwtSecret);
  });
});
