import request from 'supertest';
import { auth, registerVersion } from './support/fixtures';
import { RecordingProxy } from './support/recording-proxy';
import { freshDatabase, realBackendEnv, stack, uniqueNamespace } from './support/stack';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/** The MLflow REST endpoint a path names: `registered-models/get`. */
function endpoint(path: string): string {
  return path.split('?')[0].replace('/api/2.0/mlflow/', '');
}

const GET_MODEL = 'GET registered-models/get';
const GET_VERSION = 'GET model-versions/get';
const SEARCH_VERSIONS = 'GET model-versions/search';
const GET_RUN = 'GET runs/get';
const NEW_RUN = ['POST runs/create', 'POST runs/log-batch', 'POST runs/update'];
const sorted = (calls: string[]) => [...calls].sort();

/**
 * The MLflow calls each operation makes on the real server, with the cache off (every read
 * cold): the registered model is read once per operation, writes are not read back, and nothing
 * is asked twice (issue 5, goal 2). A change that adds a round trip fails here.
 */
describe('MLflow round trips per operation (cache off)', () => {
  const proxy = new RecordingProxy(stack().mlflowUri);
  /** The calls since the last take(), `METHOD endpoint`, sorted (calls made at once arrive in any order). */
  const calls = (): string[] =>
    proxy
      .take()
      .map((c) => `${c.method} ${endpoint(c.path)}`)
      .sort();
  let t: TestApp;
  let editor: string;
  let approver: string;

  beforeAll(async () => {
    const mlflowUri = await proxy.start();
    const namespace = uniqueNamespace('trips');
    t = await createTestApp({
      env: {
        ...realBackendEnv({ namespace, databaseUrl: await freshDatabase('trips') }),
        MLFLOW_TRACKING_URI: mlflowUri,
        ML_REGISTRY_CACHE_TTL: '0',
        // The background loops stay out of the counts (they find nothing to do anyway).
        APPROVAL_RETRY_INTERVAL_MS: '3600000',
      },
    });
    editor = await t.token('eve', ['editor']);
    approver = await t.token('alice', ['approver']);
    // The tenant's experiment is looked up once per process: not part of any operation below.
    await registerVersion(t, editor, 'warm-up');
    proxy.take();
  });

  afterAll(async () => {
    await t?.close();
    await proxy.stop();
    if (t) removeDir(t.dataDir);
  });

  const upload = async (): Promise<string> => {
    const res = await request(t.http)
      .post(`${BASE}/artifacts`)
      .set(...auth(editor))
      .attach('model', Buffer.from('bytes'), 'model.pkl')
      .attach('metrics', Buffer.from(JSON.stringify({ accuracy: 0.9 })), 'metrics.json')
      .expect(201);
    proxy.take(); // an upload does not talk to MLflow; keep the counts per operation
    return (res.body as { artifact_id: string }).artifact_id;
  };

  const register = async (name: string) => {
    const artifactId = await upload();
    return request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name, artifact_id: artifactId })
      .expect(201);
  };

  it('registers a new model: its model and run are created, never read back', async () => {
    const res = await register('trips-new');
    expect(res.body).toMatchObject({ name: 'trips-new', version: 1, stage: 'none' });
    expect(calls()).toEqual(
      sorted([
        ...NEW_RUN,
        GET_MODEL, // not found: create it
        'POST registered-models/create',
        'POST model-versions/create',
      ]),
    );
  });

  it('registers a new version of a model: the model is read once, the version and run never', async () => {
    const res = await register('trips-new');
    expect(res.body).toMatchObject({
      name: 'trips-new',
      version: 2,
      stage: 'none',
      metrics: { accuracy: 0.9 },
    });
    expect(calls()).toEqual(sorted([...NEW_RUN, GET_MODEL, 'POST model-versions/create']));
    // What the registration answered without reading back is what a read finds.
    const read = await request(t.http)
      .get(`${BASE}/models/trips-new/versions/2`)
      .set(...auth(editor))
      .expect(200);
    expect(read.body).toEqual(res.body);
    proxy.take();
  });

  it('reads a version cold: model, version and run, once each', async () => {
    await request(t.http)
      .get(`${BASE}/models/trips-new/versions/1`)
      .set(...auth(editor))
      .expect(200);
    expect(calls()).toEqual(sorted([GET_MODEL, GET_VERSION, GET_RUN]));
  });

  it('lists models cold: one search', async () => {
    await request(t.http)
      .get(`${BASE}/models`)
      .set(...auth(editor))
      .expect(200);
    expect(calls()).toEqual(['GET registered-models/search']);
  });

  it('moves a version to staging: the moved version is not read back', async () => {
    const res = await request(t.http)
      .post(`${BASE}/models/trips-new/versions/1/stage`)
      .set(...auth(editor))
      .send({ stage: 'staging' })
      .expect(200);
    expect(res.body).toMatchObject({ version: 1, stage: 'staging' });
    expect(calls()).toEqual(
      sorted([GET_MODEL, GET_VERSION, 'POST model-versions/transition-stage', GET_RUN]),
    );
  });

  it('still refuses a move to the stage a version has, after one read of each', async () => {
    await request(t.http)
      .post(`${BASE}/models/trips-new/versions/1/stage`)
      .set(...auth(editor))
      .send({ stage: 'staging' })
      .expect(409);
    expect(calls()).toEqual(sorted([GET_MODEL, GET_VERSION]));
  });

  it('requests, then approves and applies a production move', async () => {
    const requested = await request(t.http)
      .post(`${BASE}/models/trips-new/versions/2/stage`)
      .set(...auth(editor))
      .send({ stage: 'production' })
      .expect(202);
    expect(calls()).toEqual(sorted([GET_MODEL, GET_VERSION]));

    const approved = await request(t.http)
      .post(
        `${BASE}/approvals/${(requested.body as { approval: { id: string } }).approval.id}/approve`,
      )
      .set(...auth(approver))
      .send({})
      .expect(200);
    expect(approved.body).toMatchObject({
      approval: { status: 'approved', apply_state: 'applied' },
      version: { version: 2, stage: 'production' },
    });
    expect(calls()).toEqual(
      sorted([
        GET_MODEL,
        GET_VERSION,
        SEARCH_VERSIONS, // archive_existing_versions: who is in production now
        'POST model-versions/transition-stage',
        GET_RUN,
      ]),
    );
  });

  it('a production request under a policy with a gate reads the version’s run, once', async () => {
    const admin = await t.token('root', ['admin']);
    await request(t.http)
      .put(`${BASE}/models/trips-new/policies/production`)
      .set(...auth(admin))
      .send({ gates: [{ metric: 'accuracy', op: '>=', value: 0.5 }] })
      .expect(200);
    proxy.take();
    const requested = await request(t.http)
      .post(`${BASE}/models/trips-new/versions/1/stage`)
      .set(...auth(editor))
      .send({ stage: 'production' })
      .expect(202);
    expect(requested.body).toMatchObject({
      approval: { gates: [{ gate: 'accuracy >= 0.5', passed: true }] },
    });
    expect(calls()).toEqual(sorted([GET_MODEL, GET_VERSION, GET_RUN]));
    await request(t.http)
      .delete(`${BASE}/models/trips-new/policies/production`)
      .set(...auth(admin))
      .expect(204);
    proxy.take();
  });

  it('reads a model with its versions cold', async () => {
    await request(t.http)
      .get(`${BASE}/models/trips-new`)
      .set(...auth(editor))
      .expect(200);
    expect(calls()).toEqual(sorted([GET_MODEL, GET_MODEL, SEARCH_VERSIONS, GET_RUN, GET_RUN]));
  });

  it('answers 404 for another tenant’s model, reading nothing of it', async () => {
    const outsider = await t.token('mallory', ['admin'], 'other-corp');
    await request(t.http)
      .get(`${BASE}/models/trips-new/versions/1`)
      .set(...auth(outsider))
      .expect(404);
    // The version is read at once with the model; nothing of it is used (or, here, found).
    expect(calls()).toEqual(sorted([GET_MODEL, GET_VERSION]));
  });
});
