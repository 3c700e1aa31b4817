import request from 'supertest';
import { Database } from '../src/database/database';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { FaultyRegistry } from './support/faulty-registry';
import { auth, download, registerVersion, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('registrations that race or fail ambiguously (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let admin: string;
  let registry: FaultyRegistry;

  beforeAll(async () => {
    t = await createTestApp({
      override: (b) => b.overrideProvider(MlflowRegistry).useClass(FaultyRegistry),
    });
    registry = t.app.get<MlflowRegistry, FaultyRegistry>(MlflowRegistry);
    editor = await t.token('alice', ['editor']);
    admin = await t.token('root', ['admin']);
  });

  afterEach(() => registry.clear());

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  /** What two minutes without a version do to a claim. */
  const makeClaimStale = (artifactId: string) =>
    t.app
      .get(Database)
      .db.updateTable('artifacts')
      .set({ claimed_at: Date.now() - 10 * 60 * 1000 })
      .where('id', '=', artifactId)
      .execute();

  const register = (name: string, artifactId: string) =>
    request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name, artifact_id: artifactId });

  it('a model deleted while a registration is in flight: the new version keeps its bytes', async () => {
    await registerVersion(t, editor, 'contested');
    const up = await upload(t, editor).expect(201);
    const createRun = registry.pause('createRun');
    // .then() sends it now (supertest waits for it otherwise)
    const registering = register('contested', up.body.artifact_id).then((r) => r);
    await createRun.reached;
    await request(t.http)
      .delete(`${BASE}/models/contested`)
      .set(...auth(admin))
      .expect(204);
    createRun.release();
    const res = await registering;
    expect(res.status).toBe(201);
    expect(res.body.version).toBe(1); // a new model of that name
    await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}`)
      .set(...auth(editor))
      .expect(200);
    await download(t, editor, up.body.artifact_id, 'model.pkl').expect(200);
  });

  it('a version that landed although the call failed is kept and completed, not undone', async () => {
    const up = await upload(t, editor).expect(201);
    registry.fail('createModelVersion', { when: 'after' });
    const res = await register('timeouts', up.body.artifact_id).expect(201);
    expect(res.body).toMatchObject({
      name: 'timeouts',
      version: 1,
      artifact_id: up.body.artifact_id,
    });
    const manifest = await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}`)
      .set(...auth(editor))
      .expect(200);
    expect(manifest.body.registered_as).toEqual({ model: 'timeouts', version: 1 });
  });

  it('when it cannot be told whether the version landed, the claim stays; a later attempt completes that version', async () => {
    const up = await upload(t, editor).expect(201);
    registry.fail('createModelVersion', { when: 'after' });
    registry.fail('searchModelVersions', { times: Infinity });
    const first = await register('unknown', up.body.artifact_id).expect(503);
    expect(first.body.code).toBe('BACKEND_UNAVAILABLE');
    registry.clear();

    // Right away, the claim is still held: a second registration (any name) is refused.
    const held = await register('other-name', up.body.artifact_id).expect(409);
    expect(held.body.message).toMatch(/is being registered by another request/);

    // Once the claim is stale, the next attempt finds the version the first one made.
    await makeClaimStale(up.body.artifact_id);
    const again = await register('unknown', up.body.artifact_id).expect(201);
    expect(again.body.version).toBe(1);
    const versions = await request(t.http)
      .get(`${BASE}/models/unknown/versions`)
      .set(...auth(editor))
      .expect(200);
    expect(versions.body.versions).toHaveLength(1);
    const history = await request(t.http)
      .get(`${BASE}/models/unknown/versions/1/transitions`)
      .set(...auth(editor))
      .expect(200);
    expect(history.body.transitions.map((e: { event: string }) => e.event)).toEqual(['registered']);
    await register('unknown', up.body.artifact_id).expect(409);
  });

  it('a stale claim for another model that did create a version: that version is completed, the new request refused', async () => {
    const up = await upload(t, editor).expect(201);
    registry.fail('createModelVersion', { when: 'after' });
    registry.fail('searchModelVersions', { times: Infinity });
    await register('first-owner', up.body.artifact_id).expect(503);
    registry.clear();
    await makeClaimStale(up.body.artifact_id);
    const res = await register('second-owner', up.body.artifact_id).expect(409);
    expect(res.body).toMatchObject({
      code: 'ARTIFACT_ALREADY_REGISTERED',
      details: { model: 'first-owner', version: 1 },
    });
    await request(t.http)
      .get(`${BASE}/models/second-owner`)
      .set(...auth(editor))
      .expect(404);
    const manifest = await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}`)
      .set(...auth(editor))
      .expect(200);
    expect(manifest.body.registered_as).toEqual({ model: 'first-owner', version: 1 });
  });
});
