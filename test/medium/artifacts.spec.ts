/**
 * The artifacts service's own branches at the service level: refused uploads, claims (held,
 * stale, raced), discards and the sweep, on a temporary SQLite and the filesystem store.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ArtifactPlacement } from '../../src/artifacts/artifact-placement';
import { ArtifactsRepository } from '../../src/artifacts/artifacts.repository';
import { ArtifactsService } from '../../src/artifacts/artifacts.service';
import { Role } from '../../src/common/auth/roles';
import { ErrorCode } from '../../src/common/errors/error-code';
import { ObjectStorage } from '../../src/storage/object-storage';
import { callerOf, Medium, medium, uploadRequest } from '../support/medium';

describe('artifacts (medium)', () => {
  let m: Medium;
  let artifacts: ArtifactsService;
  let placement: ArtifactPlacement;
  let repository: ArtifactsRepository;
  let storage: ObjectStorage;
  const alice = callerOf('alice', [Role.Editor]);
  const tenant = alice.tenant;

  beforeAll(async () => {
    m = await medium();
    artifacts = m.get(ArtifactsService);
    placement = m.get(ArtifactPlacement);
    repository = m.get(ArtifactsRepository);
    storage = m.get<ObjectStorage>(ObjectStorage);
  });
  afterAll(() => m.close());

  const rows = async () =>
    m.database.db.selectFrom('artifacts').select(['id', 'status', 'tenant_id']).execute();

  it('an upload refused at its second part leaves neither a row nor a file', async () => {
    const before = await rows();
    await expect(
      artifacts.upload(
        uploadRequest([
          { name: 'model', filename: 'model.pkl', bytes: randomBytes(100) },
          { name: 'weights', filename: 'w.bin', bytes: randomBytes(10) },
        ]),
        alice,
      ),
    ).rejects.toMatchObject({ code: ErrorCode.ValidationFailed });
    expect(await rows()).toEqual(before);
  });

  it('a claim held by a live registration refuses another; a stale one is taken over, naming its model', async () => {
    const { artifact_id: id } = await artifacts.upload(uploadRequest(), alice);
    await expect(placement.reserve(tenant, id, 'first')).resolves.toMatchObject({
      resumedFrom: null,
    });
    await expect(placement.reserve(tenant, id, 'second')).rejects.toMatchObject({
      code: ErrorCode.ArtifactAlreadyRegistered,
    });
    await m.database.db
      .updateTable('artifacts')
      .set({ claimed_at: Date.now() - 10 * 60 * 1000 })
      .where('id', '=', id)
      .execute();
    await expect(placement.reserve(tenant, id, 'second')).resolves.toMatchObject({
      resumedFrom: 'first',
    });
  });

  it('of two reservations racing for one artifact, exactly one wins (compare-and-set)', async () => {
    const { artifact_id: id } = await artifacts.upload(uploadRequest(), alice);
    const outcomes = await Promise.allSettled([
      placement.reserve(tenant, id, 'a'),
      placement.reserve(tenant, id, 'b'),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('a discarded upload goes from the tenant it was stored in, whoever uploaded it', async () => {
    const root = callerOf('root', [Role.Admin], 'acme-corp', 'globex');
    const { artifact_id: id } = await artifacts.upload(uploadRequest(), root);
    expect(await storage.stat(`globex/artifacts/${id}/model.pkl`)).not.toBeNull();
    await artifacts.discardUpload(id);
    expect(await storage.stat(`globex/artifacts/${id}/model.pkl`)).toBeNull();
    expect((await rows()).map((r) => r.id)).not.toContain(id);
  });

  it('the sweep removes an upload a dead process left unfinished, and nothing else', async () => {
    const { artifact_id: kept } = await artifacts.upload(uploadRequest(), alice);
    await repository.insertUploading('model-deadupload00001', tenant, 'alice', Date.now() - 1000);
    await storage.put(
      `${tenant}/artifacts/model-deadupload00001/model.pkl`,
      Readable.from([Buffer.from('half')]),
    );
    expect(await artifacts.sweepUnfinishedUploads(0)).toBe(1);
    expect(await storage.stat(`${tenant}/artifacts/model-deadupload00001/model.pkl`)).toBeNull();
    expect(await artifacts.manifest(tenant, kept)).toMatchObject({ artifact_id: kept });
  });
});
