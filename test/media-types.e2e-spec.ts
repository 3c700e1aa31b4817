/**
 * A route that reads a JSON body takes JSON only: `application/json` or a `+json` type (RFC
 * 6839). Any other body is 415 UNSUPPORTED_MEDIA_TYPE, after authentication and role, and
 * changes nothing; a request without a body stays an empty object.
 */
import request from 'supertest';
import { registerVersion, auth } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('request media types (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let approver: string;

  beforeAll(async () => {
    t = await createTestApp();
    editor = await t.token('alice', ['editor']);
    approver = await t.token('bob', ['approver']);
    await registerVersion(t, editor, 'media-model');
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const body = JSON.stringify({ description: 'changed' });

  it.each([
    ['text/plain', 'text/plain'],
    ['urlencoded', 'application/x-www-form-urlencoded'],
    ['XML', 'application/xml'],
    ['a json look-alike', 'application/jsonp'],
  ])('refuses a %s body with 415 and changes nothing', async (_what, type) => {
    const res = await request(t.http)
      .patch(`${BASE}/models/media-model`)
      .set(...auth(editor))
      .set('Content-Type', type)
      .send(body)
      .expect(415);
    expect(res.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(res.body.message).toMatch(/Content-Type must be application\/json/);
    const model = await request(t.http)
      .get(`${BASE}/models/media-model`)
      .set(...auth(editor))
      .expect(200);
    expect(model.body.description).not.toBe('changed');
  });

  it('refuses a body without a Content-Type with 415', async () => {
    const res = await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .set('Content-Type', '')
      .send(Buffer.from(JSON.stringify({ name: 'x', artifact_id: 'model-abcdefgh' })))
      .expect(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('checks the token and the role first (401, 403 before 415)', async () => {
    await request(t.http)
      .patch(`${BASE}/models/media-model`)
      .set('Content-Type', 'text/plain')
      .send(body)
      .expect(401);
    await request(t.http)
      .patch(`${BASE}/models/media-model`)
      .set(...auth(approver))
      .set('Content-Type', 'text/plain')
      .send(body)
      .expect(403);
  });

  it.each(['application/vnd.api+json', 'application/merge-patch+json; charset=utf-8'])(
    'takes %s as JSON',
    async (type) => {
      const res = await request(t.http)
        .patch(`${BASE}/models/media-model`)
        .set(...auth(editor))
        .set('Content-Type', type)
        .send(JSON.stringify({ description: `as ${type}` }))
        .expect(200);
      expect(res.body.description).toBe(`as ${type}`);
    },
  );

  it('takes a request without a body as an empty object (an approval without a comment)', async () => {
    const v = await registerVersion(t, editor, 'media-model');
    const asked = await request(t.http)
      .post(`${BASE}/models/media-model/versions/${v.version}/stage`)
      .set(...auth(editor))
      .send({ stage: 'production' })
      .expect(202);
    await request(t.http)
      .post(`${BASE}/approvals/${asked.body.approval.id}/approve`)
      .set(...auth(approver))
      .expect(200);
  });

  it('ignores a body sent to a route that reads none (a GET)', async () => {
    await request(t.http)
      .get(`${BASE}/models/media-model`)
      .set(...auth(editor))
      .set('Content-Type', 'text/plain')
      .send('ignored')
      .expect(200);
  });

  it('answers a JSON body declared larger than the limit with 413 before reading it', async () => {
    const res = await request(t.http)
      .patch(`${BASE}/models/media-model`)
      .set(...auth(editor))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ description: 'x'.repeat(2 * 1024 * 1024) }))
      .expect(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.headers['connection']).toBe('close');
  });
});
