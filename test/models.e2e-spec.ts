import request from 'supertest';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { EmbeddedMlflowRegistry } from '../src/mlflow/embedded/embedded-mlflow-registry';
import { RegistryError } from '../src/common/errors/registry-error';
import { ErrorCode } from '../src/common/errors/error-code';
import { Database } from '../src/database/database';
import { createHash, randomBytes } from 'node:crypto';
import { ObjectStorage } from '../src/storage/object-storage';
import { auth, download, registerVersion, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('models and versions (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let viewer: string;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp();
    editor = await t.token('alice', ['editor']);
    viewer = await t.token('victor', ['viewer']);
    admin = await t.token('root', ['admin']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  describe('register', () => {
    it('creates the model and version 1 from the seed example, then versions 2 and 3', async () => {
      const up = await upload(t, editor).expect(201);
      const res = await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send({
          name: 'churn-predictor',
          artifact_id: up.body.artifact_id,
          description: 'XGBoost churn prediction model',
          tags: { algorithm: 'xgboost', dataset: 'customer_churn_v2', owner: 'ml-team' },
          metrics: { f1_score: 0.895, auc_roc: 0.96 },
        })
        .expect(201);
      expect(res.body).toMatchObject({
        name: 'churn-predictor',
        version: 1,
        stage: 'none',
        metrics: { f1_score: 0.895, auc_roc: 0.96 },
        parameters: {},
        tags: { algorithm: 'xgboost', dataset: 'customer_churn_v2', owner: 'ml-team' },
        description: 'XGBoost churn prediction model',
        artifact_id: up.body.artifact_id,
        created_by: 'alice',
      });
      // The files move under the version: <tenant>/<model>/v<version>/ (file:// or s3://).
      expect(res.body.artifact_uri).toMatch(
        /^(file|s3):\/\/.*\/acme-corp\/churn-predictor\/v1\/model\.pkl$/,
      );
      const storage = t.app.get(ObjectStorage);
      expect(await storage.stat('acme-corp/churn-predictor/v1/model.pkl')).toEqual({ size: 2048 });
      expect(await storage.stat(`acme-corp/artifacts/${up.body.artifact_id}/model.pkl`)).toBeNull();
      const bytes = await download(t, viewer, up.body.artifact_id, 'model.pkl').expect(200);
      expect((bytes.body as Buffer).length).toBe(2048);
      expect(res.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
      expect(res.body.run_id).toEqual(expect.any(String));

      const v2 = await registerVersion(t, editor, 'churn-predictor');
      const v3 = await registerVersion(t, editor, 'churn-predictor');
      expect([v2.version, v3.version]).toEqual([2, 3]);

      const manifest = await request(t.http)
        .get(`${BASE}/artifacts/${up.body.artifact_id}`)
        .set(...auth(viewer))
        .expect(200);
      expect(manifest.body.registered_as).toEqual({ model: 'churn-predictor', version: 1 });
    });

    it('gives concurrent registrations of one model distinct numbers, each with its own bytes', async () => {
      const models = Array.from({ length: 5 }, (_, i) => randomBytes(1000 + i));
      const ups = await Promise.all(models.map((m) => upload(t, editor, { model: m }).expect(201)));
      const registered = await Promise.all(
        ups.map((up) =>
          request(t.http)
            .post(`${BASE}/models`)
            .set(...auth(editor))
            .send({ name: 'concurrent', artifact_id: up.body.artifact_id })
            .expect(201),
        ),
      );
      expect(registered.map((r) => r.body.version).sort()).toEqual([1, 2, 3, 4, 5]);
      const storage = t.app.get(ObjectStorage);
      for (const [i, r] of registered.entries()) {
        expect(r.body.artifact_uri).toMatch(
          new RegExp(`/acme-corp/concurrent/v${r.body.version}/model\\.pkl$`),
        );
        const stored = await storage.get(`acme-corp/concurrent/v${r.body.version}/model.pkl`);
        const hash = createHash('sha256');
        for await (const chunk of stored) hash.update(chunk as Buffer);
        expect(hash.digest('hex')).toBe(createHash('sha256').update(models[i]).digest('hex'));
      }
    });

    it('places the files under the number the backend gives when versions were made outside the service', async () => {
      await registerVersion(t, editor, 'outside');
      // Someone creates and deletes versions 2 and 3 straight in the registry backend: the
      // service has never seen them, yet the backend will not give those numbers again.
      const backend = t.app.get(MlflowRegistry);
      await backend.createModelVersion('acme-corp', 'outside', { source: 's3://elsewhere/a' });
      await backend.createModelVersion('acme-corp', 'outside', { source: 's3://elsewhere/b' });
      await backend.deleteModelVersion('acme-corp', 'outside', 3);
      await backend.deleteModelVersion('acme-corp', 'outside', 2);
      const model = randomBytes(3000);
      const v = await registerVersion(t, editor, 'outside', {}, { model });
      // Predicted 2, got 4: version 4 was given back and the registration made version 5.
      expect(v.version).toBe(5);
      expect(v['artifact_uri']).toMatch(/\/acme-corp\/outside\/v5\/model\.pkl$/);
      const got = await download(t, viewer, v.artifact_id, 'model.pkl').expect(200);
      expect((got.body as Buffer).equals(model)).toBe(true);
      const versions = await request(t.http)
        .get(`${BASE}/models/outside/versions`)
        .set(...auth(viewer))
        .expect(200);
      expect(versions.body.versions.map((x: { version: number }) => x.version)).toEqual([1, 5]);
      expect(await t.app.get(ObjectStorage).stat('acme-corp/outside/v2/model.pkl')).toBeNull();
    });

    it("reads metrics from metrics.json and parameters from config.json's hyperparameters", async () => {
      const v = await registerVersion(
        t,
        editor,
        'from-files',
        {},
        {
          metrics: { f1_score: 0.912, auc_roc: 0.97 },
          config: {
            hyperparameters: {
              n_estimators: 200,
              max_depth: 8,
              learning_rate: 0.05,
              booster: 'gbtree',
              scale: true,
            },
            seed: 1,
          },
        },
      );
      expect(v.metrics).toEqual({ f1_score: 0.912, auc_roc: 0.97 });
      expect(v.parameters).toEqual({
        n_estimators: 200,
        max_depth: 8,
        learning_rate: 0.05,
        booster: 'gbtree',
        scale: true,
      });
    });

    it('moves every file of an upload under the version, leaving none of the upload copy', async () => {
      const up = await upload(t, editor, {
        metrics: { f1_score: 0.9 },
        config: { hyperparameters: { depth: 3 } },
        requirements: 'scikit-learn==1.5.0\n',
        preprocessor: randomBytes(512),
      }).expect(201);
      const files = (up.body.files as { name: string; size: number }[]).map((f) => f.name);
      expect(files.sort()).toEqual([
        'config.json',
        'metrics.json',
        'model.pkl',
        'preprocessor.pkl',
        'requirements.txt',
      ]);
      await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send({ name: 'all-files', artifact_id: up.body.artifact_id })
        .expect(201);
      const storage = t.app.get(ObjectStorage);
      for (const file of up.body.files as { name: string; size: number }[]) {
        expect(await storage.stat(`acme-corp/all-files/v1/${file.name}`)).toEqual({
          size: file.size,
        });
        expect(
          await storage.stat(`acme-corp/artifacts/${up.body.artifact_id}/${file.name}`),
        ).toBeNull();
      }
    });

    it('prefers metrics and parameters given in the body over the files', async () => {
      const v = await registerVersion(
        t,
        editor,
        'body-wins',
        { metrics: { accuracy: 0.8 }, parameters: { depth: 3 } },
        { metrics: { accuracy: 0.1 }, config: { hyperparameters: { depth: 9 } } },
      );
      expect(v.metrics).toEqual({ accuracy: 0.8 });
      expect(v.parameters).toEqual({ depth: 3 });
    });

    it('404 for an artifact that does not exist or belongs to another tenant', async () => {
      const res = await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send({ name: 'ghost', artifact_id: 'model-doesnotexist00' })
        .expect(404);
      expect(res.body.code).toBe('ARTIFACT_NOT_FOUND');
      const theirs = await upload(t, await t.token('eve', ['editor'], 'globex')).expect(201);
      await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send({ name: 'ghost', artifact_id: theirs.body.artifact_id })
        .expect(404);
      await request(t.http)
        .get(`${BASE}/models/ghost`)
        .set(...auth(viewer))
        .expect(404);
    });

    it('409 when the artifact is already registered', async () => {
      const up = await upload(t, editor).expect(201);
      await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send({ name: 'once', artifact_id: up.body.artifact_id })
        .expect(201);
      const res = await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send({ name: 'twice', artifact_id: up.body.artifact_id })
        .expect(409);
      expect(res.body).toMatchObject({
        code: 'ARTIFACT_ALREADY_REGISTERED',
        details: { model: 'once', version: 1 },
      });
      await request(t.http)
        .get(`${BASE}/models/twice`)
        .set(...auth(viewer))
        .expect(404);
    });

    it.each([
      [{ name: 'bad name!', artifact_id: 'model-abcdef' }, /^name must match/],
      [{ name: '-leading', artifact_id: 'model-abcdef' }, /^name must match/],
      [{ name: 'a'.repeat(129), artifact_id: 'model-abcdef' }, /^name must match/],
      [{ artifact_id: 'model-abcdef' }, /^name must match/],
      [{ name: 'ok' }, /^artifact_id must be/],
      [
        { name: 'ok', artifact_id: 'model-abcdef', metrics: { f1: 'high' } },
        /^metrics value of 'f1' must be a finite number/,
      ],
      [
        { name: 'ok', artifact_id: 'model-abcdef', parameters: { layers: [1, 2] } },
        /^parameters value of 'layers'/,
      ],
      [
        { name: 'ok', artifact_id: 'model-abcdef', tags: { owner: 5 } },
        /^tags value of 'owner' must be a string/,
      ],
      [
        { name: 'ok', artifact_id: 'model-abcdef', tags: { 'registry.created_by': 'mallory' } },
        /^tags key 'registry.created_by' is reserved/,
      ],
      [
        { name: 'ok', artifact_id: 'model-abcdef', version: 7 },
        /^property version should not exist/,
      ],
      [
        { name: 'ok', artifact_id: 'model-abcdef', stage: 'production' },
        /^property stage should not exist/,
      ],
      [
        { name: 'ok', artifact_id: 'model-abcdef', created_by: 'x' },
        /^property created_by should not exist/,
      ],
    ])('400 naming the field for %j', async (body, message) => {
      const res = await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .send(body)
        .expect(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
      });
      expect(res.body.message).toMatch(message);
    });

    it('403 for a viewer and 401 without a token', async () => {
      await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(viewer))
        .send({ name: 'x', artifact_id: 'model-abcdef' })
        .expect(403);
      await request(t.http)
        .post(`${BASE}/models`)
        .send({ name: 'x', artifact_id: 'model-abcdef' })
        .expect(401);
    });
  });

  describe('list and get', () => {
    it('lists with the seed fields, production and staging versions, and pages', async () => {
      const list = await request(t.http)
        .get(`${BASE}/models?tenant_id=acme-corp`)
        .set(...auth(viewer))
        .expect(200);
      const churn = list.body.models.find((m: { name: string }) => m.name === 'churn-predictor');
      expect(churn).toEqual({
        name: 'churn-predictor',
        latest_version: 3,
        production_version: null,
        staging_version: null,
        created_at: expect.any(String),
        last_updated: expect.any(String),
        description: 'XGBoost churn prediction model',
        tags: {},
        aliases: {},
      });
      const names: string[] = list.body.models.map((m: { name: string }) => m.name);
      expect(names).toEqual([...names].sort());

      const paged: string[] = [];
      let token: string | undefined;
      do {
        const page = await request(t.http)
          .get(`${BASE}/models`)
          .query({ max_results: 2, ...(token ? { page_token: token } : {}) })
          .set(...auth(viewer))
          .expect(200);
        expect(page.body.models.length).toBeLessThanOrEqual(2);
        paged.push(...page.body.models.map((m: { name: string }) => m.name));
        token = page.body.next_page_token;
      } while (token);
      expect(paged).toEqual(names);
    });

    it.each([
      ['max_results=0', /^max_results must be an integer from 1 to 1000/],
      ['max_results=1001', /^max_results must be an integer from 1 to 1000/],
      ['max_results=ten', /^max_results must be an integer from 1 to 1000/],
      ['page_token=forged', /^page_token is not a token this service issued/],
      ['tenant_id=bad%20tenant', /^tenant_id must be a tenant id/],
      ['colour=blue', /^property colour should not exist/],
      ['order_by=created', /^order_by must be one of name, last_updated/],
      ['order_by=name%20DESC', /^order_by must be one of name, last_updated/],
      ['name_like=', /^name_like must not be empty/],
      [`name_like=${'a'.repeat(257)}`, /^name_like must be at most 256 characters/],
      ["name_like=churn'%25", /^name_like may hold only model name characters/],
      ['name_like=churn%5C', /^name_like may hold only model name characters/],
    ])('400 for %s', async (query, message) => {
      const res = await request(t.http)
        .get(`${BASE}/models?${query}`)
        .set(...auth(viewer))
        .expect(400);
      expect(res.body.message).toMatch(message);
    });

    it('filters by name_like and orders by last_updated, each query cached apart, pages bound to their query', async () => {
      const searcher = await t.token('sam', ['editor'], 'searchco');
      for (const name of ['churn-a', 'churn-b', 'Churn-c', 'fraud']) {
        await registerVersion(t, searcher, name);
      }
      const names = async (query: Record<string, string | number>) => {
        const res = await request(t.http)
          .get(`${BASE}/models`)
          .query(query)
          .set(...auth(searcher))
          .expect(200);
        return res.body.models.map((m: { name: string }) => m.name) as string[];
      };
      // Read every listing once first: a cache keyed on the page alone would answer these.
      expect(await names({})).toEqual(['Churn-c', 'churn-a', 'churn-b', 'fraud']);
      expect(await names({ name_like: 'churn%' })).toEqual(['churn-a', 'churn-b']);
      expect(await names({ name_like: '%c%' })).toEqual(['Churn-c', 'churn-a', 'churn-b']);
      expect(await names({ order_by: 'last_updated' })).toEqual([
        'fraud',
        'Churn-c',
        'churn-b',
        'churn-a',
      ]);
      // A new version moves its model to the top; the cached listing follows.
      await registerVersion(t, searcher, 'churn-a');
      expect(await names({ order_by: 'last_updated', name_like: 'churn%' })).toEqual([
        'churn-a',
        'churn-b',
      ]);
      expect(await names({ order_by: 'last_updated' })).toEqual([
        'churn-a',
        'fraud',
        'Churn-c',
        'churn-b',
      ]);

      const first = await request(t.http)
        .get(`${BASE}/models`)
        .query({ name_like: 'churn%', max_results: 1 })
        .set(...auth(searcher))
        .expect(200);
      expect(first.body.models.map((m: { name: string }) => m.name)).toEqual(['churn-a']);
      const page_token = first.body.next_page_token as string;
      const second = await request(t.http)
        .get(`${BASE}/models`)
        .query({ name_like: 'churn%', max_results: 1, page_token })
        .set(...auth(searcher))
        .expect(200);
      expect(second.body.models.map((m: { name: string }) => m.name)).toEqual(['churn-b']);
      expect(second.body.next_page_token).toBeUndefined();
      for (const [query, field] of [
        [{ name_like: 'fraud%' }, /name_like/],
        [{}, /name_like/],
        [{ name_like: 'churn%', order_by: 'last_updated' }, /order_by/],
      ] as const) {
        const res = await request(t.http)
          .get(`${BASE}/models`)
          .query({ ...query, max_results: 1, page_token })
          .set(...auth(searcher))
          .expect(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(res.body.message).toMatch(/^page_token belongs to a listing/);
        expect(res.body.message).toMatch(field);
      }
    });

    it('never lists another tenant’s models; tenant_id of another tenant is 403 unless admin', async () => {
      const globex = await t.token('eve', ['editor'], 'globex');
      await registerVersion(t, globex, 'globex-secret-model');
      const ours = await request(t.http)
        .get(`${BASE}/models`)
        .set(...auth(viewer))
        .expect(200);
      expect(ours.body.models.map((m: { name: string }) => m.name)).not.toContain(
        'globex-secret-model',
      );
      const res = await request(t.http)
        .get(`${BASE}/models?tenant_id=globex`)
        .set(...auth(viewer))
        .expect(403);
      expect(res.body.code).toBe('FORBIDDEN');
      const asAdmin = await request(t.http)
        .get(`${BASE}/models?tenant_id=globex`)
        .set(...auth(admin))
        .expect(200);
      expect(asAdmin.body.models.map((m: { name: string }) => m.name)).toEqual([
        'globex-secret-model',
      ]);
      await request(t.http)
        .get(`${BASE}/models/globex-secret-model`)
        .set(...auth(viewer))
        .expect(404);
      await request(t.http)
        .get(`${BASE}/models/globex-secret-model/versions/1`)
        .set(...auth(viewer))
        .expect(404);
      await request(t.http)
        .get(`${BASE}/models/globex-secret-model?tenant_id=globex`)
        .set(...auth(admin))
        .expect(200);
    });

    it('gets a model with its versions, and versions one by one or by stage', async () => {
      const model = await request(t.http)
        .get(`${BASE}/models/churn-predictor`)
        .set(...auth(viewer))
        .expect(200);
      expect(model.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3]);
      expect(model.body.latest_version).toBe(3);
      const list = await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions`)
        .set(...auth(viewer))
        .expect(200);
      expect(list.body.versions).toHaveLength(3);
      const none = await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions?stage=staging`)
        .set(...auth(viewer))
        .expect(200);
      expect(none.body.versions).toEqual([]);
      const v = await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions/1`)
        .set(...auth(viewer))
        .expect(200);
      expect(v.body).toMatchObject({
        name: 'churn-predictor',
        version: 1,
        stage: 'none',
        metrics: { f1_score: 0.895, auc_roc: 0.96 },
      });
    });

    it('404 for a missing model or version, 400 for a malformed one', async () => {
      expect(
        (
          await request(t.http)
            .get(`${BASE}/models/nope`)
            .set(...auth(viewer))
            .expect(404)
        ).body.code,
      ).toBe('MODEL_NOT_FOUND');
      expect(
        (
          await request(t.http)
            .get(`${BASE}/models/churn-predictor/versions/99`)
            .set(...auth(viewer))
            .expect(404)
        ).body.code,
      ).toBe('VERSION_NOT_FOUND');
      const bad = await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions/abc`)
        .set(...auth(viewer))
        .expect(400);
      expect(bad.body.message).toBe('version must be a positive integer');
      await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions/0`)
        .set(...auth(viewer))
        .expect(400);
      await request(t.http)
        .get(`${BASE}/models/bad!name`)
        .set(...auth(viewer))
        .expect(400);
    });
  });

  describe('update', () => {
    it('patches a model and a version; null removes a tag; reads right after see the change', async () => {
      await request(t.http)
        .get(`${BASE}/models/churn-predictor`)
        .set(...auth(viewer))
        .expect(200); // warm the cache
      const m = await request(t.http)
        .patch(`${BASE}/models/churn-predictor`)
        .set(...auth(editor))
        .send({ description: 'Churn model, v2 features', tags: { team: 'retention' } })
        .expect(200);
      expect(m.body).toMatchObject({
        description: 'Churn model, v2 features',
        tags: { team: 'retention' },
      });
      const read = await request(t.http)
        .get(`${BASE}/models/churn-predictor`)
        .set(...auth(viewer))
        .expect(200);
      expect(read.body.description).toBe('Churn model, v2 features');

      await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions/1`)
        .set(...auth(viewer))
        .expect(200);
      const v = await request(t.http)
        .patch(`${BASE}/models/churn-predictor/versions/1`)
        .set(...auth(editor))
        .send({ tags: { owner: null, reviewed: 'yes' } })
        .expect(200);
      expect(v.body.tags).toEqual({
        algorithm: 'xgboost',
        dataset: 'customer_churn_v2',
        reviewed: 'yes',
      });
      const again = await request(t.http)
        .get(`${BASE}/models/churn-predictor/versions/1`)
        .set(...auth(viewer))
        .expect(200);
      expect(again.body.tags).toEqual(v.body.tags);
    });

    it('keeps tag keys that name Object.prototype methods; refuses __proto__, constructor, prototype', async () => {
      const res = await request(t.http)
        .patch(`${BASE}/models/churn-predictor/versions/2`)
        .set(...auth(editor))
        .send({ tags: { toString: 't', hasOwnProperty: 'h', valueOf: 'v' } })
        .expect(200);
      expect(res.body.tags).toEqual({ toString: 't', hasOwnProperty: 'h', valueOf: 'v' });
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const refused = await request(t.http)
          .patch(`${BASE}/models/churn-predictor/versions/2`)
          .set(...auth(editor))
          .set('Content-Type', 'application/json')
          .send(`{"tags": {"${key}": "x"}}`)
          .expect(400);
        expect(refused.body.message).toBe(`tags.${key}: the key '${key}' is not allowed`);
      }
      const metrics = await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(editor))
        .set('Content-Type', 'application/json')
        .send('{"name": "x", "artifact_id": "model-abcdef", "metrics": {"constructor": 1}}')
        .expect(400);
      expect(metrics.body.message).toBe(
        "metrics.constructor: the key 'constructor' is not allowed",
      );
    });

    it('refuses a body nested deeper than any request needs, without falling over', async () => {
      const deep = '['.repeat(50_000) + ']'.repeat(50_000);
      const send = (token?: string) => {
        const req = request(t.http).post(`${BASE}/models`).set('Content-Type', 'application/json');
        if (token) req.set(...auth(token));
        return req.send(deep);
      };
      await send().expect(401);
      const res = await send(editor).expect(400);
      expect(res.body.message).toBe('request body is nested more than 32 levels deep');
      await request(t.http).get('/health/live').expect(200);
    });

    it.each([
      [{ description: null }, 'description must be a string'],
      [{ tags: null }, 'tags must be an object'],
    ])('400, not a 500, for an explicit null: %j', async (body, message) => {
      for (const path of ['models/churn-predictor', 'models/churn-predictor/versions/1']) {
        const res = await request(t.http)
          .patch(`${BASE}/${path}`)
          .set(...auth(editor))
          .send(body)
          .expect(400);
        expect(res.body.message).toBe(message);
      }
    });

    it('400 for an empty patch or a server-owned field; 404 for a missing version; 403 for a viewer', async () => {
      const empty = await request(t.http)
        .patch(`${BASE}/models/churn-predictor`)
        .set(...auth(editor))
        .send({})
        .expect(400);
      expect(empty.body.message).toBe('body must set description, tags or both');
      const owned = await request(t.http)
        .patch(`${BASE}/models/churn-predictor/versions/1`)
        .set(...auth(editor))
        .send({ stage: 'production' })
        .expect(400);
      expect(owned.body.message).toMatch(/^property stage should not exist/);
      for (const field of ['artifact_uri', 'run_id', 'created_by', 'version', 'sha256']) {
        await request(t.http)
          .patch(`${BASE}/models/churn-predictor/versions/1`)
          .set(...auth(editor))
          .send({ [field]: 'x' })
          .expect(400);
      }
      await request(t.http)
        .patch(`${BASE}/models/churn-predictor/versions/42`)
        .set(...auth(editor))
        .send({ description: 'x' })
        .expect(404);
      await request(t.http)
        .patch(`${BASE}/models/churn-predictor`)
        .set(...auth(viewer))
        .send({ description: 'x' })
        .expect(403);
    });
  });

  describe('delete', () => {
    it('is admin only; removes the model, its versions and artifact bytes; keeps the audit records', async () => {
      const v = await registerVersion(t, editor, 'to-delete');
      await request(t.http)
        .delete(`${BASE}/models/to-delete`)
        .set(...auth(editor))
        .expect(403);
      await request(t.http)
        .delete(`${BASE}/models/to-delete`)
        .set(...auth(admin))
        .expect(204);
      await request(t.http)
        .get(`${BASE}/models/to-delete`)
        .set(...auth(viewer))
        .expect(404);
      await request(t.http)
        .get(`${BASE}/artifacts/${v.artifact_id}`)
        .set(...auth(viewer))
        .expect(404);
      await request(t.http)
        .delete(`${BASE}/models/to-delete`)
        .set(...auth(admin))
        .expect(404);
      const db = t.app.get(Database).db;
      expect(
        await db
          .selectFrom('reg_runs')
          .selectAll()
          .where('run_id', '=', v.run_id as string)
          .execute(),
      ).toEqual([]);
      const rows = await t.app
        .get(Database)
        .db.selectFrom('history')
        .selectAll()
        .where('model_name', '=', 'to-delete')
        .execute();
      expect(rows.map((r) => r.event)).toEqual(['registered', 'deleted']);
      // a new model of that name starts afresh, with a history of its own
      const again = await registerVersion(t, editor, 'to-delete');
      expect(again.version).toBe(1);
      const history = await request(t.http)
        .get(`${BASE}/models/to-delete/versions/1/transitions`)
        .set(...auth(viewer))
        .expect(200);
      expect(history.body.transitions.map((e: { event: string }) => e.event)).toEqual([
        'registered',
      ]);
    });

    it('deletes one version; its number is not reused', async () => {
      await registerVersion(t, editor, 'thin');
      await registerVersion(t, editor, 'thin');
      await request(t.http)
        .delete(`${BASE}/models/thin/versions/2`)
        .set(...auth(admin))
        .expect(204);
      await request(t.http)
        .get(`${BASE}/models/thin/versions/2`)
        .set(...auth(viewer))
        .expect(404);
      expect((await registerVersion(t, editor, 'thin')).version).toBe(3);
    });
  });
});

