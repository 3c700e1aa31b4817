import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { RegistryError } from '../src/common/errors/registry-error';
import { Database } from '../src/database/database';
import { EmbeddedMlflowRegistry } from '../src/mlflow/embedded/embedded-mlflow-registry';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import type {
  ModelVersionRecord,
  ParamValue,
  RunRecord,
  Stage,
} from '../src/mlflow/registry-types';
import { auth, download, registerVersion, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/** The embedded backend with hooks to pause a call or make it fail after or before it commits. */
@Injectable()
class HookedRegistry extends EmbeddedMlflowRegistry {
  static beforeCreateRun?: () => Promise<void>;
  /** 'after-commit': the version is created, then the call fails as a timeout would. */
  static versionCreation: 'normal' | 'after-commit' = 'normal';
  static searchFails = false;

  constructor(database: Database) {
    super(database);
  }

  override async createRun(
    tenant: string,
    input: { metrics: Record<string, number>; params: Record<string, ParamValue> },
  ): Promise<RunRecord> {
    await HookedRegistry.beforeCreateRun?.();
    return super.createRun(tenant, input);
  }

  override async createModelVersion(
    tenant: string,
    name: string,
    input: { source: string; runId?: string; description?: string; tags?: Record<string, string> },
  ): Promise<ModelVersionRecord> {
    const record = await super.createModelVersion(tenant, name, input);
    if (HookedRegistry.versionCreation === 'after-commit')
      throw RegistryError.unavailable('the registry backend');
    return record;
  }

  override searchModelVersions(
    tenant: string,
    name: string,
    filter?: { stage?: Stage },
  ): Promise<ModelVersionRecord[]> {
    if (HookedRegistry.searchFails)
      return Promise.reject(RegistryError.unavailable('the registry backend'));
    return super.searchModelVersions(tenant, name, filter);
  }
}

describe('registrations that race or fail ambiguously (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp({
      override: (b) => b.overrideProvider(MlflowRegistry).useClass(HookedRegistry),
    });
    editor = await t.token('alice', ['editor']);
    admin = await t.token('root', ['admin']);
  });

  afterEach(() => {
    HookedRegistry.beforeCreateRun = undefined;
    HookedRegistry.versionCreation = 'normal';
    HookedRegistry.searchFails = false;
  });

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
    let release!: () => void;
    let paused!: () => void;
    const reachedCreateRun = new Promise<void>((r) => (paused = r));
    HookedRegistry.beforeCreateRun = () => {
      paused();
      return new Promise<void>((r) => (release = r));
    };
    // .then() sends it now (supertest waits for it otherwise)
    const registering = register('contested', up.body.artifact_id).then((r) => r);
    await reachedCreateRun;
    HookedRegistry.beforeCreateRun = undefined;
    await request(t.http)
      .delete(`${BASE}/models/contested`)
      .set(...auth(admin))
      .expect(204);
    release();
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
    HookedRegistry.versionCreation = 'after-commit';
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
    HookedRegistry.versionCreation = 'after-commit';
    HookedRegistry.searchFails = true;
    const first = await register('unknown', up.body.artifact_id).expect(503);
    expect(first.body.code).toBe('BACKEND_UNAVAILABLE');
    HookedRegistry.versionCreation = 'normal';
    HookedRegistry.searchFails = false;

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
    HookedRegistry.versionCreation = 'after-commit';
    HookedRegistry.searchFails = true;
    await register('first-owner', up.body.artifact_id).expect(503);
    HookedRegistry.versionCreation = 'normal';
    HookedRegistry.searchFails = false;
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
