import axios from 'axios';
import { Client as MinioClient } from 'minio';
import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { auth, download, registerVersion, upload } from './support/fixtures';
import {
  freshDatabase,
  realBackendEnv,
  stack,
  stackService,
  uniqueNamespace,
} from './support/stack';
import { BASE, createTestApp, removeDir, tempDataDir, TestApp } from './support/test-app';

/**
 * The whole workflow on the real stack — MLflow Tracking Server, S3 (SeaweedFS), PostgreSQL and
 * Redis — checked through this API and through MLflow's and S3's own APIs; then the faults:
 * each backend stopped and started again under a running service.
 */
describe('the registry on MLflow, S3, PostgreSQL and Redis', () => {
  const namespace = uniqueNamespace('stack');
  const dataDir = tempDataDir();
  let env: Record<string, string>;
  let t: TestApp;
  let editor: string;
  let approver: string;
  let viewer: string;
  let outsider: string;
  const metrics = [0.81, 0.86, 0.84];
  const model = 'churn-predictor';

  const mlflowName = `${namespace}~acme-corp~${model}`;
  const mlflow = async <T>(path: string, params: Record<string, string>): Promise<T> =>
    (await axios.get<T>(`${stack().mlflowUri}/api/2.0/mlflow/${path}`, { params })).data;
  const s3 = () => {
    const url = new URL(stack().s3Endpoint);
    return new MinioClient({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      pathStyle: true,
      accessKey: stack().s3AccessKey,
      secretKey: stack().s3SecretKey,
      region: 'us-east-1',
    });
  };
  const s3Location = (uri: string) => {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!match) throw new Error(`not an s3 uri: ${uri}`);
    return { bucket: match[1], key: match[2] };
  };

  beforeAll(async () => {
    env = realBackendEnv({ namespace, databaseUrl: await freshDatabase('stack') });
    t = await createTestApp({ dataDir, env });
    editor = await t.token('eve', ['editor']);
    approver = await t.token('alice', ['approver']);
    viewer = await t.token('victor', ['viewer']);
    outsider = await t.token('mallory', ['admin'], 'other-corp');
  });

  afterAll(async () => {
    await t?.close();
    removeDir(dataDir);
  });

  const bytes: Buffer[] = [];

  it('runs the workflow: upload, three versions, staging, production request, approval', async () => {
    for (let i = 0; i < 3; i++) {
      bytes.push(randomBytes(64 * 1024 + i));
      const v = await registerVersion(
        t,
        editor,
        model,
        { tags: { algorithm: 'xgboost' } },
        {
          model: bytes[i],
          metrics: { f1_score: metrics[i], loss: 1 - metrics[i] },
          config: {
            hyperparameters: {
              n_estimators: 100 * (i + 1),
              booster: 'gbtree',
              early_stop: i === 1,
            },
          },
        },
      );
      expect(v.version).toBe(i + 1);
      expect(v['artifact_uri']).toBe(
        `s3://${stack().s3Bucket}/${namespace}/acme-corp/${model}/v${i + 1}/model.pkl`,
      );
    }
    await request(t.http)
      .post(`${BASE}/models/${model}/versions/2/stage`)
      .set(...auth(editor))
      .send({ stage: 'staging' })
      .expect(200);
    const requested = await request(t.http)
      .post(`${BASE}/models/${model}/versions/2/stage`)
      .set(...auth(editor))
      .send({ stage: 'production', comment: 'best f1' })
      .expect(202);
    const approved = await request(t.http)
      .post(`${BASE}/approvals/${requested.body.approval.id}/approve`)
      .set(...auth(approver))
      .send({ comment: 'ok' })
      .expect(200);
    expect(approved.body.version).toMatchObject({ version: 2, stage: 'production' });
    const listed = await request(t.http)
      .get(`${BASE}/models`)
      .set(...auth(viewer))
      .expect(200);
    expect(listed.body.models).toEqual([
      expect.objectContaining({
        name: model,
        latest_version: 3,
        production_version: 2,
        staging_version: null,
      }),
    ]);
  });

  it('compares the versions and recommends the best', async () => {
    const res = await request(t.http)
      .get(`${BASE}/models/${model}/compare?versions=1,2,3`)
      .set(...auth(viewer))
      .expect(200);
    expect(res.body.comparison.map((c: { version: number }) => c.version)).toEqual([1, 2, 3]);
    expect(res.body.recommended_version).toBe(2);
  });

  it('keeps other tenants out', async () => {
    await request(t.http)
      .get(`${BASE}/models/${model}`)
      .set(...auth(await t.token('x', ['viewer'], 'other-corp')))
      .expect(404);
    const list = await request(t.http)
      .get(`${BASE}/models`)
      .set(...auth(outsider))
      .expect(200);
    expect(list.body.models).toEqual([]);
  });

  it('shows the same models, versions, stages, tags, metrics and parameters in MLflow’s own API', async () => {
    const { registered_model } = await mlflow<{
      registered_model: { latest_versions: { version: string; current_stage: string }[] };
    }>('registered-models/get', { name: mlflowName });
    const stages = Object.fromEntries(
      registered_model.latest_versions.map((v) => [v.current_stage, v.version]),
    );
    expect(stages).toMatchObject({ Production: '2', None: '3' });
    for (let i = 1; i <= 3; i++) {
      const { model_version } = await mlflow<{
        model_version: {
          current_stage: string;
          source: string;
          run_id: string;
          tags: { key: string; value: string }[];
        };
      }>('model-versions/get', { name: mlflowName, version: String(i) });
      expect(model_version.current_stage).toBe(i === 2 ? 'Production' : 'None');
      // MLflow's source is the version's folder (what models:/ URIs download, issue 20).
      expect(model_version.source).toBe(
        `s3://${stack().s3Bucket}/${namespace}/acme-corp/${model}/v${i}`,
      );
      expect(model_version.tags).toEqual(
        expect.arrayContaining([{ key: 'algorithm', value: 'xgboost' }]),
      );
      const { run } = await mlflow<{
        run: {
          data: {
            metrics: { key: string; value: number }[];
            params: { key: string; value: string }[];
          };
        };
      }>('runs/get', { run_id: model_version.run_id });
      expect(Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]))).toEqual({
        f1_score: metrics[i - 1],
        loss: 1 - metrics[i - 1],
      });
      expect(Object.fromEntries(run.data.params.map((p) => [p.key, p.value]))).toEqual({
        n_estimators: String(100 * i),
        booster: 'gbtree',
        early_stop: String(i === 2),
      });
    }
  });

  it('keeps the bytes in S3 where the version says, with the recorded SHA-256', async () => {
    const v = await request(t.http)
      .get(`${BASE}/models/${model}/versions/1`)
      .set(...auth(viewer))
      .expect(200);
    const { bucket, key } = s3Location(v.body.artifact_uri);
    const stream = await s3().getObject(bucket, key);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(bytes[0])).toBe(true);
    const manifest = await request(t.http)
      .get(`${BASE}/artifacts/${v.body.artifact_id}`)
      .set(...auth(viewer))
      .expect(200);
    const file = manifest.body.files.find((f: { name: string }) => f.name === 'model.pkl');
    expect(file.sha256).toBe(createHash('sha256').update(bytes[0]).digest('hex'));
    const got = await download(t, viewer, v.body.artifact_id, 'model.pkl').expect(200);
    expect((got.body as Buffer).equals(bytes[0])).toBe(true);
  });

  it('serves everything after a restart of the service', async () => {
    await t.close();
    t = await createTestApp({ dataDir, env });
    const v = await request(t.http)
      .get(`${BASE}/models/${model}/versions/2`)
      .set(...auth(viewer))
      .expect(200);
    expect(v.body).toMatchObject({ stage: 'production', metrics: { f1_score: metrics[1] } });
    expect(v.body.parameters).toEqual({ n_estimators: 200, booster: 'gbtree', early_stop: true });
    const history = await request(t.http)
      .get(`${BASE}/models/${model}/versions/2/transitions`)
      .set(...auth(viewer))
      .expect(200);
    expect(JSON.stringify(history.body)).toContain('alice');
  });

  describe('faults', () => {
    const ready = () => request(t.http).get('/health/ready');

    it('reports every backend in /health/ready', async () => {
      const res = await ready().expect(200);
      expect(Object.keys(res.body.checks).sort()).toEqual([
        'cache',
        'database',
        'registry',
        'storage',
      ]);
    });

    it('answers 503 with Retry-After while MLflow is stopped, and recovers when it is back', async () => {
      await stackService('stop', 'mlflow');
      try {
        const started = Date.now();
        const res = await request(t.http)
          .post(`${BASE}/models/${model}/versions/3/stage`)
          .set(...auth(editor))
          .send({ stage: 'staging' })
          .expect(503);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(res.headers['retry-after']).toBeDefined();
        expect(res.body).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
        await request(t.http)
          .get(`${BASE}/models/never-read-${namespace}`)
          .set(...auth(viewer))
          .expect(503);
        const health = await ready().expect(503);
        expect(health.body.checks.registry).toEqual({ status: 'down' });
      } finally {
        await stackService('start', 'mlflow');
      }
      await ready().expect(200);
      const moved = await request(t.http)
        .post(`${BASE}/models/${model}/versions/3/stage`)
        .set(...auth(editor))
        .send({ stage: 'staging' })
        .expect(200);
      expect(moved.body.stage).toBe('staging');
    });

    it('answers 503 for uploads and downloads while S3 is stopped, and recovers when it is back', async () => {
      const v = await request(t.http)
        .get(`${BASE}/models/${model}/versions/1`)
        .set(...auth(viewer))
        .expect(200);
      await stackService('stop', 's3');
      try {
        const up = await upload(t, editor, { model: randomBytes(4096) });
        expect(up.status).toBe(503);
        expect(up.headers['retry-after']).toBeDefined();
        await download(t, viewer, v.body.artifact_id, 'model.pkl').expect(503);
        expect((await ready().expect(503)).body.checks.storage).toEqual({ status: 'down' });
      } finally {
        await stackService('start', 's3');
      }
      await ready().expect(200);
      await download(t, viewer, v.body.artifact_id, 'model.pkl').expect(200);
      const again = await registerVersion(t, editor, model, {}, { model: randomBytes(1000) });
      expect(again.version).toBe(4);
    });

    it('answers 503 while PostgreSQL is stopped, and recovers when it is back', async () => {
      await stackService('stop', 'postgres');
      try {
        const res = await request(t.http)
          .get(`${BASE}/approvals`)
          .set(...auth(viewer))
          .expect(503);
        expect(res.headers['retry-after']).toBeDefined();
        expect((await ready().expect(503)).body.checks.database).toEqual({ status: 'down' });
      } finally {
        await stackService('start', 'postgres');
      }
      await ready().expect(200);
      await request(t.http)
        .get(`${BASE}/approvals`)
        .set(...auth(viewer))
        .expect(200);
    });

    it('keeps serving while Redis is stopped, and uses it again when it is back', async () => {
      await stackService('stop', 'redis');
      try {
        await request(t.http)
          .get(`${BASE}/models/${model}`)
          .set(...auth(viewer))
          .expect(200);
        await request(t.http)
          .patch(`${BASE}/models/${model}`)
          .set(...auth(editor))
          .send({ description: 'while redis was down' })
          .expect(200);
        const health = await ready().expect(200);
        expect(health.body).toMatchObject({
          status: 'degraded',
          checks: { cache: { status: 'down' } },
        });
      } finally {
        await stackService('start', 'redis');
      }
      await ready().expect(200);
      const m = await request(t.http)
        .get(`${BASE}/models/${model}`)
        .set(...auth(viewer))
        .expect(200);
      expect(m.body.description).toBe('while redis was down');
    });
  });
});