/** A registry backend that fails version creation: what a failed registration leaves behind. */
class FailingVersionRegistry extends EmbeddedMlflowRegistry {
  override createModelVersion(): never {
    throw new RegistryError(
      ErrorCode.BackendUnavailable,
      'registry backend is unavailable; retry later',
    );
  }
}

describe('a failed registration (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      override: (b) => b.overrideProvider(MlflowRegistry).useClass(FailingVersionRegistry),
    });
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('answers 503 with Retry-After and leaves no empty model, no run and a reusable artifact', async () => {
    const editor = await t.token('alice', ['editor']);
    const up = await upload(t, editor, { metrics: { f1: 0.5 } }).expect(201);
    const res = await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name: 'half-written', artifact_id: up.body.artifact_id })
      .expect(503);
    expect(res.body.code).toBe('BACKEND_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('5');
    await request(t.http)
      .get(`${BASE}/models/half-written`)
      .set(...auth(editor))
      .expect(404);
    const db = t.app.get(Database).db;
    expect(await db.selectFrom('reg_models').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('reg_runs').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('history').selectAll().execute()).toEqual([]);
    const manifest = await request(t.http)
      .get(`${BASE}/artifacts/${up.body.artifact_id}`)
      .set(...auth(editor))
      .expect(200);
    expect(manifest.body.registered_as).toBeNull();
    const row = await db
      .selectFrom('artifacts')
      .select('model_name')
      .where('id', '=', up.body.artifact_id)
      .executeTakeFirst();
    expect(row?.model_name).toBeNull();
  });
});
