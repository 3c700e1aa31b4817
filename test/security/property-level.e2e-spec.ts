/**
 * OWASP API3:2023 Broken Object Property Level Authorization. A client can never set a field the
 * service owns (version, stage, creator, digests, run ids, artifact location, times, approval
 * status and actors...) through any body: each attempt is a 400 naming the field, and what is
 * stored stays the server's. Responses carry only what the OpenAPI document declares, and never
 * the hidden identity tag or any other internal field.
 */
import request from 'supertest';
import { registerVersion, upload } from '../support/fixtures';
import {
  call,
  fillPath,
  loadSpec,
  OpenApiDocument,
  operationsOf,
  REQUIRED_QUERY,
  responseSchema,
  SecurityLog,
  serve,
  undeclaredKeys,
  withQuery,
} from '../support/security-harness';
import {
  newWebhook,
  requestProduction,
  tokenFor,
  uploadArtifact,
} from '../support/security-fixtures';
import { BASE, createTestApp, removeDir, TestApp } from '../support/test-app';

const CAT = 'API3 property level';
const TENANT = 'prop-t';
/** Where a response names a person's tenant on purpose (a person is tenant + sub). */
const PRINCIPAL_TENANT_FIELDS = [
  'requested_by_tenant',
  'decided_by_tenant',
  'actor_tenant',
  'approved_by_tenant',
  // A vote's author (approvals[].by_tenant)
  'by_tenant',
];
/**
 * The audit routes (admin only) show each entry as stored, since its hash covers every field:
 * the entry's tenant and model incarnation are documented there, for recomputing the hash.
 */
const AUDIT_ENTRY_FIELDS = ['tenant_id', 'model_uid'];
const MODEL = 'prop-model';

/** Fields the service owns, with the value an attacker would like them to have. */
const SERVER_OWNED: Record<string, unknown> = {
  version: 99,
  stage: 'production',
  current_stage: 'production',
  created_by: 'mallory',
  created_at: '2000-01-01T00:00:00.000Z',
  last_updated: '2000-01-01T00:00:00.000Z',
  last_updated_timestamp: 0,
  creation_timestamp: 0,
  sha256: 'a'.repeat(64),
  files: [{ name: 'model.pkl', size: 1, sha256: 'a'.repeat(64) }],
  run_id: 'deadbeefdeadbeefdeadbeefdeadbeef',
  run_ids: ['deadbeef'],
  run_link: 'http://evil.test',
  source: 's3://evil/model.pkl',
  artifact_uri: 'file:///etc/passwd',
  status: 'approved',
  apply_state: 'applied',
  applied_at: '2000-01-01T00:00:00.000Z',
  requested_by: 'mallory',
  requested_at: '2000-01-01T00:00:00.000Z',
  decided_by: 'mallory',
  decided_at: '2000-01-01T00:00:00.000Z',
  approved_by: 'mallory',
  decision_comment: 'self-approved',
  target_stage: 'archived',
  id: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f',
  approval_id: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f',
  tenant_id: 'other-tenant',
  tenant: 'other-tenant',
  model_uid: 'u-stolen',
  user_id: 'mallory',
  latest_version: 99,
  production_version: 1,
  staging_version: 1,
  latest_versions: [],
  versions: [],
  registered_as: { model: 'x', version: 1 },
  Stage: 'production',
  'stage ': 'production',
  VERSION: 99,
};

/** Per body: the fields a client may send; anything else in SERVER_OWNED must be refused. */
const CLIENT_FIELDS: Record<string, string[]> = {
  'POST /models': ['name', 'artifact_id', 'description', 'tags', 'metrics', 'parameters'],
  'PATCH /models/{name}': ['description', 'tags'],
  'PATCH /models/{name}/versions/{version}': ['description', 'tags'],
  'POST .../stage': ['stage', 'comment', 'archive_existing_versions'],
  'POST /approvals/{id}/approve': ['comment'],
  'POST /approvals/{id}/reject': ['comment'],
  'POST /approvals/{id}/cancel': ['comment'],
};

const RESERVED_TAGS = [
  'registry.model_uid',
  'registry.tenant',
  'registry.namespace',
  'registry.anything',
  'mlflow.user',
  'mlflow.source.name',
];

