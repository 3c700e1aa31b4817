import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { auth, download, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('embedded data across a restart (e2e)', () => {
  const model = randomBytes(20_000);
  let t: TestApp;
  let dataDir: string;
  let artifactId: string;
  let approvalId: string;
  let pendingId: string;

  afterAll(() => removeDir(dataDir));

  it('records models, approvals, history and artifacts before the restart', async () => {
    t = await createTestApp();
    dataDir = t.dataDir;
    const alice = await t.token('alice', ['editor']);
    const bob = await t.token('bob', ['approver']);
    const v1 = await registerVersion(
      t,
      alice,
      'churn-predictor',
      { metrics: { f1_score: 0.9 } },
      { model },
    );
    artifactId = v1.artifact_id;
    await registerVersion(t, alice, 'churn-predictor');
    const req = await request(t.http)
      .post(`${BASE}/models/churn-predictor/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'production', comment: 'ship it' })
      .expect(202);
    approvalId = req.body.approval.id;
    await request(t.http)
      .post(`${BASE}/approvals/${approvalId}/approve`)
      .set(...auth(bob))
      .expect(200);
    pendingId = (
      await request(t.http)
        .post(`${BASE}/models/churn-predictor/versions/2/stage`)
        .set(...auth(alice))
        .send({ stage: 'production' })
        .expect(202)
    ).body.approval.id;
    await t.close();
  });

  it('serves all of it after the restart, and the workflow carries on', async () => {
    t = await createTestApp({ dataDir });
    try {
      const viewer = await t.token('victor', ['viewer']);
      const v1 = await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions/1`)
        .set(...auth(viewer))
        .expect(200);
      expect(v1.body).toMatchObject({
        stage: 'production',
        metrics: { f1_score: 0.9 },
        created_by: 'alice',
      });

      const approval = await request(t.http)
        .get(`${BASE}/approvals/${approvalId}`)
        .set(...auth(viewer))
        .expect(200);
      expect(approval.body).toMatchObject({
        status: 'approved',
        decided_by: 'bob',
        apply_state: 'applied',
      });

      const history = await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions/1/transitions`)
        .set(...auth(viewer))
        .expect(200);
      expect(history.body.transitions.map((e: { event: string }) => e.event)).toEqual([
        'registered',
        'approval_requested',
        'approval_approved',
        'transition',
      ]);

      const bytes = await download(t, viewer, artifactId, 'model.pkl').expect(200);
      expect(Buffer.compare(bytes.body as Buffer, model)).toBe(0);

      // the request left pending before the restart can still be decided, exactly once
      const dave = await t.token('dave', ['approver']);
      await request(t.http)
        .post(`${BASE}/approvals/${pendingId}/approve`)
        .set(...auth(dave))
        .expect(200);
      await request(t.http)
        .post(`${BASE}/approvals/${pendingId}/approve`)
        .set(...auth(dave))
        .expect(409);
      const list = await request(t.http)
        .get(`${BASE}/models`)
        .set(...auth(viewer))
        .expect(200);
      expect(list.body.models[0]).toMatchObject({
        name: 'churn-predictor',
        production_version: 2,
        latest_version: 2,
      });
      const alice = await t.token('alice', ['editor']);
      expect((await registerVersion(t, alice, 'churn-predictor')).version).toBe(3);
    } finally {
      await t.close();
    }
  });
});
