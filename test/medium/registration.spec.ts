/**
 * Registration, one failure branch at a time, at the service level: the real modules on a
 * temporary SQLite and the embedded backend, one backend call made to fail per test.
 */
import { Readable } from 'node:stream';
import { ArtifactsService } from '../../src/artifacts/artifacts.service';
import type { Caller } from '../../src/common/auth/caller.decorator';
import { Role } from '../../src/common/auth/roles';
import { ErrorCode } from '../../src/common/errors/error-code';
import { RegistryError } from '../../src/common/errors/registry-error';
import { RegisterModelVersion } from '../../src/registry/registration/register-model-version.usecase';
import { ObjectStorage } from '../../src/storage/object-storage';
import { callerOf, Medium, medium, uploadRequest } from '../support/medium';

describe('registration (medium)', () => {
  let m: Medium;
  let registration: RegisterModelVersion;
  let artifacts: ArtifactsService;
  let storage: ObjectStorage;
  const alice: Caller = callerOf('alice', [Role.Editor]);
  const tenant = alice.tenant;
  let names = 0;
  const name = (): string => `reg-${++names}`;

  beforeAll(async () => {
    m = await medium();
    registration = m.get(RegisterModelVersion);
    artifacts = m.get(ArtifactsService);
    storage = m.get<ObjectStorage>(ObjectStorage);
  });
  afterEach(() => m.registry.clear());
  afterAll(() => m.close());

  const uploaded = async (metrics: Record<string, number> = { f1_score: 0.9 }): Promise<string> =>
    (
      await artifacts.upload(
        uploadRequest([
          { name: 'model', filename: 'model.pkl', bytes: Buffer.from('weights') },
          {
            name: 'metrics',
            filename: 'metrics.json',
            bytes: Buffer.from(JSON.stringify(metrics)),
          },
        ]),
        alice,
      )
    ).artifact_id;

  const claimOf = async (id: string) =>
    m.database.db
      .selectFrom('artifacts')
      .select(['model_name', 'model_version', 'claimed_at', 'location'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  const runs = async () =>
    Number(
      (
        await m.database.db
          .selectFrom('reg_runs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const modelExists = (model: string) =>
    m.registry.getRegisteredModel(tenant, model).then(
      () => true,
      () => false,
    );
  const placed = (model: string, version: number) =>
    storage.stat(`${tenant}/${model}/v${version}/model.pkl`);
  const registeredEntries = async (model: string) =>
    (
      await m.database.db
        .selectFrom('history')
        .select('event')
        .where('model_name', '=', model)
        .where('event', '=', 'registered')
        .execute()
    ).length;
  /** What two minutes without a version do to a claim. */
  const makeClaimStale = (id: string) =>
    m.database.db
      .updateTable('artifacts')
      .set({ claimed_at: Date.now() - 10 * 60 * 1000 })
      .where('id', '=', id)
      .execute();

  it('records model, run, version, placement, claim and history together; the upload copy goes', async () => {
    const id = await uploaded();
    const model = name();
    const v = await registration.execute(alice, { name: model, artifact_id: id });
    expect(v).toMatchObject({ name: model, version: 1, stage: 'none', metrics: { f1_score: 0.9 } });
    expect(await claimOf(id)).toMatchObject({ model_name: model, model_version: 1 });
    expect(await placed(model, 1)).not.toBeNull();
    expect(await storage.stat(`${tenant}/artifacts/${id}/model.pkl`)).toBeNull();
    expect(await registeredEntries(model)).toBe(1);
  });

  it('a run that cannot be made: nothing is created and the claim is given up', async () => {
    const id = await uploaded();
    const model = name();
    const before = await runs();
    m.registry.fail('createRun');
    await expect(registration.execute(alice, { name: model, artifact_id: id })).rejects.toThrow(
      RegistryError,
    );
    expect(await modelExists(model)).toBe(false);
    expect(await runs()).toBe(before);
    expect(await claimOf(id)).toMatchObject({ model_name: null, model_version: null });
    expect(await placed(model, 1)).toBeNull();
    // Given up, not lost: a retry registers it.
    await expect(
      registration.execute(alice, { name: model, artifact_id: id }),
    ).resolves.toMatchObject({
      version: 1,
    });
  });

  it('a metrics.json whose bytes no longer match its digest: the run is removed, no model made', async () => {
    const id = await uploaded();
    const model = name();
    const before = await runs();
    await storage.put(`${tenant}/artifacts/${id}/metrics.json`, Readable.from([Buffer.from('{}')]));
    await expect(registration.execute(alice, { name: model, artifact_id: id })).rejects.toThrow(
      /do not match the recorded SHA-256/,
    );
    expect(await runs()).toBe(before);
    expect(await modelExists(model)).toBe(false);
    expect(await claimOf(id)).toMatchObject({ model_name: null });
  });

  it('a version creation that surely failed: files, run and the new model are removed again', async () => {
    const id = await uploaded();
    const model = name();
    const before = await runs();
    m.registry.fail('createModelVersion', { when: 'before' });
    await expect(registration.execute(alice, { name: model, artifact_id: id })).rejects.toThrow(
      RegistryError,
    );
    expect(await placed(model, 1)).toBeNull();
    expect(await runs()).toBe(before);
    expect(await modelExists(model)).toBe(false);
    expect(await claimOf(id)).toMatchObject({ model_name: null });
    expect(await storage.stat(`${tenant}/artifacts/${id}/model.pkl`)).not.toBeNull();
  });

  it('in a model that exists, a failed version creation keeps the model and its versions', async () => {
    const model = name();
    await registration.execute(alice, { name: model, artifact_id: await uploaded() });
    const id = await uploaded();
    m.registry.fail('createModelVersion', { when: 'before' });
    await expect(registration.execute(alice, { name: model, artifact_id: id })).rejects.toThrow();
    expect((await m.registry.searchModelVersions(tenant, model)).map((v) => v.version)).toEqual([
      1,
    ]);
    expect(await placed(model, 2)).toBeNull();
  });

  it('a version that landed although its call failed (a timeout) is completed, once', async () => {
    const id = await uploaded();
    const model = name();
    m.registry.fail('createModelVersion', { when: 'after' });
    const v = await registration.execute(alice, { name: model, artifact_id: id });
    expect(v).toMatchObject({ version: 1, artifact_id: id });
    expect(await claimOf(id)).toMatchObject({ model_name: model, model_version: 1 });
    expect(await registeredEntries(model)).toBe(1);
    expect(await placed(model, 1)).not.toBeNull();
  });

  it('when it cannot be told whether the version landed, nothing is undone; a later attempt completes it', async () => {
    const id = await uploaded();
    const model = name();
    m.registry.fail('createModelVersion', { when: 'after' });
    m.registry.fail('searchModelVersions');
    await expect(
      registration.execute(alice, { name: model, artifact_id: id }),
    ).rejects.toMatchObject({
      code: ErrorCode.BackendUnavailable,
    });
    expect(await claimOf(id)).toMatchObject({ model_name: model, model_version: null });
    await expect(
      registration.execute(alice, { name: model, artifact_id: id }),
    ).rejects.toMatchObject({
      code: ErrorCode.ArtifactAlreadyRegistered,
    });
    await makeClaimStale(id);
    const v = await registration.execute(alice, { name: model, artifact_id: id });
    expect(v.version).toBe(1);
    expect(await m.registry.searchModelVersions(tenant, model)).toHaveLength(1);
    expect(await registeredEntries(model)).toBe(1);
  });

  it('a version numbered differently than predicted is given back; the registration takes the next number', async () => {
    const model = name();
    const first = await registration.execute(alice, {
      name: model,
      artifact_id: await uploaded(),
    });
    // Made and deleted outside the service: the backend will not hand out 2 again, the
    // service's history does not know it existed.
    await m.registry.createModelVersion(tenant, model, { source: first.artifact_uri });
    await m.registry.deleteModelVersion(tenant, model, 2);
    const id = await uploaded();
    const v = await registration.execute(alice, { name: model, artifact_id: id });
    // Predicted 2, numbered 3 (given back), then 4: the backend never hands out 3 again either.
    expect(v.version).toBe(4);
    expect(await placed(model, 2)).toBeNull();
    expect(await placed(model, 3)).toBeNull();
    expect(await placed(model, 4)).not.toBeNull();
    expect((await m.registry.searchModelVersions(tenant, model)).map((x) => x.version)).toEqual([
      1, 4,
    ]);
  });

  it('a model deleted between its read and the version creation is made again', async () => {
    const model = name();
    await registration.execute(alice, { name: model, artifact_id: await uploaded() });
    const id = await uploaded();
    const paused = m.registry.pause('createModelVersion');
    const registering = registration.execute(alice, { name: model, artifact_id: id });
    await paused.reached;
    await m.registry.deleteRegisteredModel(tenant, model);
    paused.release();
    const v = await registering;
    expect(v.version).toBe(1);
    expect(await claimOf(id)).toMatchObject({ model_name: model, model_version: 1 });
  });

  it('two registrations of one model at once get two numbers (the model lock)', async () => {
    const model = name();
    const [a, b] = await Promise.all([
      registration.execute(alice, { name: model, artifact_id: await uploaded() }),
      registration.execute(alice, { name: model, artifact_id: await uploaded() }),
    ]);
    expect([a.version, b.version].sort()).toEqual([1, 2]);
  });

  it('a registered artifact cannot back a second version', async () => {
    const id = await uploaded();
    await registration.execute(alice, { name: name(), artifact_id: id });
    await expect(
      registration.execute(alice, { name: name(), artifact_id: id }),
    ).rejects.toMatchObject({
      code: ErrorCode.ArtifactAlreadyRegistered,
    });
  });
});
