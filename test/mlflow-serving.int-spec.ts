import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freshDatabase, realBackendEnv, stack, stackDir, uniqueNamespace } from './support/stack';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

const run = promisify(execFile);

/**
 * MLflow clients load what the service registered (issue 20): MLflow's own Python client, in
 * the stack's venv (mlflow, scikit-learn), against the real MLflow server and S3, with the
 * service on all real backends. tests/python/mlflow_serving.py does the client's part.
 */
describe('serving from MLflow: the MLflow Python client loads a model registered here', () => {
  const namespace = uniqueNamespace('serve');
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      env: realBackendEnv({ namespace, databaseUrl: await freshDatabase('serve') }),
    });
    await new Promise<void>((r) => t.http.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('loads models:/<name>@champion and models:/<name>/Production and predicts', async () => {
    const python = join(stackDir(), 'venv', 'bin', 'python');
    expect(existsSync(python)).toBe(true);
    const { port } = t.http.address() as AddressInfo;
    const s = stack();
    const model = 'churn-sklearn';
    const { stdout } = await run(
      python,
      [resolve(__dirname, '..', 'tests', 'python', 'mlflow_serving.py')],
      {
        timeout: 240_000,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? '/tmp',
          REGISTRY_URL: `http://127.0.0.1:${port}${BASE}`,
          REGISTRY_EDITOR_TOKEN: await t.token('alice', ['editor']),
          REGISTRY_APPROVER_TOKEN: await t.token('bob', ['approver']),
          MODEL_NAME: model,
          MLFLOW_MODEL_NAME: `${namespace}~acme-corp~${model}`,
          MLFLOW_TRACKING_URI: s.mlflowUri,
          MLFLOW_S3_ENDPOINT_URL: s.s3Endpoint,
          AWS_ACCESS_KEY_ID: s.s3AccessKey,
          AWS_SECRET_ACCESS_KEY: s.s3SecretKey,
          AWS_DEFAULT_REGION: 'us-east-1',
          // The model's environment is the venv's own: no conda, no virtualenv to build.
          MLFLOW_ENV_MANAGER: 'local',
        },
      },
    );
    const checks = stdout.split('\n').filter((line) => line.startsWith('ok: '));
    expect(checks).toEqual([
      expect.stringContaining("uploaded the MLflow model's files"),
      `ok: registered ${model} version 1`,
      'ok: @champion set, approved by a second person',
      'ok: production approved by a second person',
      `ok: models:/${namespace}~acme-corp~${model}@champion loads and predicts as trained`,
      `ok: models:/${namespace}~acme-corp~${model}/Production loads and predicts as trained`,
    ]);
  });
});
