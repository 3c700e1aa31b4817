/**
 * OWASP API1:2023 Broken Object Level Authorization. Every documented route that names a model,
 * version, approval or artifact in its path is called by every kind of caller of another tenant:
 * the answer is exactly what a resource that exists nowhere gets (404, or 403 first when the
 * role is missing). The route list comes from the app's own OpenAPI document.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { upload } from '../support/fixtures';
import {
  ACCESS,
  allowed,
  call,
  fillPath,
  loadSpec,
  OpenApiDocument,
  Operation,
  operationsOf,
  pathParams,
  queryParams,
  REQUIRED_QUERY,
  ROLE_SETS,
  SecurityLog,
  serve,
  VALID_BODIES,
  withQuery,
} from '../support/security-harness';
import {
  newVersion,
  requestProduction,
  MISSING_WEBHOOK_IDS,
  newWebhook,
  tokenFor,
  uploadArtifact,
} from '../support/security-fixtures';
import { BASE, createTestApp, removeDir, Role, TestApp } from '../support/test-app';

const CAT = 'API1 object level';
const A = 'tenant-a';
const B = 'tenant-b';
const OBJECT_PARAMS = ['name', 'version', 'id', 'artifact_id', 'file', 'webhook_id', 'delivery_id'];

/** Status, code, error, key set and message (identifiers replaced) of an error answer. */
function shapeOf(res: request.Response, ids: (string | number)[]): Record<string, unknown> {
  const body = res.body as Record<string, unknown>;
  let message = String(body['message']);
  const sorted = ids.map(String).sort((a, b) => b.length - a.length);
  for (const id of sorted) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    message = message.replace(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, 'g'), '<id>');
  }
  return {
    status: res.status,
    code: body['code'],
    error: body['error'],
    keys: Object.keys(body).sort(),
    message,
  };
}

jest.setTimeout(60_000);

