import request from 'supertest';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('comparison (e2e)', () => {
  let t: TestApp;
  let viewer: string;

  beforeAll(async () => {
    t = await createTestApp();
    const alice = await t.token('alice', ['editor']);
    viewer = await t.token('victor', ['viewer']);
    await registerVersion(t, alice, 'churn-predictor', {
      metrics: { f1_score: 0.88, auc_roc: 0.95 },
    });
    await registerVersion(t, alice, 'churn-predictor', {
      metrics: { f1_score: 0.895, auc_roc: 0.96 },
    });
    await registerVersion(
      t,
      alice,
      'churn-predictor',
      {},
      { metrics: { f1_score: 0.912, auc_roc: 0.97, log_loss: 0.2 } },
    );
    await registerVersion(t, alice, 'churn-predictor', {
      metrics: { f1_score: 0.93, auc_roc: 0.95 },
    });
    await request(t.http)
      .post(`${BASE}/models/churn-predictor/versions/3/stage`)
      .set(...auth(alice))
      .send({ stage: 'staging' })
      .expect(200);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const compare = (versions: string) =>
    request(t.http)
      .get(`${BASE}/models/churn-predictor/compare?versions=${versions}`)
      .set(...auth(viewer));

  it('answers the platform example: comparison with stages, and version 3 recommended', async () => {
    const res = await compare('2,3').expect(200);
    expect(res.body.comparison).toEqual([
      { version: 2, metrics: { auc_roc: 0.96, f1_score: 0.895, log_loss: null }, stage: 'none' },
      { version: 3, metrics: { auc_roc: 0.97, f1_score: 0.912, log_loss: 0.2 }, stage: 'staging' },
    ]);
    expect(res.body.recommended_version).toBe(3);
    expect(res.body.recommendation).toMatch(/^Version 3 shows improvement across all metrics: /);
    expect(res.body.recommendation).toContain('not compared, missing from some versions: log_loss');
    expect(res.body.metrics).toContainEqual({
      name: 'log_loss',
      direction: 'lower_is_better',
      compared: false,
      best_versions: [],
    });
  });

  it('says why there is no clear winner', async () => {
    const res = await compare('3,4').expect(200);
    expect(res.body.recommended_version).toBeNull();
    expect(res.body.recommendation).toMatch(
      /^No clear winner: auc_roc favours version 3 .*; f1_score favours version 4/,
    );
  });

  it('with primary_metric, recommends the version best on it and says how the others moved', async () => {
    const res = await request(t.http)
      .get(`${BASE}/models/churn-predictor/compare?versions=3,4&primary_metric=f1_score`)
      .set(...auth(viewer))
      .expect(200);
    expect(res.body.recommended_version).toBe(4);
    expect(res.body.recommendation).toBe(
      'Version 4 is best on f1_score, the primary metric: f1_score 0.93 vs 0.912 (+0.018, +2.0%); the others: auc_roc worse: 0.95 vs 0.97 (−0.02, −2.1%) (not compared, missing from some versions: log_loss)',
    );
  });

  it('refuses a primary_metric the versions do not all have, or that is no metric name (400)', async () => {
    const missing = await request(t.http)
      .get(`${BASE}/models/churn-predictor/compare?versions=3,4&primary_metric=log_loss`)
      .set(...auth(viewer))
      .expect(400);
    expect(missing.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: "primary_metric: 'log_loss' is missing from version 4, so it cannot decide",
    });
    const malformed = await request(t.http)
      .get(
        `${BASE}/models/churn-predictor/compare?versions=3,4&primary_metric=${encodeURIComponent('f1;drop')}`,
      )
      .set(...auth(viewer))
      .expect(400);
    expect(malformed.body.message).toMatch(/primary_metric must be a metric name/);
  });

  it('compares more than two versions, in the order asked', async () => {
    const res = await compare('4,1,2').expect(200);
    expect(res.body.comparison.map((c: { version: number }) => c.version)).toEqual([4, 1, 2]);
  });

  it.each(['2', '2,2', '1,2,3,4,5,6,7,8,9,10,11', 'two,three', '2;3', '0,1', ''])(
    '400 for versions=%s',
    async (versions) => {
      const res = await compare(versions).expect(400);
      expect(res.body.message).toBe(
        'versions must be 2 to 10 distinct version numbers separated by commas, e.g. versions=2,3',
      );
    },
  );

  it('404 for a version or model that does not exist, or belongs to another tenant', async () => {
    expect((await compare('2,9').expect(404)).body.code).toBe('VERSION_NOT_FOUND');
    await request(t.http)
      .get(`${BASE}/models/nope/compare?versions=1,2`)
      .set(...auth(viewer))
      .expect(404);
    const other = await t.token('eve', ['viewer'], 'globex');
    await request(t.http)
      .get(`${BASE}/models/churn-predictor/compare?versions=1,2`)
      .set(...auth(other))
      .expect(404);
  });
});
