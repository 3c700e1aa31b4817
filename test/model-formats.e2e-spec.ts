/**
 * The model part in every accepted format: stored under its format's name, registered with an
 * `artifact_uri` to it, downloaded with its media type; a `.tar.gz` bundle must be gzip; a
 * deployment narrows the formats with ARTIFACT_MODEL_FILES. (Runs on the real stack too.)
 */
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { Database } from '../src/database/database';
import { MODEL_FILE_NAMES } from '../src/domain/model-files';
import { auth, download, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('model file formats (e2e)', () => {
  let t: TestApp;
  let editor: string;

  beforeAll(async () => {
    t = await createTestApp();
    editor = await t.token('alice', ['editor']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const uploaded: [string, string][] = [
    ['churn.onnx', 'model.onnx'],
    ['clf.JOBLIB', 'model.joblib'],
    ['weights.safetensors', 'model.safetensors'],
    ['pytorch_model.bin', 'model.bin'],
    ['net.h5', 'model.h5'],
    ['net.keras', 'model.keras'],
    ['bundle.tgz', 'model.tar.gz'],
    ['mlflow-model.tar.gz', 'model.tar.gz'],
    ['model.pth', 'model.pt'],
    ['model.pickle', 'model.pkl'],
  ];

  it.each(uploaded)('stores %s as %s, registers it and serves it back', async (sent, stored) => {
    const bytes = stored === 'model.tar.gz' ? gzipSync(randomBytes(4096)) : randomBytes(4096);
    const up = await upload(t, editor, { model: bytes, modelName: sent }).expect(201);
    expect(up.body.files.map((f: { name: string }) => f.name)).toEqual([stored]);
    const name = `formats-${stored.replace(/\W/g, '-')}-${sent.length}`;
    const version = await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name, artifact_id: up.body.artifact_id })
      .expect(201);
    expect(version.body.artifact_uri).toMatch(
      new RegExp(`/${name}/v1/${stored.replace('.', '\\.')}$`),
    );
    const got = await download(t, editor, up.body.artifact_id, stored).expect(200);
    expect((got.body as Buffer).equals(bytes)).toBe(true);
    expect(got.headers['content-type']).toBe(
      stored === 'model.tar.gz' ? 'application/gzip' : 'application/octet-stream',
    );
  });

  it('lists every format in the download route and the manifest', async () => {
    const doc = (await request(t.http).get('/docs-json').expect(200)).body as {
      components: { schemas: { ArtifactFileName: { enum: string[] } } };
    };
    expect(doc.components.schemas.ArtifactFileName.enum).toEqual(
      expect.arrayContaining([...MODEL_FILE_NAMES]),
    );
  });

  it('refuses a .tar.gz bundle that is not gzip, storing nothing', async () => {
    const rows = () =>
      t.app
        .get(Database)
        .db.selectFrom('artifacts')
        .select('id')
        .execute()
        .then((r) => r.length);
    const before = await rows();
    const res = await upload(t, editor, {
      model: Buffer.from('not a gzip stream'),
      modelName: 'bundle.tar.gz',
    }).expect(400);
    expect(res.body.message).toBe('model is not a gzip file (model.tar.gz)');
    expect(await rows()).toBe(before);
  });

  it('refuses a file of no known format, naming the accepted ones', async () => {
    const res = await upload(t, editor, { modelName: 'model.zip' }).expect(400);
    expect(res.body.message).toMatch(
      /^model must be a file named \*\.pkl or \*\.pt \(also accepted: \*\.onnx, .*\*\.tar\.gz\) \(got 'model\.zip'\)$/,
    );
  });

  describe('with ARTIFACT_MODEL_FILES=model.onnx,model.pkl', () => {
    let narrow: TestApp;
    let token: string;

    beforeAll(async () => {
      narrow = await createTestApp({ env: { ARTIFACT_MODEL_FILES: 'model.onnx,model.pkl' } });
      token = await narrow.token('alice', ['editor']);
    });

    afterAll(async () => {
      await narrow.close();
      removeDir(narrow.dataDir);
    });

    it('accepts those and refuses the others, naming what is accepted', async () => {
      await upload(narrow, token, { modelName: 'm.onnx' }).expect(201);
      const res = await upload(narrow, token, { modelName: 'm.pt' }).expect(400);
      expect(res.body.message).toBe("model must be a file named *.onnx or *.pkl (got 'm.pt')");
    });
  });
});