describe('OWASP API3: object property level authorization (e2e)', () => {
  const log = new SecurityLog('api3-property-level');
  let t: TestApp;
  let spec: OpenApiDocument;
  let editor: string;
  let approver: string;
  let admin: string;
  let viewer: string;
  let approvalId: string;
  let freeArtifact: string;

  const get = async (path: string): Promise<Record<string, unknown>> =>
    (await call(t, 'get', `${BASE}${path}`, viewer).expect(200)).body as Record<string, unknown>;

  beforeAll(async () => {
    t = await serve(await createTestApp());
    spec = await loadSpec(t);
    editor = await tokenFor(TENANT, 'alice', ['editor']);
    approver = await tokenFor(TENANT, 'bob', ['approver']);
    admin = await tokenFor(TENANT, 'root', ['admin']);
    viewer = await tokenFor(TENANT, 'victor', ['viewer']);
    await registerVersion(t, editor, MODEL, { metrics: { f1_score: 0.8 } });
    await registerVersion(t, editor, MODEL, { metrics: { f1_score: 0.9 } });
    approvalId = await requestProduction(t, editor, MODEL, 2);
    freeArtifact = await uploadArtifact(t, editor);
  });

  afterAll(async () => {
    log.write();
    await t.close();
    removeDir(t.dataDir);
  });

  /** Sends `body` with each server-owned field added; each must be a 400 naming the field. */
  async function refuseEach(
    label: string,
    method: string,
    url: string,
    token: string,
    base: Record<string, unknown>,
  ): Promise<void> {
    const allowedFields = CLIENT_FIELDS[label];
    const failures: unknown[] = [];
    for (const [field, value] of Object.entries(SERVER_OWNED)) {
      if (allowedFields.includes(field)) continue;
      const res = log.see(
        `${label} +${field}`,
        await call(t, method, url, token, { ...base, [field]: value }),
      );
      log.attack(CAT);
      const named = typeof res.body.message === 'string' && res.body.message.includes(field.trim());
      if (res.status !== 400 || res.body.code !== 'VALIDATION_FAILED' || !named) {
        failures.push({ label, field, status: res.status, body: res.body });
      }
    }
    for (const key of RESERVED_TAGS) {
      for (const v of ['x', null]) {
        const res = log.see(
          `${label} tag ${key}`,
          await call(t, method, url, token, { ...base, tags: { [key]: v } }),
        );
        log.attack(CAT);
        if (res.status !== 400) failures.push({ label, tag: key, value: v, status: res.status });
      }
    }
    expect(failures).toEqual([]);
  }

  it('POST /models: no server-owned field, no reserved tag; nothing is registered', async () => {
    if (!('tags' in CLIENT_FIELDS['POST /models'])) {
      // tags are allowed, but reserved keys are not (checked in refuseEach)
    }
    const before = await get(`/models/${MODEL}`);
    await refuseEach('POST /models', 'post', `${BASE}/models`, editor, {
      name: 'prop-new',
      artifact_id: freeArtifact,
    });
    await call(t, 'get', `${BASE}/models/prop-new`, viewer).expect(404);
    expect(await get(`/models/${MODEL}`)).toEqual(before);
    // The same artifact then registers, with the server's values.
    const res = await call(t, 'post', `${BASE}/models`, editor, {
      name: 'prop-new',
      artifact_id: freeArtifact,
    }).expect(201);
    expect(res.body).toMatchObject({ version: 1, stage: 'none', created_by: 'alice' });
    expect(res.body.artifact_uri).not.toContain('passwd');
  });

  it('PATCH /models/{name}: only description and tags; the model keeps its values', async () => {
    const before = await get(`/models/${MODEL}`);
    await refuseEach('PATCH /models/{name}', 'patch', `${BASE}/models/${MODEL}`, editor, {
      description: 'x',
    });
    for (const field of ['name', 'metrics', 'parameters', 'artifact_id']) {
      const res = log.see(
        `PATCH model ${field}`,
        await call(t, 'patch', `${BASE}/models/${MODEL}`, editor, { [field]: 'renamed' }),
      );
      log.attack(CAT);
      expect([field, res.status]).toEqual([field, 400]);
    }
    expect(await get(`/models/${MODEL}`)).toEqual(before);
  });

  it('PATCH version: only description and tags; the version keeps its values', async () => {
    const path = `/models/${MODEL}/versions/1`;
    const before = await get(path);
    await refuseEach('PATCH /models/{name}/versions/{version}', 'patch', `${BASE}${path}`, editor, {
      description: 'x',
    });
    for (const [field, value] of Object.entries({
      name: 'other',
      artifact_id: freeArtifact,
      metrics: { f1_score: 1 },
      parameters: { lr: 1 },
    })) {
      const res = log.see(
        `PATCH version ${field}`,
        await call(t, 'patch', `${BASE}${path}`, editor, { [field]: value }),
      );
      log.attack(CAT);
      expect([field, res.status]).toEqual([field, 400]);
    }
    expect(await get(path)).toEqual(before);
  });

  it('POST stage: no approval field can be preset; nothing moves, no request opens', async () => {
    const url = `${BASE}/models/${MODEL}/versions/1/stage`;
    for (const stage of ['staging', 'production']) {
      await refuseEach('POST .../stage', 'post', url, editor, { stage });
    }
    expect((await get(`/models/${MODEL}/versions/1`))['stage']).toBe('none');
    const approvals = await get(`/approvals?model=${MODEL}`);
    expect((approvals['approvals'] as { id: string }[]).map((a) => a.id)).toEqual([approvalId]);
  });

  it('decisions: status, actors and terms of a request cannot be set by the decider', async () => {
    for (const [label, action, token, base] of [
      ['POST /approvals/{id}/approve', 'approve', approver, { comment: 'ok' }],
      ['POST /approvals/{id}/reject', 'reject', approver, { comment: 'no' }],
      ['POST /approvals/{id}/cancel', 'cancel', editor, { comment: 'withdrawn' }],
    ] as const) {
      await refuseEach(label, 'post', `${BASE}/approvals/${approvalId}/${action}`, token, base);
      for (const [field, value] of Object.entries({
        archive_existing_versions: false,
        stage: 'archived',
      })) {
        const res = log.see(
          `${label} ${field}`,
          await call(t, 'post', `${BASE}/approvals/${approvalId}/${action}`, token, {
            ...base,
            [field]: value,
          }),
        );
        log.attack(CAT);
        expect([label, field, res.status]).toEqual([label, field, 400]);
      }
    }
    const approval = await get(`/approvals/${approvalId}`);
    expect(approval).toMatchObject({ status: 'pending', requested_by: 'alice', decided_by: null });
    // Approved for real, the actors are the token subjects.
    const res = await call(t, 'post', `${BASE}/approvals/${approvalId}/approve`, approver, {
      comment: 'ok',
    }).expect(200);
    expect(res.body.approval).toMatchObject({
      status: 'approved',
      requested_by: 'alice',
      decided_by: 'bob',
      target_stage: 'production',
      archive_existing_versions: true,
    });
  });

  it('prototype keys anywhere in a body are refused and pollute nothing', async () => {
    const bodies: [string, string][] = [
      ['patch', '{"__proto__": {"stage": "production"}}'],
      ['patch', '{"description": "x", "tags": {"__proto__": "x"}}'],
      ['patch', '{"constructor": {"prototype": {"isAdmin": true}}}'],
      ['patch', '{"tags": {"constructor": "x"}}'],
      ['patch', '{"tags": {"prototype": "x"}}'],
      [
        'post',
        '{"name": "p2", "artifact_id": "model-abcdef1", "metrics": {"__proto__": {"x": 1}}}',
      ],
      ['post', '{"name": "p2", "artifact_id": "model-abcdef1", "parameters": {"constructor": 1}}'],
    ];
    for (const [method, body] of bodies) {
      const url = method === 'patch' ? `${BASE}/models/${MODEL}` : `${BASE}/models`;
      const res = log.see(
        `prototype key ${body}`,
        await request(t.http)
          [method as 'post' | 'patch'](url)
          .set('Authorization', `Bearer ${editor}`)
          .set('Content-Type', 'application/json')
          .send(body),
      );
      log.attack(CAT);
      expect([body, res.status]).toEqual([body, 400]);
    }
    expect(({} as Record<string, unknown>)['stage']).toBeUndefined();
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
  });

  it('an upload cannot choose its id, digests or stored names', async () => {
    const base = (): request.Test => upload(t, editor, { metrics: { f1_score: 0.5 } });
    for (const [field, value] of [
      ['artifact_id', 'model-chosenbyclient'],
      ['sha256', 'a'.repeat(64)],
      ['created_by', 'mallory'],
      ['tenant_id', 'other-tenant'],
    ]) {
      const res = log.see(`upload field ${field}`, await base().field(field, value));
      log.attack(CAT);
      expect([field, res.status]).toEqual([field, 400]);
    }
    await call(t, 'get', `${BASE}/artifacts/model-chosenbyclient`, viewer).expect(404);
    for (const filename of [
      '../../../../tmp/evil.pkl',
      '/etc/cron.d/x.pkl',
      '..\\..\\evil.pkl',
      'a/../../b.pt',
    ]) {
      const res = log.see(
        `upload file name ${filename}`,
        await upload(t, editor, { modelName: filename }),
      );
      log.attack(CAT);
      if (res.status === 201) {
        const names = (res.body.files as { name: string }[]).map((f) => f.name);
        expect(names.every((n) => ['model.pkl', 'model.pt'].includes(n))).toBe(true);
      } else {
        expect([filename, res.status]).toEqual([filename, 400]);
      }
    }
  });

  it('responses carry only documented fields, and never the reserved tags', async () => {
    // One more of everything, so every read has content.
    const v = await registerVersion(t, editor, MODEL, { tags: { team: 'ml' } });
    await call(t, 'post', `${BASE}/models/${MODEL}/versions/${v.version}/stage`, editor, {
      stage: 'staging',
    }).expect(200);
    const pending = await requestProduction(t, editor, MODEL, v.version);
    // Policies (staging ones, which change no rule) so that their reads have content.
    await call(t, 'put', `${BASE}/policies/staging`, admin, {
      gates: [{ metric: 'f1_score', op: '>=', value: 0 }],
    }).expect(200);
    await call(t, 'put', `${BASE}/models/${MODEL}/policies/staging`, admin, {}).expect(200);
    await call(t, 'put', `${BASE}/models/${MODEL}/aliases/challenger`, editor, {
      version: 2,
    }).expect(200);
    const ids = {
      name: MODEL,
      version: 2,
      id: pending,
      artifact_id: freeArtifact,
      file: 'model.pkl',
      alias: 'challenger',
      ...(await newWebhook(t, admin)),
    };
    const undeclared: unknown[] = [];
    const reads = operationsOf(spec).filter(
      (o) =>
        o.method === 'get' &&
        o.op.responses['200']?.content?.['application/json'] !== undefined &&
        responseSchema(o, 200)?.format !== 'binary',
    );
    expect(reads.length).toBeGreaterThanOrEqual(11);
    for (const o of reads) {
      const url = withQuery(fillPath(o.path, ids), REQUIRED_QUERY[o.key]);
      const res = log.see(`read ${o.key}`, await call(t, 'get', url, admin).expect(200));
      log.attack(CAT);
      const extra = undeclaredKeys(spec, responseSchema(o, 200), res.body);
      if (extra.length > 0) undeclared.push({ route: o.key, extra });
      // artifact_uri is documented to be the storage location (file://DATA_DIR/<tenant>/...);
      // the people's tenants are documented fields of approvals and history entries.
      const audit = o.key.startsWith('get /audit');
      const text = JSON.stringify(res.body, (k: string, v: unknown) =>
        k === 'artifact_uri' ||
        PRINCIPAL_TENANT_FIELDS.includes(k) ||
        (audit && AUDIT_ENTRY_FIELDS.includes(k))
          ? undefined
          : v,
      );
      for (const internal of [
        'registry.',
        'mlflow.',
        'model_uid',
        TENANT,
        t.dataDir,
        'apply_lease',
        'last_apply_error',
      ]) {
        if (
          text.includes(internal) &&
          !(internal === 'registry.' && o.key.startsWith('get /health'))
        ) {
          undeclared.push({ route: o.key, internal });
        }
      }
    }
    // The writes' answers too.
    const writes: [string, number, request.Response][] = [
      [
        'patch /models/{name}',
        200,
        await call(t, 'patch', `${BASE}/models/${MODEL}`, editor, { description: 'd' }),
      ],
      [
        'patch /models/{name}/versions/{version}',
        200,
        await call(t, 'patch', `${BASE}/models/${MODEL}/versions/1`, editor, { tags: { a: 'b' } }),
      ],
      [
        'post /approvals/{id}/reject',
        200,
        await call(t, 'post', `${BASE}/approvals/${pending}/reject`, approver, { comment: 'no' }),
      ],
    ];
    for (const [key, status, res] of writes) {
      const o = operationsOf(spec).find((op) => op.key === key)!;
      expect([key, res.status]).toEqual([key, status]);
      const extra = undeclaredKeys(spec, responseSchema(o, status), res.body);
      if (extra.length > 0) undeclared.push({ route: key, extra });
      if (JSON.stringify(res.body).includes('registry.'))
        undeclared.push({ route: key, internal: 'registry.' });
    }
    expect(undeclared).toEqual([]);
  });

  it('no error body leaked internals', () => {
    expect(log.problems([t.dataDir])).toEqual([]);
  });
});
