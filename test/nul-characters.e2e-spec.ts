import request from 'supertest';
import { auth, registerVersion, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('U+0000 in any string of a request is a 400 naming the field (e2e)', () => {
  let t: TestApp;
  let editor: string;

  beforeAll(async () => {
    t = await createTestApp();
    editor = await t.token('alice', ['editor']);
    await registerVersion(t, editor, 'nul-model');
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const expectNul = (res: request.Response, field: string): void => {
    expect({ status: res.status, code: res.body.code, message: res.body.message }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
      message: `${field} must not contain the NUL character (\\u0000)`,
    });
  };

  it('in a body value, a nested tag value and a tag key', async () => {
    const patch = (body: object) =>
      request(t.http)
        .patch(`${BASE}/models/nul-model`)
        .set(...auth(editor))
        .send(body);
    expectNul(await patch({ description: 'a\u0000b' }), 'description');
    expectNul(await patch({ tags: { team: 'ml\u0000' } }), 'tags.team');
    expectNul(await patch({ tags: { 'te\u0000am': 'ml' } }), 'tags.te\\u0000am');
    // Nothing was written.
    const model = await request(t.http)
      .get(`${BASE}/models/nul-model`)
      .set(...auth(editor));
    expect(model.body.tags).toEqual({});
  });

  it('in a registration, a stage request comment and a decision comment', async () => {
    const up = await upload(t, editor).expect(201);
    expectNul(
      await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send({
          name: 'nul-model',
          artifact_id: up.body.artifact_id,
          parameters: { p: 'x\u0000' },
        }),
      'parameters.p',
    );
    expectNul(
      await request(t.http)
        .post(`${BASE}/models/nul-model/versions/1/stage`)
        .set(...auth(editor))
        .send({ stage: 'staging', comment: '\u0000' }),
      'comment',
    );
    const versions = await request(t.http)
      .get(`${BASE}/models/nul-model/versions`)
      .set(...auth(editor))
      .expect(200);
    expect(versions.body.versions.map((v: { stage: string }) => v.stage)).toEqual(['none']);
  });

  it('in a query parameter', async () => {
    expectNul(
      await request(t.http)
        .get(`${BASE}/models`)
        .query({ page_token: 'abc\u0000' })
        .set(...auth(editor)),
      'page_token',
    );
    expectNul(
      await request(t.http)
        .get(`${BASE}/approvals`)
        .query({ page_token: '\u0000' })
        .set(...auth(editor)),
      'page_token',
    );
  });

  it("in an uploaded config.json's hyperparameters and metrics.json keys", async () => {
    const config = await upload(t, editor, {
      config: { hyperparameters: { optimizer: 'ad\u0000am' } },
    });
    expect(config.status).toBe(400);
    expect(config.body.message).toMatch(/optimizer.*NUL/);
    const metrics = await upload(t, editor, { metrics: { 'f1\u0000': 0.5 } });
    expect(metrics.status).toBe(400);
  });
});
