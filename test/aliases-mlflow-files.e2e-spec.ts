import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { auth } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/** What `mlflow.sklearn.save_model` writes beside model.pkl and requirements.txt. */
const MLMODEL = `flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.2
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
model_size_bytes: 1234
utc_time_created: '2026-12-03 10:00:00.000000'
`;
const CONDA = `channels:
- conda-forge
dependencies:
- python=3.11.2
- pip
- pip:
  - mlflow==3.17.2
  - scikit-learn==1.9.1
name: mlflow-env
`;
const PYTHON_ENV = `python: 3.11.2
build_dependencies:
- pip==24.0
dependencies:
- -r requirements.txt
`;

/**
 * An artifact may be a whole MLflow model: the optional parts `mlmodel`, `conda` and
 * `python_env` are stored under MLflow's names (MLmodel, conda.yaml, python_env.yaml), checked
 * as YAML before they are stored, within the metadata size limit, and registered with the rest.
 */
describe('MLflow model files in an upload (e2e)', () => {
  let t: TestApp;
  let editor: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { ARTIFACT_MAX_METADATA_BYTES: '4096' } });
    editor = await t.token('alice', ['editor']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const uploadWith = (parts: Record<string, string | Buffer>) => {
    let req = request(t.http)
      .post(`${BASE}/artifacts`)
      .set(...auth(editor))
      .attach('model', randomBytes(512), 'model.pkl');
    for (const [part, content] of Object.entries(parts)) {
      req = req.attach(part, Buffer.from(content), `${part}.yaml`);
    }
    return req;
  };

  it('stores them under MLflow names, downloadable byte for byte, and registers them', async () => {
    const up = await uploadWith({ mlmodel: MLMODEL, conda: CONDA, python_env: PYTHON_ENV })
      .attach('requirements', Buffer.from('scikit-learn==1.9.1\n'), 'requirements.txt')
      .expect(201);
    const names = (up.body.files as { name: string }[]).map((f) => f.name).sort();
    expect(names).toEqual([
      'MLmodel',
      'conda.yaml',
      'model.pkl',
      'python_env.yaml',
      'requirements.txt',
    ]);
    const id = up.body.artifact_id as string;
    await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name: 'sklearn-model', artifact_id: id })
      .expect(201);
    for (const [file, content] of [
      ['MLmodel', MLMODEL],
      ['conda.yaml', CONDA],
      ['python_env.yaml', PYTHON_ENV],
    ]) {
      const res = await request(t.http)
        .get(`${BASE}/artifacts/${id}/files/${file}`)
        .set(...auth(editor))
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => done(null, Buffer.concat(chunks)));
        })
        .expect(200);
      expect([file, (res.body as Buffer).toString('utf8')]).toEqual([file, content]);
      expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    }
  });

  it('refuses what is not YAML, not a mapping, or an MLmodel without flavors; nothing is kept', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ conda: 'dependencies: [python' }, 'conda.yaml is not valid YAML'],
      [{ python_env: '- just\n- a list\n' }, 'python_env.yaml must hold a YAML mapping'],
      [{ mlmodel: 'mlflow_version: 3.17.2\n' }, 'MLmodel must have a `flavors` mapping'],
      [{ mlmodel: 'flavors: [sklearn]\n' }, 'MLmodel must have a `flavors` mapping'],
    ];
    for (const [parts, message] of cases) {
      const res = await uploadWith(parts);
      expect({ parts, status: res.status, message: res.body.message }).toEqual({
        parts,
        status: 400,
        message,
      });
    }
    const bad = await uploadWith({ mlmodel: MLMODEL }).attach(
      'conda',
      Buffer.from([0xff, 0xfe, 0x00]),
      'conda.yaml',
    );
    expect([bad.status, bad.body.message]).toEqual([400, 'conda.yaml must be UTF-8 text']);
  });

  it('holds them to the metadata size limit (413 naming the part)', async () => {
    const res = await uploadWith({ conda: `name: x\nnote: ${'y'.repeat(5000)}\n` });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { field: 'conda' } });
  });
});
