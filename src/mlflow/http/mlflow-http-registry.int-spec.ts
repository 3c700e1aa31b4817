import axios from 'axios';
import { randomUUID } from 'node:crypto';
import { stack } from '../../../test/support/stack';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { describeMlflowRegistryContract } from '../mlflow-registry.contract';
import { Stage } from '../registry-types';
import { MlflowHttpClient } from './mlflow-http-client';
import { MlflowHttpRegistry } from './mlflow-http-registry';

const registryOn = (namespace?: string) =>
  new MlflowHttpRegistry(
    new MlflowHttpClient({ baseUrl: stack().mlflowUri, timeoutMs: 10_000 }),
    namespace,
  );

describeMlflowRegistryContract('MLflow over HTTP', () =>
  Promise.resolve({
    registry: registryOn(`c-${randomUUID().slice(0, 8)}`),
    teardown: () => Promise.resolve(),
  }),
);

describeMlflowRegistryContract('MLflow over HTTP, without a namespace', () =>
  Promise.resolve({ registry: registryOn(), teardown: () => Promise.resolve() }),
);

/** MLflow's own REST API, read directly: what its UI and clients see. */
async function mlflow<T>(path: string, params: Record<string, string>): Promise<T> {
  const res = await axios.get<T>(`${stack().mlflowUri}/api/2.0/mlflow/${path}`, { params });
  return res.data;
}