describe('OWASP API1: object level authorization across tenants (e2e)', () => {
  const log = new SecurityLog('api1-object-level');
  let t: TestApp;
  let spec: OpenApiDocument;
  let objectRoutes: Operation[];
  const model = 'obj-model';
  let ownIds: Record<string, string | number>;
  let missingIds: Record<string, string | number>;
  let editorA: string;
  let approverA: string;
  let adminA: string;
  let viewerA: string;
  let registeredArtifactA: string;
  let approvalA: string;
  const callers: Record<string, string> = {};

  beforeAll(async () => {
    t = await serve(await createTestApp());
    spec = await loadSpec(t);
    editorA = await tokenFor(A, 'alice', ['editor']);
    approverA = await tokenFor(A, 'bob', ['approver']);
    adminA = await tokenFor(A, 'root-a', ['admin']);
    viewerA = await tokenFor(A, 'victor', ['viewer']);
    const up = await upload(t, editorA, { metrics: { f1_score: 0.8 } }).expect(201);
    registeredArtifactA = up.body.artifact_id as string;
    await request(t.http)
      .post(`${BASE}/models`)
      .set('Authorization', `Bearer ${editorA}`)
      .send({ name: model, artifact_id: registeredArtifactA })
      .expect(201);
    await newVersion(t, editorA, model, { f1_score: 0.9 });
    approvalA = await requestProduction(t, editorA, model, 2);
    const artifactA = await uploadArtifact(t, editorA);
    // A policy of the model's own, so that its read has an object to read.
    await request(t.http)
      .put(`${BASE}/models/${model}/policies/staging`)
      .set('Authorization', `Bearer ${adminA}`)
      .send({})
      .expect(200);
    await request(t.http)
      .put(`${BASE}/models/${model}/aliases/challenger`)
      .set('Authorization', `Bearer ${editorA}`)
      .send({ version: 1 })
      .expect(200);
    ownIds = {
      name: model,
      version: 1,
      id: approvalA,
      artifact_id: artifactA,
      file: 'model.pkl',
      stage: 'staging',
      alias: 'challenger',
      ...(await newWebhook(t, adminA)),
    };
    missingIds = {
      name: 'no-such-model-zz9',
      version: 1,
      id: randomUUID(),
      artifact_id: 'model-nosuchartifact0',
      file: 'model.pkl',
      stage: 'staging',
      alias: 'challenger',
      ...MISSING_WEBHOOK_IDS,
    };
    // Tenant B is a real tenant with data of its own.
    const editorB = await tokenFor(B, 'mallory', ['editor']);
    await newVersion(t, editorB, 'b-model');
    for (const [label, roles] of Object.entries(ROLE_SETS)) {
      callers[label] = await tokenFor(B, `mallory-${label.replace(/\W/g, '')}`, roles);
    }
    // Same letters, other case: another tenant.
    callers['admin of TENANT-A'] = await tokenFor('TENANT-A', 'eve', ['admin']);
    objectRoutes = operationsOf(spec).filter((o) =>
      pathParams(o.path).some((p) => OBJECT_PARAMS.includes(p)),
    );
  });

  afterAll(async () => {
    log.write();
    await t.close();
    removeDir(t.dataDir);
  });

  const rolesOf = (label: string): Role[] => ROLE_SETS[label] ?? ['admin'];

  function send(o: Operation, ids: Record<string, string | number>, token: string): request.Test {
    const url = withQuery(fillPath(o.path, ids), REQUIRED_QUERY[o.key]);
    return call(t, o.method, url, token, VALID_BODIES[o.key]);
  }

  it('the matrix covers every documented route that names an object in its path', () => {
    const documented = operationsOf(spec)
      .filter((o) => /\{(name|version|id|artifact_id|file|webhook_id|delivery_id)\}/.test(o.path))
      .map((o) => o.key)
      .sort();
    expect(objectRoutes.map((o) => o.key).sort()).toEqual(documented);
    // Models, versions, stage, history, compare, approvals and artifacts at least.
    expect(documented.length).toBeGreaterThanOrEqual(15);
    for (const o of objectRoutes) {
      expect(ACCESS[o.key]).toBeDefined();
      for (const p of pathParams(o.path)) expect(ownIds[p]).toBeDefined();
    }
  });

  it('the owner tenant reads each of these objects (the fixtures are real)', async () => {
    for (const o of objectRoutes.filter((r) => r.method === 'get')) {
      // Webhooks are the admin's to read.
      const reader = ACCESS[o.key] === 'admin' ? adminA : viewerA;
      const res = log.see(o.key, await send(o, ownIds, reader));
      expect([o.key, res.status]).toEqual([o.key, 200]);
    }
  });

  it('every caller of another tenant gets exactly the answer of a resource that does not exist', async () => {
    const mismatches: unknown[] = [];
    for (const o of objectRoutes) {
      for (const [label, token] of Object.entries(callers)) {
        const cross = log.see(`${label} ${o.key} (tenant A's)`, await send(o, ownIds, token));
        const missing = log.see(`${label} ${o.key} (missing)`, await send(o, missingIds, token));
        log.attack(CAT);
        // Cancelling is open to every role at the route; "the requester or an admin" is a
        // check on the object, which another tenant's caller never reaches.
        const access = ACCESS[o.key] === 'cancel' ? 'read' : ACCESS[o.key];
        const expected = allowed(access, rolesOf(label)) ? 404 : 403;
        const got = shapeOf(cross, Object.values(ownIds));
        const ref = shapeOf(missing, Object.values(missingIds));
        if (cross.status !== expected || JSON.stringify(got) !== JSON.stringify(ref)) {
          mismatches.push({ route: o.key, caller: label, expected, got, missing: ref });
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('a production request across tenants is refused like a missing version, and opens nothing', async () => {
    const o = objectRoutes.find((r) => r.key === 'post /models/{name}/versions/{version}/stage')!;
    for (const [label, token] of Object.entries(callers)) {
      for (const version of [1, 2]) {
        const url = fillPath(o.path, { name: model, version });
        const res = log.see(
          `${label} production request`,
          await call(t, 'post', url, token, { stage: 'production' }),
        );
        log.attack(CAT);
        expect([label, res.status]).toEqual([label, allowed('write', rolesOf(label)) ? 404 : 403]);
      }
    }
    const pending = await call(t, 'get', `${BASE}/approvals?status=pending`, viewerA).expect(200);
    expect(pending.body.approvals.map((a: { id: string }) => a.id)).toEqual([approvalA]);
  });

  it("registering another tenant's artifact is refused like a missing artifact", async () => {
    const editor = callers['editor'];
    const missing = log.see(
      'register missing artifact',
      await call(t, 'post', `${BASE}/models`, editor, {
        name: 'stolen',
        artifact_id: missingIds['artifact_id'],
      }),
    );
    for (const artifactId of [ownIds['artifact_id'], registeredArtifactA]) {
      for (const label of ['editor', 'admin', 'all-but-admin']) {
        const res = log.see(
          `${label} registers tenant A's artifact`,
          await call(t, 'post', `${BASE}/models`, callers[label], {
            name: 'stolen',
            artifact_id: artifactId,
          }),
        );
        log.attack(CAT);
        expect(shapeOf(res, [artifactId])).toEqual(shapeOf(missing, [missingIds['artifact_id']]));
        expect(res.status).toBe(404);
      }
    }
    await call(t, 'get', `${BASE}/models/stolen`, callers['viewer']).expect(404);
  });

  it("comparing a model of the same name never shows the other tenant's versions", async () => {
    // Tenant B makes a model of the same name with one version; A's version 2 stays A's.
    const editorB = callers['editor'];
    await newVersion(t, editorB, model, { f1_score: 0.1 });
    const res = log.see(
      'compare across tenants',
      await call(t, 'get', `${BASE}/models/${model}/compare?versions=1,2`, callers['viewer']),
    );
    log.attack(CAT);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VERSION_NOT_FOUND');
    const own = await call(t, 'get', `${BASE}/models/${model}/versions/1`, callers['viewer']);
    expect(own.body.metrics).toEqual({ f1_score: 0.1 });
    const history = await call(
      t,
      'get',
      `${BASE}/models/${model}/versions/1/transitions`,
      callers['viewer'],
    ).expect(200);
    expect(
      history.body.transitions.every((e: { actor: string }) => e.actor === 'mallory-editor'),
    ).toBe(true);
    // The deletion by B's admin only deletes B's model.
    await call(t, 'delete', `${BASE}/models/${model}`, callers['admin']).expect(204);
    await call(t, 'get', `${BASE}/models/${model}/versions/2`, viewerA).expect(200);
  });

  it('?tenant_id= of another tenant is 403 on every route that takes it, unless admin', async () => {
    const withTenant = operationsOf(spec).filter((o) =>
      queryParams(o.op).some((p) => p.name === 'tenant_id'),
    );
    expect(withTenant.length).toBeGreaterThanOrEqual(18);
    const failures: unknown[] = [];
    for (const o of withTenant) {
      for (const [label, token] of Object.entries(callers)) {
        if (rolesOf(label).includes('admin')) continue;
        const url = withQuery(fillPath(o.path, ownIds), {
          ...REQUIRED_QUERY[o.key],
          tenant_id: A,
        });
        const res = log.see(
          `${label} ${o.key}?tenant_id`,
          await call(t, o.method, url, token, VALID_BODIES[o.key]),
        );
        log.attack(CAT);
        if (res.status !== 403 || res.body.code !== 'FORBIDDEN') {
          failures.push({ route: o.key, caller: label, status: res.status, code: res.body.code });
        }
      }
    }
    expect(failures).toEqual([]);
    // The admin of another tenant may (documented), which proves the parameter is honoured.
    const admin = await call(t, 'get', `${BASE}/models?tenant_id=${A}`, callers['admin']).expect(
      200,
    );
    expect(admin.body.models.map((m: { name: string }) => m.name)).toContain(model);
  });

  it('tenant_id tricks (repeated, other case, array) never reach another tenant', async () => {
    const viewer = callers['all-but-admin'];
    for (const query of [
      `tenant_id=${B}&tenant_id=${A}`,
      `tenant_id=${A}&tenant_id=${B}`,
      'tenant_id[]=tenant-a',
      'tenant_id[0]=tenant-a',
      'tenant_id=TENANT-A',
      'tenant_id=tenant-a%00',
      'tenant_id=%20tenant-a',
    ]) {
      const res = log.see(
        `tenant_id trick ${query}`,
        await call(t, 'get', `${BASE}/models?${query}`, viewer),
      );
      log.attack(CAT);
      expect([query, [400, 403].includes(res.status)]).toEqual([query, true]);
    }
    // A header naming another tenant is not a thing.
    const res = await request(t.http)
      .get(`${BASE}/models`)
      .set('Authorization', `Bearer ${viewer}`)
      .set('X-Tenant-Id', A)
      .expect(200);
    log.attack(CAT);
    expect(res.body.models.map((m: { name: string }) => m.name)).not.toContain(model);
  });

  it("lists never show another tenant's models or approvals", async () => {
    for (const [label, token] of Object.entries(callers)) {
      if (!allowed('read', rolesOf(label))) continue;
      for (const url of [
        `${BASE}/models`,
        `${BASE}/models?max_results=1000`,
        `${BASE}/approvals`,
        `${BASE}/approvals?status=pending`,
        `${BASE}/approvals?model=${model}`,
        `${BASE}/models/${model}/versions`,
      ]) {
        const res = log.see(`${label} list ${url}`, await call(t, 'get', url, token));
        log.attack(CAT);
        const text = JSON.stringify(res.body);
        expect([label, url, text.includes(approvalA)]).toEqual([label, url, false]);
        expect([label, url, text.includes('alice')]).toEqual([label, url, false]);
        if (url.endsWith('/models')) {
          expect(res.body.models.map((m: { name: string }) => m.name)).not.toContain(model);
        }
      }
    }
  });

  it("tenant A's objects are untouched and still work for tenant A", async () => {
    const approval = await call(t, 'get', `${BASE}/approvals/${approvalA}`, viewerA).expect(200);
    expect(approval.body.status).toBe('pending');
    const m = await call(t, 'get', `${BASE}/models/${model}`, viewerA).expect(200);
    expect(
      m.body.versions.map((v: { version: number; stage: string }) => [v.version, v.stage]),
    ).toEqual([
      [1, 'none'],
      [2, 'none'],
    ]);
    expect(m.body.description).toBe('');
    await call(t, 'post', `${BASE}/approvals/${approvalA}/approve`, approverA, {}).expect(200);
    await call(t, 'delete', `${BASE}/models/${model}/versions/1`, adminA).expect(204);
    const art = ownIds['artifact_id'] as string;
    await call(t, 'get', `${BASE}/artifacts/${art}`, viewerA).expect(200);
  });

  it('no error body leaked internals', () => {
    expect(log.problems([t.dataDir])).toEqual([]);
  });
});
