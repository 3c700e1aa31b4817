import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ErrorCode, statusForCode } from '../src/common/errors/error-code';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { auth, registerVersion, upload } from './support/fixtures';
import { FaultyRegistry } from './support/faulty-registry';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

type Schema = Record<string, unknown>;
interface Media {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Spec {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, Media> }> }>
  >;
  components: { schemas: Record<string, Schema> };
}

/**
 * Every example of /docs-json (the explicit ones, and for a success answer without one what
 * Swagger UI builds from the schema's property examples) against a real answer of that status:
 * same keys, same types, recursively. Maps (metrics, tags, parameters) are data: their values'
 * types are compared, not their keys; `details` is compared key by key.
 */
jest.setTimeout(60_000);

describe('OpenAPI examples are what the service answers', () => {
  let t: TestApp;
  let spec: Spec;
  const checked = new Set<string>();

  beforeAll(async () => {
    t = await createTestApp({ env: { ARTIFACT_MAX_FILE_BYTES: String(64 * 1024) } });
    spec = (await request(t.http).get('/docs-json').expect(200)).body;
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const resolve = (schema: Schema | undefined): Schema | undefined => {
    if (schema === undefined) return undefined;
    if (typeof schema.$ref === 'string') {
      return resolve(spec.components.schemas[schema.$ref.split('/').pop()!]);
    }
    const allOf = schema.allOf as Schema[] | undefined;
    if (allOf?.length === 1) return { ...resolve(allOf[0]), ...schema, allOf: undefined };
    return schema;
  };

  /** What Swagger UI shows for a schema without an explicit example (the subset used here). */
  const sample = (raw: Schema | undefined): unknown => {
    const schema = resolve(raw) ?? {};
    if (schema.example !== undefined) return schema.example;
    if (Array.isArray(schema.enum)) return schema.enum[0];
    if (schema.properties !== undefined) {
      return Object.fromEntries(
        Object.entries(schema.properties as Record<string, Schema>).map(([k, s]) => [k, sample(s)]),
      );
    }
    if (schema.type === 'array') return [sample(schema.items as Schema)];
    return { string: 'string', number: 0, integer: 0, boolean: true }[schema.type as string] ?? {};
  };

  const kind = (v: unknown): string =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;

  /** Differences between the example and the real answer, as paths. */
  const differences = (
    example: unknown,
    actual: unknown,
    raw: Schema | undefined,
    at: string,
  ): string[] => {
    const schema = resolve(raw) ?? {};
    if (kind(example) !== kind(actual)) {
      const nullable = schema.nullable === true && (example === null || actual === null);
      return nullable ? [] : [`${at}: ${kind(example)} documented, ${kind(actual)} answered`];
    }
    if (Array.isArray(example) && Array.isArray(actual)) {
      if (example.length === 0 || actual.length === 0) return [];
      return actual.flatMap((item, i) =>
        differences(example[0], item, schema.items as Schema, `${at}[${i}]`),
      );
    }
    if (kind(example) !== 'object') return [];
    const e = example as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const properties = schema.properties as Record<string, Schema> | undefined;
    const map = properties === undefined && typeof schema.additionalProperties === 'object';
    if (map) {
      // The types the map's values may have: its schema's (oneOf), else its example's.
      const values = schema.additionalProperties as Schema;
      const declared = ((values.oneOf as Schema[] | undefined) ?? [values])
        .map((s) => s.type as string | undefined)
        .filter((s): s is string => s !== undefined);
      const types = new Set([...Object.values(e).map(kind), ...declared]);
      return Object.entries(a)
        .filter(([, v]) => types.size > 0 && !types.has(kind(v)))
        .map(
          ([k, v]) => `${at}.${k}: ${kind(v)} is not among the documented ${[...types].join('/')}`,
        );
    }
    const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])];
    return keys.flatMap((k) => {
      if (!(k in e)) return [`${at}.${k}: answered, not documented`];
      if (!(k in a)) return [`${at}.${k}: documented, not answered`];
      return differences(e[k], a[k], properties?.[k], `${at}.${k}`);
    });
  };

  /**
   * Checks one real answer against the documented example of its operation and status (the
   * example named `key`, by default the answer's own error code).
   */
  function expectDocumented(
    method: string,
    path: string,
    res: request.Response,
    key?: string,
  ): void {
    const operation = spec.paths[path.startsWith('/health') ? path : `${BASE}${path}`][method];
    const status = String(res.status);
    const media = operation.responses[status]?.content?.['application/json'];
    expect({ method, path, status, documented: media !== undefined }).toEqual({
      method,
      path,
      status,
      documented: true,
    });
    let example: unknown;
    if (res.status >= 400) {
      const code = (res.body as { code: ErrorCode }).code;
      expect(statusForCode(code)).toBe(res.status);
      const name = key ?? code;
      example = media!.examples?.[name]?.value ?? media!.example;
      expect({ method, path, status, code: name, example: example !== undefined }).toEqual({
        method,
        path,
        status,
        code: name,
        example: true,
      });
      expect((example as { code: string }).code).toBe(code);
    } else {
      example = media!.example ?? sample(media!.schema);
    }
    expect({
      method,
      path,
      status,
      differences: differences(example, res.body, media!.schema, '$'),
    }).toEqual({
      method,
      path,
      status,
      differences: [],
    });
    checked.add(`${method} ${path} ${status}`);
  }

  const api = (
    method: 'get' | 'post' | 'put' | 'patch' | 'delete',
    path: string,
    token?: string,
  ): request.Test => {
    const req = request(t.http)[method](`${BASE}${path}`);
    return token === undefined ? req : req.set(...auth(token));
  };

  it('every success example has the shape of the real answer', async () => {
    const editor = await t.token('alice', ['editor']);
    const approver = await t.token('bob', ['approver']);

    const up = await upload(t, editor, {
      metrics: { f1_score: 0.91, auc_roc: 0.96 },
      config: { hyperparameters: { n_estimators: 200, booster: 'gbtree', early_stop: true } },
    });
    expectDocumented('post', '/artifacts', up);
    const artifact = up.body.artifact_id as string;
    expectDocumented(
      'get',
      '/artifacts/{artifact_id}',
      await api('get', `/artifacts/${artifact}`, editor),
    );

    const registered = await api('post', '/models', editor).send({
      name: 'churn-predictor',
      artifact_id: artifact,
      description: 'XGBoost churn prediction model',
      tags: { algorithm: 'xgboost' },
    });
    expectDocumented('post', '/models', registered);
    expect(registered.body.stage).toBe('none');
    await registerVersion(
      t,
      editor,
      'churn-predictor',
      {},
      { metrics: { f1_score: 0.92, auc_roc: 0.95 } },
    );
    await registerVersion(t, editor, 'fraud-detector');

    const page = await api('get', '/models', editor).query({ max_results: 1 });
    expect(page.body.next_page_token).toEqual(expect.any(String));
    expectDocumented('get', '/models', page);
    expectDocumented('get', '/models/{name}', await api('get', '/models/churn-predictor', editor));
    expectDocumented(
      'patch',
      '/models/{name}',
      await api('patch', '/models/churn-predictor', editor).send({ tags: { team: 'ml' } }),
    );
    expectDocumented(
      'get',
      '/models/{name}/versions',
      await api('get', '/models/churn-predictor/versions', editor),
    );
    const version = '/models/{name}/versions/{version}';
    expectDocumented(
      'get',
      version,
      await api('get', '/models/churn-predictor/versions/1', editor),
    );
    expectDocumented(
      'patch',
      version,
      await api('patch', '/models/churn-predictor/versions/1', editor).send({ description: 'v1' }),
    );
    const alias = '/models/{name}/aliases/{alias}';
    expectDocumented(
      'put',
      alias,
      await api('put', '/models/churn-predictor/aliases/challenger', editor).send({ version: 1 }),
    );
    expectDocumented(
      'get',
      alias,
      await api('get', '/models/churn-predictor/aliases/challenger', editor),
    );
    // @champion is protected (PROTECTED_ALIASES' default): an approval request.
    const championRequest = await api(
      'put',
      '/models/churn-predictor/aliases/champion',
      editor,
    ).send({
      version: 1,
    });
    expectDocumented('put', alias, championRequest);
    expect(championRequest.body.approval.target_alias).toBe('champion');
    await api(
      'post',
      `/approvals/${championRequest.body.approval.id as string}/cancel`,
      editor,
    ).expect(200);
    const stage = `${version}/stage`;
    expectDocumented(
      'post',
      stage,
      await api('post', '/models/churn-predictor/versions/1/stage', editor).send({
        stage: 'staging',
      }),
    );
    const asked = await api('post', '/models/churn-predictor/versions/1/stage', editor).send({
      stage: 'production',
      comment: 'Validated on holdout set',
    });
    expectDocumented('post', stage, asked);
    expectDocumented(
      'get',
      `${version}/transitions`,
      await api('get', '/models/churn-predictor/versions/1/transitions', editor),
    );
    expectDocumented(
      'get',
      '/models/{name}/compare',
      await api('get', '/models/churn-predictor/compare', editor).query({ versions: '1,2' }),
    );

    const ask = async (v: number): Promise<string> =>
      (
        await api('post', `/models/churn-predictor/versions/${v}/stage`, editor).send({
          stage: 'production',
        })
      ).body.approval.id as string;
    const second = await ask(2);
    const approvals = await api('get', '/approvals', editor).query({ max_results: 1 });
    expect(approvals.body.next_page_token).toEqual(expect.any(String));
    expectDocumented('get', '/approvals', approvals);
    expectDocumented('get', '/approvals/{id}', await api('get', `/approvals/${second}`, editor));
    expectDocumented(
      'post',
      '/approvals/{id}/approve',
      await api('post', `/approvals/${asked.body.approval.id as string}/approve`, approver).send(
        {},
      ),
    );
    expectDocumented(
      'post',
      '/approvals/{id}/cancel',
      await api('post', `/approvals/${second}/cancel`, editor),
    );
    const third = await ask(2);
    expectDocumented(
      'post',
      '/approvals/{id}/reject',
      await api('post', `/approvals/${third}/reject`, approver).send({ comment: 'not yet' }),
    );
    // Governance: a rollback to version 1 (in production, then archived), then policies.
    const admin = await t.token('carol', ['admin']);
    await api('post', '/models/churn-predictor/versions/1/stage', editor)
      .send({ stage: 'archived' })
      .expect(200);
    const rollback = await api('post', '/models/churn-predictor/rollback', editor).send({
      to_version: 1,
      reason: 'v2 doubles p99 latency',
    });
    expectDocumented('post', '/models/{name}/rollback', rollback);
    await api('post', `/approvals/${rollback.body.approval.id as string}/cancel`, editor).expect(
      200,
    );
    // (Shown for production: a staging policy answers its own stage's fields.)
    const tenantPolicy = { request_ttl_seconds: 86400, demotion_requires_approval: false };
    expectDocumented(
      'put',
      '/policies/{stage}',
      await api('put', '/policies/production', admin).send(tenantPolicy),
    );
    expectDocumented('get', '/policies/{stage}', await api('get', '/policies/production', editor));
    const modelPolicy = {
      required_approvals: 2,
      approver_roles: ['approver'],
      gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
      no_regression: [{ metric: 'f1_score', tolerance: 0.01 }],
      required_tags: { bias_review: 'passed' },
      request_ttl_seconds: 604800,
    };
    expectDocumented(
      'put',
      '/models/{name}/policies/{stage}',
      await api('put', '/models/churn-predictor/policies/production', admin).send(modelPolicy),
    );
    expectDocumented(
      'get',
      '/models/{name}/policies/{stage}',
      await api('get', '/models/churn-predictor/policies/production', editor),
    );
    await api('delete', '/models/churn-predictor/policies/production', admin).expect(204);
    await api('delete', '/policies/production', admin).expect(204);
    const auditor = await t.token('root', ['admin']);
    const audit = await api('get', '/audit', auditor).query({ max_results: 1 });
    expect(audit.body.next_page_token).toEqual(expect.any(String));
    expectDocumented('get', '/audit', audit);
    expectDocumented('get', '/audit/verify', await api('get', '/audit/verify', auditor));
    expectDocumented('get', '/health/live', await request(t.http).get('/health/live'));
    expectDocumented('get', '/health/ready', await request(t.http).get('/health/ready'));
  });

  it('every kind of error answer has its documented example', async () => {
    const editor = await t.token('erin', ['editor']);
    const viewer = await t.token('victor', ['viewer']);
    const both = await t.token('pat', ['editor', 'approver']);
    const v = await registerVersion(t, editor, 'errors-model');

    // 400: from the validation pipe (details.fields) and from the upload (no details).
    expectDocumented('get', '/models/{name}', await api('get', '/models/-bad', editor));
    expectDocumented('post', '/models', await api('post', '/models', editor).send({ name: 'x' }));
    expectDocumented(
      'post',
      '/artifacts',
      await upload(t, editor, { model: false, metrics: { f1: 1 } }),
    );
    // 401, 403
    expectDocumented('get', '/models', await api('get', '/models'));
    expectDocumented('post', '/models', await api('post', '/models', viewer).send({}));
    // 404, each with its own code
    expectDocumented('get', '/models/{name}', await api('get', '/models/nope', editor));
    expectDocumented(
      'get',
      '/models/{name}/versions/{version}',
      await api('get', '/models/nope/versions/1', editor),
    );
    expectDocumented(
      'get',
      '/models/{name}/versions/{version}',
      await api('get', '/models/errors-model/versions/9', editor),
    );
    expectDocumented(
      'get',
      '/artifacts/{artifact_id}',
      await api('get', '/artifacts/model-abc123', editor),
    );
    expectDocumented(
      'get',
      '/models/{name}/aliases/{alias}',
      await api('get', '/models/errors-model/aliases/champion', editor),
    );
    expectDocumented(
      'put',
      '/models/{name}/aliases/{alias}',
      await api('put', '/models/errors-model/aliases/latest', editor).send({ version: 1 }),
      'reserved alias',
    );
    expectDocumented(
      'get',
      '/artifacts/{artifact_id}/files/{file}',
      await api('get', `/artifacts/${v.artifact_id}/files/preprocessor.pkl`, editor),
    );
    expectDocumented(
      'get',
      '/approvals/{id}',
      await api('get', '/approvals/3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f', editor),
    );
    expectDocumented(
      'post',
      '/models',
      await api('post', '/models', editor).send({
        name: 'errors-model',
        artifact_id: 'model-abc123',
      }),
    );
    // 409, each code
    expectDocumented(
      'post',
      '/models',
      await api('post', '/models', editor).send({
        name: 'errors-model',
        artifact_id: v.artifact_id,
      }),
    );
    const stage = '/models/{name}/versions/{version}/stage';
    expectDocumented(
      'post',
      stage,
      await api('post', '/models/errors-model/versions/1/stage', editor).send({ stage: 'none' }),
    );
    const asked = await api('post', '/models/errors-model/versions/1/stage', both).send({
      stage: 'production',
    });
    expectDocumented(
      'post',
      stage,
      await api('post', '/models/errors-model/versions/1/stage', editor).send({
        stage: 'production',
      }),
    );
    const id = asked.body.approval.id as string;
    // 403 four eyes
    expectDocumented(
      'post',
      '/approvals/{id}/approve',
      await api('post', `/approvals/${id}/approve`, both).send({}),
    );
    // 409 ALREADY_APPROVED, 422 GATES_FAILED, 403 approver roles, 404 POLICY_NOT_FOUND,
    // 409 NOT_A_PREVIOUS_PRODUCTION: under a policy of this model's own.
    const admin = await t.token('adam', ['admin']);
    const voter = await t.token('val', ['approver']);
    expectDocumented(
      'get',
      '/models/{name}/policies/{stage}',
      await api('get', '/models/errors-model/policies/production', editor),
    );
    expectDocumented('get', '/policies/{stage}', await api('get', '/policies/production', editor));
    expectDocumented(
      'put',
      '/policies/{stage}',
      await api('put', '/policies/staging', admin).send({ required_approvals: 2 }),
      'MISPLACED_FIELD',
    );
    await api('post', `/approvals/${id}/cancel`, both).expect(200);
    await api('put', '/models/errors-model/policies/production', admin)
      .send({ required_approvals: 2 })
      .expect(200);
    const quorum = (
      await api('post', '/models/errors-model/versions/1/stage', editor)
        .send({ stage: 'production' })
        .expect(202)
    ).body.approval.id as string;
    const voted = await api('post', `/approvals/${quorum}/approve`, voter).send({});
    expect(voted.status).toBe(200);
    expect(voted.body.approval.status).toBe('pending');
    expectDocumented(
      'post',
      '/approvals/{id}/approve',
      await api('post', `/approvals/${quorum}/approve`, voter).send({}),
    );
    await api('post', `/approvals/${quorum}/cancel`, editor).expect(200);
    expectDocumented(
      'post',
      '/models/{name}/rollback',
      await api('post', '/models/errors-model/rollback', editor).send({
        to_version: 1,
        reason: 'never was',
      }),
    );
    await api('put', '/models/errors-model/policies/production', admin)
      .send({ approver_roles: ['admin'] })
      .expect(200);
    const adminOnly = await api('post', '/models/errors-model/versions/1/stage', editor)
      .send({ stage: 'production' })
      .expect(202);
    expectDocumented(
      'post',
      '/approvals/{id}/approve',
      await api('post', `/approvals/${adminOnly.body.approval.id as string}/approve`, voter).send(
        {},
      ),
      'APPROVER_ROLES',
    );
    await api('post', `/approvals/${adminOnly.body.approval.id as string}/cancel`, editor).expect(
      200,
    );
    await api('delete', '/models/errors-model/policies/production', admin).expect(204);
    await registerVersion(t, editor, 'gated-model', {}, { metrics: { f1_score: 0.85 } });
    await api('put', '/models/gated-model/policies/production', admin)
      .send({ gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }] })
      .expect(200);
    expectDocumented(
      'post',
      stage,
      await api('post', '/models/gated-model/versions/1/stage', editor).send({
        stage: 'production',
      }),
    );
    expectDocumented(
      'post',
      '/approvals/{id}/cancel',
      await api('post', `/approvals/${id}/cancel`, both),
    );
    // 413: a JSON body, an upload part, a declared Content-Length
    expectDocumented(
      'patch',
      '/models/{name}',
      await api('patch', '/models/errors-model', editor).send({
        description: 'x'.repeat(1_100_000),
      }),
    );
    expectDocumented(
      'post',
      '/artifacts',
      await upload(t, editor, { model: randomBytes(64 * 1024 + 1) }),
    );
    expectDocumented(
      'post',
      '/artifacts',
      await api('post', '/artifacts', editor)
        .set('Content-Type', 'multipart/form-data; boundary=x')
        .set('Content-Length', String(1024 ** 4))
        .send(''),
      'PAYLOAD_TOO_LARGE (Content-Length)',
    );
    // 415: JSON and multipart operations
    expectDocumented(
      'patch',
      '/models/{name}',
      await api('patch', '/models/errors-model', editor)
        .set('Content-Type', 'text/plain')
        .send('hello'),
    );
    expectDocumented(
      'post',
      '/artifacts',
      await api('post', '/artifacts', editor).set('Content-Type', 'text/plain').send('hello'),
    );
    // 416
    expectDocumented(
      'get',
      '/artifacts/{artifact_id}/files/{file}',
      await api('get', `/artifacts/${v.artifact_id}/files/model.pkl`, editor).set(
        'Range',
        'bytes=99999999-',
      ),
    );
    // 422: an Idempotency-Key used again for another body
    const first = await api('post', '/models/errors-model/versions/1/stage', editor)
      .set('Idempotency-Key', 'errors-key')
      .send({ stage: 'staging' });
    expect(first.status).toBe(200);
    expectDocumented(
      'post',
      stage,
      await api('post', '/models/errors-model/versions/1/stage', editor)
        .set('Idempotency-Key', 'errors-key')
        .send({ stage: 'archived' }),
    );
  });

  it('documents the 429 and the 503 as they are answered', async () => {
    const limited = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '1' } });
    const faulty = await createTestApp({
      override: (b) => b.overrideProvider(MlflowRegistry).useClass(FaultyRegistry),
    });
    try {
      const saved = t;
      t = limited;
      const token = await limited.token('alice', ['viewer']);
      await api('get', '/models', token).expect(200);
      expectDocumented('get', '/models', await api('get', '/models', token));
      t = faulty;
      faulty.app
        .get<MlflowRegistry, FaultyRegistry>(MlflowRegistry)
        .fail('getRegisteredModel', { times: 10 });
      const editor = await faulty.token('alice', ['editor']);
      expectDocumented(
        'get',
        '/models/{name}',
        await api('get', '/models/churn-predictor', editor),
      );
      t = saved;
    } finally {
      await limited.close();
      await faulty.close();
      removeDir(limited.dataDir);
      removeDir(faulty.dataDir);
    }
  });

  it('every webhook example has the shape of the real answer', async () => {
    const admin = await t.token('root', ['admin']);
    const created = await api('post', '/webhooks', admin).send({
      url: 'https://ci.example/hooks/registry',
      events: ['approval.requested', 'model_version.stage_changed'],
      description: 'Deploy pipeline',
    });
    expectDocumented('post', '/webhooks', created);
    const id = created.body.id as string;
    expectDocumented('get', '/webhooks', await api('get', '/webhooks', admin));
    expectDocumented('get', '/webhooks/{webhook_id}', await api('get', `/webhooks/${id}`, admin));
    expectDocumented(
      'patch',
      '/webhooks/{webhook_id}',
      await api('patch', `/webhooks/${id}`, admin).send({ active: false }),
    );
    expectDocumented(
      'post',
      '/webhooks/{webhook_id}/rotate-secret',
      await api('post', `/webhooks/${id}/rotate-secret`, admin),
    );
    const test = await api('post', `/webhooks/${id}/test`, admin);
    expectDocumented('post', '/webhooks/{webhook_id}/test', test);
    await api('post', `/webhooks/${id}/test`, admin).expect(202);
    expectDocumented(
      'get',
      '/webhooks/{webhook_id}/deliveries',
      await api('get', `/webhooks/${id}/deliveries`, admin).query({ max_results: 1 }),
    );
    expectDocumented(
      'post',
      '/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver',
      await api('post', `/webhooks/${id}/deliveries/${test.body.id as string}/redeliver`, admin),
    );
    expectDocumented(
      'post',
      '/webhooks',
      await api('post', '/webhooks', admin).send({ url: 'http://ci.example/x', events: ['*'] }),
    );
    expectDocumented('get', '/webhooks/{webhook_id}', await api('get', '/webhooks/wh_00', admin));
    expectDocumented(
      'post',
      '/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver',
      await api('post', `/webhooks/${id}/deliveries/dlv_00/redeliver`, admin),
    );
  });

  it('covered every success answer and every kind of error', () => {
    const statuses = new Set([...checked].map((c) => c.split(' ').pop()!));
    for (const s of [
      '200',
      '201',
      '202',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '416',
      '422',
      '429',
      '503',
    ]) {
      expect({ status: s, checked: statuses.has(s) }).toEqual({ status: s, checked: true });
    }
    const successes = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, op]) =>
        Object.entries(op.responses)
          // A downloaded config.json or metrics.json is the uploader's document, not an example.
          .filter(([s, r]) => /^2/.test(s) && r.content?.['application/json'] !== undefined)
          .filter(() => !path.endsWith('/files/{file}'))
          .map(([s]) => `${method} ${path.replace(BASE, '')} ${s}`),
      ),
    );
    // The approve's 202 (registry down at the decision) has the 200's schema, with version null.
    const untested = successes.filter((s) => !checked.has(s));
    expect(untested).toEqual(['post /approvals/{id}/approve 202']);
  });
});
