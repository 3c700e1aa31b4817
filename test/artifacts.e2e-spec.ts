import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import { artifactPrefix } from '../src/artifacts/artifact-files';
import { ArtifactsService } from '../src/artifacts/artifacts.service';
import { ObjectStorage } from '../src/storage/object-storage';
import { auth, download, upload } from './support/fixtures';
import { listeningPort, slowUpload } from './support/slow-upload';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function storedFiles(t: TestApp): string[] {
  const root = join(t.dataDir, 'artifacts');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

async function artifactRows(t: TestApp): Promise<number> {
  const { Database } = await import('../src/database/database');
  const db = t.app.get(Database).db;
  const rows = await db.selectFrom('artifacts').select('id').execute();
  return rows.length;
}

describe('artifacts (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let viewer: string;

  beforeAll(async () => {
    t = await createTestApp({
      env: { ARTIFACT_MAX_FILE_BYTES: String(64 * 1024), ARTIFACT_MAX_METADATA_BYTES: '2048' },
    });
    editor = await t.token('alice', ['editor']);
    viewer = await t.token('victor', ['viewer']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('stores every file with its size and SHA-256, and serves the manifest', async () => {
    const model = randomBytes(10_000);
    const preprocessor = randomBytes(500);
    const metrics = { f1_score: 0.912, auc_roc: 0.97 };
    const config = {
      hyperparameters: { n_estimators: 200, booster: 'gbtree', early_stop: true },
      framework: 'xgboost',
    };
    const res = await upload(t, editor, {
      model,
      preprocessor,
      metrics,
      config,
      requirements: 'xgboost==2.0.3\n',
    }).expect(201);

    expect(res.body.artifact_id).toMatch(/^model-[a-z0-9]{16}$/);
    expect(res.body.created_by).toBe('alice');
    expect(res.body.registered_as).toBeNull();
    const byName = Object.fromEntries(res.body.files.map((f: { name: string }) => [f.name, f]));
    expect(Object.keys(byName).sort()).toEqual([
      'config.json',
      'metrics.json',
      'model.pkl',
      'preprocessor.pkl',
      'requirements.txt',
    ]);
    expect(byName['model.pkl']).toEqual({
      name: 'model.pkl',
      size: model.length,
      sha256: sha256(model),
    });
    expect(byName['preprocessor.pkl'].sha256).toBe(sha256(preprocessor));
    expect(byName['metrics.json'].sha256).toBe(sha256(Buffer.from(JSON.stringify(metrics))));

    const manifest = await request(t.http)
      .get(`${BASE}/artifacts/${res.body.artifact_id}`)
      .set(...auth(viewer))
      .expect(200);
    expect(manifest.body).toEqual(res.body);
  });

  it('refuses a part with an empty name with a 400, and keeps serving', async () => {
    const body = Buffer.from(
      '--XX\r\nContent-Disposition: form-data; name=""\r\n\r\nhello\r\n--XX--\r\n',
    );
    const res = await request(t.http)
      .post(`${BASE}/artifacts`)
      .set(...auth(editor))
      .set('Content-Type', 'multipart/form-data; boundary=XX')
      .send(body)
      .expect(400);
    expect(res.body.message).toMatch(/unknown part/);
    await request(t.http).get('/health/live').expect(200);
  });

  it('streams a file back byte for byte with its digest in the headers', async () => {
    const model = randomBytes(50_000);
    const up = await upload(t, editor, { model, modelName: 'weights.pt' }).expect(201);
    expect(up.body.files.map((f: { name: string }) => f.name)).toEqual(['model.pt']);
    const res = await download(t, viewer, up.body.artifact_id, 'model.pt').expect(200);
    expect(Buffer.compare(res.body as Buffer, model)).toBe(0);
    expect(res.headers['x-checksum-sha256']).toBe(sha256(model));
    expect(res.headers['content-length']).toBe(String(model.length));
    expect(res.headers['content-disposition']).toBe('attachment; filename="model.pt"');
  });

  it('cuts the download when the stored bytes no longer match the recorded digest', async () => {
    const up = await upload(t, editor, { model: randomBytes(4096) }).expect(201);
    // Bit rot, or tampering, straight in the object store (files or S3).
    await t.app
      .get(ObjectStorage)
      .put(
        `acme-corp/artifacts/${up.body.artifact_id}/model.pkl`,
        Readable.from([randomBytes(4096)]),
      );
    await expect(
      request(t.http)
        .get(`${BASE}/artifacts/${up.body.artifact_id}/files/model.pkl`)
        .set(...auth(viewer)),
    ).rejects.toThrow();
  });

  it('answers 404 for a file the artifact does not have, 400 for a file name that cannot exist', async () => {
    const up = await upload(t, editor).expect(201);
    const missing = await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}/files/config.json`)
      .set(...auth(viewer))
      .expect(404);
    expect(missing.body.code).toBe('ARTIFACT_FILE_NOT_FOUND');
    const bad = await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}/files/..%2F..%2Fregistry.db`)
      .set(...auth(viewer))
      .expect(400);
    expect(bad.body.message).toMatch(/^file must be one of/);
  });

  it('hides artifacts of other tenants behind 404', async () => {
    const up = await upload(t, editor).expect(201);
    const other = await t.token('mallory', ['admin'], 'globex');
    const res = await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}`)
      .set(...auth(other))
      .expect(404);
    expect(res.body.code).toBe('ARTIFACT_NOT_FOUND');
    await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}/files/model.pkl`)
      .set(...auth(other))
      .expect(404);
  });

  it('an upload in flight survives a sweep of unfinished uploads', async () => {
    const model = randomBytes(40_000);
    const upload = slowUpload(await listeningPort(t), editor, model.length);
    upload.write(model.subarray(0, 20_000));
    await new Promise((r) => setTimeout(r, 200));
    // Sweep everything unfinished, however young: the upload in flight must be spared.
    await t.app.get(ArtifactsService).sweepUnfinishedUploads(0);
    upload.write(model.subarray(20_000));
    upload.finish();
    const res = await upload.response;
    expect(res.status).toBe(201);
    const id = (JSON.parse(res.body) as { artifact_id: string }).artifact_id;
    const back = await download(t, viewer, id, 'model.pkl').expect(200);
    expect(Buffer.compare(back.body as Buffer, model)).toBe(0);
  });

  it('reads an empty optional part as absent: what Swagger UI sends for a file input left empty', async () => {
    // Swagger UI sends every part of the form; one with no file chosen is an empty part named blob.
    const empty = (name: string, type: string) => ({ name, type });
    let req = request(t.http)
      .post(`${BASE}/artifacts`)
      .set(...auth(editor))
      .attach('model', randomBytes(100), 'model.pkl');
    for (const part of [
      empty('preprocessor', 'application/octet-stream'),
      empty('config', 'application/json'),
      empty('metrics', 'application/json'),
      empty('requirements', 'text/plain'),
    ]) {
      req = req.attach(part.name, Buffer.alloc(0), { filename: 'blob', contentType: part.type });
    }
    const res = await req.expect(201);
    expect(res.body.files.map((f: { name: string }) => f.name)).toEqual(['model.pkl']);
    // Nothing stored for the empty parts, in whichever store this runs on (files or S3).
    const storage = t.app.get(ObjectStorage);
    const prefix = artifactPrefix('acme-corp', res.body.artifact_id as string);
    expect(await storage.stat(`${prefix}model.pkl`)).toEqual({ size: 100 });
    for (const name of ['preprocessor.pkl', 'config.json', 'metrics.json', 'requirements.txt']) {
      expect(await storage.stat(`${prefix}${name}`)).toBeNull();
    }
    const manifest = await request(t.http)
      .get(`${BASE}/artifacts/${res.body.artifact_id}`)
      .set(...auth(viewer))
      .expect(200);
    expect(manifest.body.files.map((f: { name: string }) => f.name)).toEqual(['model.pkl']);
  });

  describe('rejected uploads leave nothing behind', () => {
    let filesBefore: number;
    let rowsBefore: number;

    beforeEach(async () => {
      filesBefore = storedFiles(t).length;
      rowsBefore = await artifactRows(t);
    });

    afterEach(async () => {
      expect(storedFiles(t).length).toBe(filesBefore);
      expect(await artifactRows(t)).toBe(rowsBefore);
      expect(storedFiles(t).filter((f) => f.includes('.partial-'))).toEqual([]);
    });

    it('400 without a model part', async () => {
      const res = await upload(t, editor, { model: false, metrics: { f1: 1 } }).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.message).toMatch(/^model is required/);
    });

    it('400 for an empty model, even though empty optional parts are absent', async () => {
      const res = await upload(t, editor, { model: Buffer.alloc(0), metrics: '' }).expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', message: 'model file is empty' });
    });

    it('400 for an optional part sent twice, even when the first is empty', async () => {
      const res = await request(t.http)
        .post(`${BASE}/artifacts`)
        .set(...auth(editor))
        .attach('model', randomBytes(100), 'model.pkl')
        .attach('config', Buffer.alloc(0), 'blob')
        .attach('config', Buffer.from('{}'), 'config.json')
        .expect(400);
      expect(res.body.message).toBe("part 'config' was sent more than once");
    });

    it('400 for a model file that is neither .pkl nor .pt', async () => {
      const res = await upload(t, editor, { modelName: 'model.exe' }).expect(400);
      expect(res.body.message).toMatch(/model must be a file named \*\.pkl or \*\.pt/);
    });

    it('400 for metrics.json that is not a flat object of numbers, naming the key', async () => {
      const res = await upload(t, editor, { metrics: { f1_score: 'high' } }).expect(400);
      expect(res.body.message).toBe("metrics.json value of 'f1_score' must be a finite number");
    });

    it('400 for a metrics.json key that could pollute prototypes', async () => {
      const res = await upload(t, editor, {
        metrics: '{"__proto__": {"polluted": 1}, "f1": 0.9}',
      }).expect(400);
      expect(res.body.message).toBe("metrics.json has the key '__proto__', which is not allowed");
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('400 for invalid JSON in config.json', async () => {
      const res = await upload(t, editor, { config: '{"hyperparameters": ' }).expect(400);
      expect(res.body.message).toBe('config.json is not valid JSON');
    });

    it('400 for nested hyperparameters', async () => {
      const res = await upload(t, editor, {
        config: { hyperparameters: { layers: [64, 32] } },
      }).expect(400);
      expect(res.body.message).toBe(
        "config.json hyperparameters value of 'layers' must be a string, number or boolean",
      );
    });

    it('400 for an unknown part', async () => {
      const res = await request(t.http)
        .post(`${BASE}/artifacts`)
        .set(...auth(editor))
        .attach('model', randomBytes(100), 'model.pkl')
        .attach('weights', randomBytes(100), 'weights.bin')
        .expect(400);
      expect(res.body.message).toMatch(/^unknown part 'weights'/);
    });

    it('400 for the same part twice', async () => {
      const res = await request(t.http)
        .post(`${BASE}/artifacts`)
        .set(...auth(editor))
        .attach('model', randomBytes(100), 'model.pkl')
        .attach('model', randomBytes(100), 'model.pkl')
        .expect(400);
      expect(res.body.message).toBe("part 'model' was sent more than once");
    });

    it('413 for a model over the size limit, naming the part', async () => {
      const res = await upload(t, editor, {
        model: randomBytes(64 * 1024 + 1),
        metrics: { f1: 1 },
      }).expect(413);
      expect(res.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
      expect(res.body.message).toBe('model is larger than the limit of 65536 bytes');
    });

    it('413 for a metadata part over its limit', async () => {
      const big = { hyperparameters: { notes: 'x'.repeat(3000) } };
      const res = await upload(t, editor, { config: big }).expect(413);
      expect(res.body.message).toBe('config is larger than the limit of 2048 bytes');
    });

    it('413 before reading a body whose declared length is over every limit', async () => {
      const res = await request(t.http)
        .post(`${BASE}/artifacts`)
        .set(...auth(editor))
        .set('Content-Type', 'multipart/form-data; boundary=x')
        .set('Content-Length', String(10 * 1024 * 1024))
        .send('--x--')
        .catch((err: { response?: request.Response }) => err.response);
      // Either the answer arrives, or the server closed after answering; both are fine as long as
      // nothing is stored (checked after each test).
      if (res) expect([413, 400]).toContain(res.status);
    });

    it('415 for a body that is not multipart', async () => {
      const res = await request(t.http)
        .post(`${BASE}/artifacts`)
        .set(...auth(editor))
        .send({ model: 'x' })
        .expect(415);
      expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('an upload the client abandons half way', async () => {
      const upload = slowUpload(await listeningPort(t), editor, 60_000);
      upload.write(randomBytes(30_000));
      await new Promise((r) => setTimeout(r, 200)); // bytes are on their way to storage
      upload.abandon();
      // the service notices, stops writing and removes what it stored (also checked after each test)
      const until = Date.now() + 10_000;
      while ((await artifactRows(t)) !== rowsBefore || storedFiles(t).length !== filesBefore) {
        if (Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    it('403 for a viewer, before anything is read', async () => {
      const res = await upload(t, viewer).expect(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });
  });
});
