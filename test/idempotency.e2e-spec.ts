import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { ArtifactsService } from '../src/artifacts/artifacts.service';
import { Database } from '../src/database/database';
import { ObjectStorage } from '../src/storage/object-storage';
import { auth, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/** Idempotency-Key on POSTs (issue 4.3): a retry replays the first answer and creates nothing. */
describe('Idempotency-Key (e2e)', () => {
  let t: TestApp;
  let alice: string; // editor
  let bob: string; // approver
  let eve: string; // another editor, same tenant
  let db: Database;

  const count = async (table: 'artifacts' | 'reg_versions' | 'approvals' | 'history') =>
    Number(
      (
        await db.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const post = (token: string, path: string, key: string | undefined, body: object = {}) => {
    let req = request(t.http)
      .post(`${BASE}${path}`)
      .set(...auth(token));
    if (key !== undefined) req = req.set('Idempotency-Key', key);
    return req.send(body);
  };

  beforeAll(async () => {
    t = await createTestApp();
    db = t.app.get(Database);
    alice = await t.token('alice', ['editor']);
    eve = await t.token('eve', ['editor']);
    bob = await t.token('bob', ['approver']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('replays an upload with the same key and files, and keeps one artifact', async () => {
    const model = randomBytes(4096);
    const first = await upload(t, alice, { model, metrics: { f1: 0.9 } })
      .set('Idempotency-Key', 'upload-1')
      .expect(201);
    const before = await count('artifacts');
    const again = await upload(t, alice, { model, metrics: { f1: 0.9 } })
      .set('Idempotency-Key', 'upload-1')
      .expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await count('artifacts')).toBe(before);

    const other = await upload(t, alice, { model: randomBytes(4096) })
      .set('Idempotency-Key', 'upload-1')
      .expect(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(other.body.message).toMatch(/Idempotency-Key/);
    expect(await count('artifacts')).toBe(before);
  });

  it("keeps an admin's upload key to the tenant it named: another ?tenant_id= is 422, a replay is discarded where it was stored", async () => {
    const root = await t.token('root', ['admin']);
    const model = randomBytes(4096);
    const storage = t.app.get(ObjectStorage);
    const discard = jest.spyOn(t.app.get(ArtifactsService), 'discardUpload');
    const inGlobex = await upload(t, root, { model })
      .query({ tenant_id: 'globex' })
      .set('Idempotency-Key', 'admin-upload-1')
      .expect(201);
    const rows = await count('artifacts');

    // The same key and files for another tenant: refused before anything is stored.
    const elsewhere = await upload(t, root, { model })
      .query({ tenant_id: 'initech' })
      .set('Idempotency-Key', 'admin-upload-1')
      .expect(422);
    expect(elsewhere.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const own = await upload(t, root, { model })
      .set('Idempotency-Key', 'admin-upload-1')
      .expect(422);
    expect(own.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await count('artifacts')).toBe(rows);

    // The same request again: replayed, the artifact found in the tenant it names, and the
    // repeated upload's bytes deleted from that tenant (where they were stored).
    const again = await upload(t, root, { model })
      .query({ tenant_id: 'globex' })
      .set('Idempotency-Key', 'admin-upload-1')
      .expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.artifact_id).toBe(inGlobex.body.artifact_id);
    await request(t.http)
      .get(`${BASE}/artifacts/${again.body.artifact_id}`)
      .query({ tenant_id: 'globex' })
      .set(...auth(root))
      .expect(200);
    expect(discard).toHaveBeenCalledTimes(1);
    const discarded = discard.mock.calls[0][0];
    expect(discarded).not.toBe(inGlobex.body.artifact_id);
    expect(await storage.stat(`globex/artifacts/${discarded}/model.pkl`)).toBeNull();
    expect(await count('artifacts')).toBe(rows);
    discard.mockRestore();
  });

  it('replays a registration: one version, the same answer; another body is 422', async () => {
    const up = await upload(t, alice).expect(201);
    const body = { name: 'idem-model', artifact_id: up.body.artifact_id, tags: { a: '1', b: '2' } };
    const first = await post(alice, '/models', 'reg-1', body).expect(201);
    expect(first.body.version).toBe(1);
    const versions = await count('reg_versions');
    // The same body with its keys in another order is the same request.
    const again = await post(alice, '/models', 'reg-1', {
      tags: { b: '2', a: '1' },
      artifact_id: up.body.artifact_id,
      name: 'idem-model',
    }).expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await count('reg_versions')).toBe(versions);

    const different = await post(alice, '/models', 'reg-1', {
      ...body,
      description: 'changed',
    }).expect(422);
    expect(different.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // The key is the caller's: another user's same key is another request.
    const up2 = await upload(t, eve).expect(201);
    const eves = await post(eve, '/models', 'reg-1', {
      name: 'idem-model',
      artifact_id: up2.body.artifact_id,
    }).expect(201);
    expect(eves.body.version).toBe(2);
    // A key used on one route is refused on another.
    await post(alice, '/models/idem-model/versions/1/stage', 'reg-1', { stage: 'staging' }).expect(
      422,
    );
  });

  it('replays a production request (202 + Location) and a decision, creating one approval', async () => {
    const up = await upload(t, alice).expect(201);
    await post(alice, '/models', undefined, {
      name: 'idem-prod',
      artifact_id: up.body.artifact_id,
    }).expect(201);
    const approvals = await count('approvals');
    const first = await post(alice, '/models/idem-prod/versions/1/stage', 'prod-1', {
      stage: 'production',
      comment: 'ship it',
    }).expect(202);
    const again = await post(alice, '/models/idem-prod/versions/1/stage', 'prod-1', {
      stage: 'production',
      comment: 'ship it',
    }).expect(202);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.body).toEqual(first.body);
    expect(await count('approvals')).toBe(approvals + 1);

    const id = first.body.approval.id as string;
    const history = await count('history');
    const approved = await post(bob, `/approvals/${id}/approve`, 'approve-1', {}).expect(200);
    const replay = await post(bob, `/approvals/${id}/approve`, 'approve-1', {}).expect(200);
    expect(replay.body).toEqual(approved.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    // Without the key, the retry is a new decision on a decided request.
    await post(bob, `/approvals/${id}/approve`, undefined, {}).expect(409);
    // approval_approved + the transition: recorded once.
    expect(await count('history')).toBe(history + 2);
  });

  it('gives the key up when the request fails, so a corrected retry runs', async () => {
    await post(alice, '/models', 'fails-first', {
      name: 'idem-fail',
      artifact_id: 'model-doesnotexist',
    }).expect(404);
    const up = await upload(t, alice).expect(201);
    // Same key, a now different (corrected) body: the failed attempt kept nothing.
    await post(alice, '/models', 'fails-first', {
      name: 'idem-fail',
      artifact_id: up.body.artifact_id,
    }).expect(201);
  });

  it('answers 409 with Retry-After while the first request with the key still runs', async () => {
    // A slow upload holds the key; the second request with it must not run beside it.
    const model = randomBytes(64 * 1024);
    const boundary = 'idem-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="model"; filename="model.pkl"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const slow = request(t.http)
      .post(`${BASE}/artifacts`)
      .set(...auth(alice))
      .set('Idempotency-Key', 'slow-1')
      .set('Content-Type', `multipart/form-data; boundary=${boundary}`);
    const req = slow;
    req.write(head);
    req.write(model.subarray(0, 1024));
    // Wait until the first request holds the key.
    for (let i = 0; i < 50; i++) {
      const row = await db.db
        .selectFrom('idempotency_keys')
        .select('state')
        .where('idem_key', '=', 'slow-1')
        .executeTakeFirst();
      if (row?.state === 'in_progress') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const busy = await upload(t, alice, { model }).set('Idempotency-Key', 'slow-1').expect(409);
    expect(busy.body.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(busy.headers['retry-after']).toBe('1');
    req.write(model.subarray(1024));
    req.write(tail);
    const done = await req;
    expect(done.status).toBe(201);
    const replay = await upload(t, alice, { model }).set('Idempotency-Key', 'slow-1').expect(201);
    expect(replay.body.artifact_id).toBe(done.body.artifact_id);
  });

  it('refuses a malformed key with a 400 naming the header', async () => {
    const res = await post(alice, '/models', 'x'.repeat(256), {
      name: 'n',
      artifact_id: 'a',
    }).expect(400);
    expect(res.body.message).toMatch(/Idempotency-Key/);
  });

  it('honours the header on every POST of the OpenAPI document (no route without @Idempotent)', async () => {
    const admin = await t.token('root', ['admin']);
    const doc = (await request(t.http).get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const posts = Object.keys(doc.paths).filter((path) => doc.paths[path].post !== undefined);
    expect(posts.length).toBeGreaterThanOrEqual(6);
    for (const path of posts) {
      // Any value reaches the interceptor: parameters are validated after it.
      const url = path.replace(/\{version\}/g, '1').replace(/\{[^}]+\}/g, 'x');
      const res = await request(t.http)
        .post(url)
        .set(...auth(admin))
        .set('Idempotency-Key', 'has a space')
        .send({});
      expect({ path, status: res.status, message: res.body.message }).toEqual({
        path,
        status: 400,
        message: expect.stringMatching(/^Idempotency-Key header/),
      });
    }
  });
});