describe('MlflowHttpRegistry on a real MLflow server', () => {
  const run = randomUUID().slice(0, 8);
  const namespace = `ns-${run}`;
  const registry = registryOn(namespace);

  it('stores models under <namespace>~<tenant>~<name>, tagged, with versions and stages MLflow shows', async () => {
    await registry.createRegisteredModel('acme', {
      name: 'churn',
      description: 'd',
      tags: { team: 'ml' },
    });
    await registry.createModelVersion('acme', 'churn', {
      source: 's3://ml-artifacts/acme/churn/v1/model.pkl',
    });
    await registry.transitionModelVersionStage('acme', 'churn', 1, Stage.Staging, false);
    const { registered_model } = await mlflow<{
      registered_model: {
        name: string;
        tags: { key: string; value: string }[];
        latest_versions: { version: string; current_stage: string }[];
      };
    }>('registered-models/get', { name: `${namespace}~acme~churn` });
    expect(Object.fromEntries(registered_model.tags.map((t) => [t.key, t.value]))).toEqual({
      team: 'ml',
      'registry.tenant': 'acme',
      'registry.namespace': namespace,
    });
    expect(registered_model.latest_versions).toEqual([
      expect.objectContaining({ version: '1', current_stage: 'Staging' }),
    ]);
    // The service sees its own name and tags only.
    expect(await registry.getRegisteredModel('acme', 'churn')).toMatchObject({
      name: 'churn',
      tags: { team: 'ml' },
    });
  });

  it('gives MLflow the version’s folder as its source and keeps its aliases in MLflow', async () => {
    await registry.createRegisteredModel('acme', { name: 'served' });
    const created = await registry.createModelVersion('acme', 'served', {
      source: 's3://ml-artifacts/acme/served/v1/model.pkl',
    });
    expect(created.source).toBe('s3://ml-artifacts/acme/served/v1/model.pkl');
    await registry.setRegisteredModelAlias('acme', 'served', 'champion', 1);
    const mlflowName = `${namespace}~acme~served`;
    const { model_version } = await mlflow<{ model_version: { source: string } }>(
      'registered-models/alias',
      { name: mlflowName, alias: 'champion' },
    );
    // What `models:/<name>@champion` downloads: the folder, every file of the version.
    expect(model_version.source).toBe('s3://ml-artifacts/acme/served/v1');
    const { artifact_uri } = await mlflow<{ artifact_uri: string }>(
      'model-versions/get-download-uri',
      { name: mlflowName, version: '1' },
    );
    expect(artifact_uri).toBe('s3://ml-artifacts/acme/served/v1');
    const { registered_model } = await mlflow<{
      registered_model: { aliases: { alias: string; version: string }[] };
    }>('registered-models/get', { name: mlflowName });
    expect(registered_model.aliases).toEqual([{ alias: 'champion', version: '1' }]);
    // The service still reads the model file.
    expect((await registry.getModelVersion('acme', 'served', 1)).source).toBe(
      's3://ml-artifacts/acme/served/v1/model.pkl',
    );
  });

  it('logs a version’s metrics and parameters to an MLflow run in the tenant’s experiment', async () => {
    const created = await registry.createRun('acme', {
      metrics: { f1_score: 0.912 },
      params: { n_estimators: 200, booster: 'gbtree', early_stop: true },
    });
    const { run: seen } = await mlflow<{
      run: {
        info: { experiment_id: string; status: string };
        data: {
          metrics: { key: string; value: number }[];
          params: { key: string; value: string }[];
        };
      };
    }>('runs/get', { run_id: created.runId });
    expect(seen.info.status).toBe('FINISHED');
    expect(seen.data.metrics).toEqual([expect.objectContaining({ key: 'f1_score', value: 0.912 })]);
    expect(Object.fromEntries(seen.data.params.map((p) => [p.key, p.value]))).toEqual({
      n_estimators: '200',
      booster: 'gbtree',
      early_stop: 'true',
    });
    const { experiment } = await mlflow<{ experiment: { name: string } }>('experiments/get', {
      experiment_id: seen.info.experiment_id,
    });
    expect(experiment.name).toBe(`model-registry/${namespace}/acme`);
  });

  it('carries parameter types through many parameters (several log-batch calls)', async () => {
    const params: Record<string, number | string | boolean> = {};
    for (let i = 0; i < 250; i++)
      params[`p_${i}_${'x'.repeat(200)}`] = i % 3 === 0 ? i : i % 3 === 1 ? `s${i}` : i % 2 === 0;
    const created = await registry.createRun('acme', { metrics: {}, params });
    expect((await registry.getRun('acme', created.runId)).params).toEqual(params);
  });

  it('answers 503 once when the tenant’s experiment was deleted in MLflow, then restores it', async () => {
    const own = registryOn(`exp-${run}`);
    const first = await own.createRun('acme', { metrics: {}, params: {} });
    const { run: seen } = await mlflow<{ run: { info: { experiment_id: string } } }>('runs/get', {
      run_id: first.runId,
    });
    await axios.post(`${stack().mlflowUri}/api/2.0/mlflow/experiments/delete`, {
      experiment_id: seen.info.experiment_id,
    });
    await expect(own.createRun('acme', { metrics: {}, params: {} })).rejects.toMatchObject({
      code: ErrorCode.BackendUnavailable,
    });
    const again = await own.createRun('acme', { metrics: { f1: 0.5 }, params: {} });
    expect((await own.getRun('acme', again.runId)).metrics).toEqual({ f1: 0.5 });
  });

  it('keeps another namespace of the same server apart', async () => {
    const other = registryOn(`other-${run}`);
    await expect(other.getRegisteredModel('acme', 'churn')).rejects.toMatchObject({
      code: ErrorCode.ModelNotFound,
    });
    expect((await other.searchRegisteredModels('acme', { maxResults: 100 })).items).toEqual([]);
    const theirs = await other.createRun('acme', { metrics: {}, params: {} });
    await expect(registry.getRun('acme', theirs.runId)).rejects.toMatchObject({
      code: ErrorCode.RunNotFound,
    });
  });

  it('does not serve a model of the right name that this service did not tag', async () => {
    await axios.post(`${stack().mlflowUri}/api/2.0/mlflow/registered-models/create`, {
      name: `${namespace}~acme~planted`,
    });
    await expect(registry.getRegisteredModel('acme', 'planted')).rejects.toMatchObject({
      code: ErrorCode.ModelNotFound,
    });
    const names = (await registry.searchRegisteredModels('acme', { maxResults: 100 })).items.map(
      (m) => m.name,
    );
    expect(names).not.toContain('planted');
  });

  it('reads nothing of an untagged model’s versions, though it reads them at once', async () => {
    const api = `${stack().mlflowUri}/api/2.0/mlflow`;
    const planted = `${namespace}~acme~planted-versions`;
    await axios.post(`${api}/registered-models/create`, { name: planted });
    await axios.post(`${api}/model-versions/create`, { name: planted, source: 's3://x/y' });
    // One at a time: a call started early could be refused before anything awaits it (an
    // unhandled rejection that fails the test whatever its outcome).
    for (const call of [
      () => registry.getModelVersion('acme', 'planted-versions', 1),
      () => registry.getModelVersionWithModel('acme', 'planted-versions', 1),
      () => registry.searchModelVersions('acme', 'planted-versions'),
      () =>
        registry.transitionModelVersionStage('acme', 'planted-versions', 1, Stage.Staging, false),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: ErrorCode.ModelNotFound });
    }
    const { model_version } = await mlflow<{ model_version: { current_stage: string } }>(
      'model-versions/get',
      { name: planted, version: '1' },
    );
    expect(model_version.current_stage).toBe('None');
  });

  it('answers 503 when MLflow cannot be reached', async () => {
    const down = new MlflowHttpRegistry(
      new MlflowHttpClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1000 }),
    );
    const err = await down.getRegisteredModel('acme', 'churn').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe(ErrorCode.BackendUnavailable);
    await expect(down.ping()).rejects.toMatchObject({ code: ErrorCode.BackendUnavailable });
  });
});
