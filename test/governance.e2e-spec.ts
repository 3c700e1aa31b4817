import request from 'supertest';
import { Readable } from 'node:stream';
import { ObjectStorage } from '../src/storage/object-storage';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, Role, TestApp } from './support/test-app';

/**
 * Governance through HTTP: promotion policies as data, gates, quorum, expiry, auto-promotion,
 * governed demotion, rollback and verified artifacts. Runs on the embedded default and (in the
 * e2e-real project) on MLflow, S3, PostgreSQL and Redis.
 */
describe('governance (e2e)', () => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  let seq = 0;

  const as = async (sub: string, roles: Role[]) =>
    (tokens[`${sub}:${roles.join(',')}`] ??= await t.token(sub, roles));
  const editor = () => as('alice', ['editor']);
  const admin = () => as('carol', ['admin']);
  const approver = (n: number) => as(`approver-${n}`, ['approver']);

  const api = async (
    method: 'get' | 'put' | 'post' | 'delete' | 'patch',
    path: string,
    token: string,
    body?: unknown,
  ) => {
    const req = request(t.http)
      [method](`${BASE}${path}`)
      .set(...auth(token));
    return body === undefined ? req : req.send(body as object);
  };
  const model = (prefix: string) => `${prefix}-${(seq += 1)}`;
  const register = async (name: string, metrics: Record<string, number>, tags = {}) =>
    registerVersion(t, await editor(), name, { metrics, tags });
  const setPolicy = async (path: string, body: unknown) =>
    (await api('put', path, await admin(), body)).body as Record<string, unknown>;
  const requestProduction = async (name: string, version: number, token?: string) =>
    api('post', `/models/${name}/versions/${version}/stage`, token ?? (await editor()), {
      stage: 'production',
      comment: 'ready',
    });
  const vote = async (id: string, token: string, body: Record<string, unknown> = {}) =>
    api('post', `/approvals/${id}/approve`, token, body);
  const stageOf = async (name: string, version: number) =>
    (await api('get', `/models/${name}/versions/${version}`, await editor())).body.stage as string;
  const history = async (name: string, version: number) =>
    (await api('get', `/models/${name}/versions/${version}/transitions`, await editor())).body
      .transitions as Record<string, unknown>[];

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  afterEach(async () => {
    // Each test sets what it needs; the tenant's policies never leak into the next one.
    for (const stage of ['staging', 'production']) {
      await api('delete', `/policies/${stage}`, await admin());
    }
  });

  describe('policies as data', () => {
    it('sets, reads and removes the tenant policy; a viewer reads, only an admin writes', async () => {
      const viewer = await as('vic', ['viewer']);
      expect((await api('get', '/policies/production', viewer)).status).toBe(404);
      const body = {
        required_approvals: 2,
        gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
        no_regression: [{ metric: 'f1_score', tolerance: 0.01 }],
        required_tags: { bias_review: 'passed' },
      };
      expect((await api('put', '/policies/production', await editor(), body)).status).toBe(403);
      const put = await api('put', '/policies/production', await admin(), body);
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({
        ...body,
        stage: 'production',
        model: null,
        approver_roles: ['approver'],
        request_ttl_seconds: 604800,
        demotion_requires_approval: true,
        updated_by: 'carol',
      });
      const got = await api('get', '/policies/production', viewer);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(put.body);
      expect((await api('delete', '/policies/production', await admin())).status).toBe(204);
      expect((await api('get', '/policies/production', viewer)).body.code).toBe('POLICY_NOT_FOUND');
    });

    it('refuses unknown fields, fields of the other stage and bad values, naming the field', async () => {
      const cases: [string, unknown, string][] = [
        ['production', { quorum: 2 }, 'quorum'],
        ['staging', { required_approvals: 2 }, 'required_approvals belongs to the production'],
        ['staging', { request_ttl_seconds: 60 }, 'request_ttl_seconds'],
        ['production', { auto_promote: true }, 'auto_promote belongs to the staging'],
        ['production', { required_approvals: 0 }, 'required_approvals must be an integer from 1'],
        ['production', { required_approvals: 11 }, 'required_approvals'],
        ['production', { approver_roles: ['editor'] }, 'approver_roles may hold approver, admin'],
        ['production', { gates: [{ metric: 'f1', op: '=>', value: 1 }] }, 'gates.0.op'],
        ['production', { gates: [{ metric: 'f1', op: '>=' }] }, 'gates.0.value'],
        ['production', { gates: [{ metric: 'f1', op: '>=', value: 1, x: 1 }] }, 'x'],
        ['production', { no_regression: [{ metric: 'f1', tolerance: -1 }] }, 'tolerance'],
        ['production', { required_tags: { k: 1 } }, 'required_tags'],
        ['production', { request_ttl_seconds: 31_536_001 }, 'request_ttl_seconds'],
        ['archived', {}, 'stage must be staging or production'],
      ];
      for (const [stage, body, field] of cases) {
        const res = await api('put', `/policies/${stage}`, await admin(), body);
        expect({ body, status: res.status, code: res.body.code }).toEqual({
          body,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
        expect(res.body.message).toContain(field);
      }
      // Nothing was stored by the refused requests.
      expect((await api('get', '/policies/production', await admin())).status).toBe(404);
    });

    it("a model's override replaces the tenant's whole; removing it brings the tenant's back", async () => {
      const name = model('override');
      const v = await register(name, { f1_score: 0.5 });
      await setPolicy('/policies/production', {
        gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
      });
      expect((await requestProduction(name, v.version)).status).toBe(422);
      const override = await setPolicy(`/models/${name}/policies/production`, {
        required_tags: {},
      });
      expect(override).toMatchObject({ model: name, gates: [] });
      const opened = await requestProduction(name, v.version);
      expect(opened.status).toBe(202);
      expect(
        (await api('post', `/approvals/${opened.body.approval.id}/cancel`, await editor())).status,
      ).toBe(200);
      expect(
        (await api('delete', `/models/${name}/policies/production`, await admin())).status,
      ).toBe(204);
      expect((await requestProduction(name, v.version)).status).toBe(422);
      expect(
        (await api('put', '/models/no-such-model/policies/production', await admin(), {})).body
          .code,
      ).toBe('MODEL_NOT_FOUND');
    });
  });

  describe('gates', () => {
    it('a manual move to staging whose gates fail is 422 with each verdict, and changes nothing', async () => {
      const name = model('gated');
      const v = await register(name, { f1_score: 0.85, val_loss: 0.2 }, { bias_review: 'pending' });
      await setPolicy('/policies/staging', {
        gates: [
          { metric: 'f1_score', op: '>=', value: 0.9 },
          { metric: 'val_loss', op: '<', value: 0.3 },
          { metric: 'auc', op: '>', value: 0.5 },
        ],
        required_tags: { bias_review: 'passed' },
      });
      const res = await api('post', `/models/${name}/versions/1/stage`, await editor(), {
        stage: 'staging',
      });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ statusCode: 422, code: 'GATES_FAILED' });
      expect(res.body.message).toContain('f1_score is 0.85, needs >= 0.9');
      expect(res.body.details.gates).toEqual([
        expect.objectContaining({
          gate: 'f1_score >= 0.9',
          passed: false,
          actual: 0.85,
          expected: '>= 0.9',
        }),
        expect.objectContaining({ gate: 'val_loss < 0.3', passed: true, actual: 0.2 }),
        expect.objectContaining({ gate: 'auc > 0.5', passed: false, actual: null }),
        expect.objectContaining({
          gate: 'tag bias_review',
          passed: false,
          actual: 'pending',
          expected: '= passed',
        }),
      ]);
      for (const g of res.body.details.gates) expect(typeof g.reason).toBe('string');
      expect(await stageOf(name, v.version)).toBe('none');
      // 404 and 409 come first.
      expect(
        (
          await api('post', `/models/${name}/versions/9/stage`, await editor(), {
            stage: 'staging',
          })
        ).status,
      ).toBe(404);
      expect(
        (await api('post', `/models/${name}/versions/1/stage`, await editor(), { stage: 'none' }))
          .status,
      ).toBe(409);
    });

    it('a production request is evaluated when made and carries its evidence', async () => {
      const name = model('evidence');
      const low = await register(name, { f1_score: 0.8 });
      const good = await register(name, { f1_score: 0.93 });
      await setPolicy('/policies/production', {
        required_approvals: 2,
        gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
        request_ttl_seconds: 3600,
      });
      const refused = await requestProduction(name, low.version);
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('GATES_FAILED');
      expect((await api('get', `/approvals?model=${name}`, await editor())).body.approvals).toEqual(
        [],
      );
      const before = Date.now();
      const opened = await requestProduction(name, good.version);
      expect(opened.status).toBe(202);
      const a = opened.body.approval;
      expect(a).toMatchObject({
        kind: 'promotion',
        status: 'pending',
        required_approvals: 2,
        approvals: [],
        gates: [expect.objectContaining({ gate: 'f1_score >= 0.9', passed: true, actual: 0.93 })],
        artifact_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      const expires = Date.parse(a.expires_at as string);
      expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
      const manifest = await api('get', `/artifacts/${good.artifact_id}`, await editor());
      const file = (manifest.body.files as { name: string; sha256: string }[]).find(
        (f) => f.name === 'model.pkl',
      );
      expect(a.artifact_sha256).toBe(file!.sha256);
      expect((await api('get', `/approvals/${a.id}`, await editor())).body).toMatchObject({
        kind: 'promotion',
        required_approvals: 2,
      });
    });
  });

  describe('quorum', () => {
    it.each([2, 3])('needs %i distinct approvers, never the requester, each once', async (n) => {
      const name = model(`quorum${n}`);
      const v = await register(name, { f1_score: 0.95 });
      await setPolicy(`/models/${name}/policies/production`, { required_approvals: n });
      const id = (await requestProduction(name, v.version)).body.approval.id as string;
      expect((await vote(id, await editor())).status).toBe(403);
      // The requester holding the approver role is still the requester.
      for (let i = 1; i < n; i++) {
        const res = await vote(id, await approver(i), { comment: `lgtm ${i}` });
        expect(res.status).toBe(200);
        expect(res.body.approval).toMatchObject({ status: 'pending', apply_state: 'none' });
        expect(res.body.approval.approvals).toHaveLength(i);
        expect(res.body.version.stage).toBe('none');
        const again = await vote(id, await approver(i));
        expect(again.status).toBe(409);
        expect(again.body.code).toBe('ALREADY_APPROVED');
      }
      expect(await stageOf(name, v.version)).toBe('none');
      const last = await vote(id, await approver(n), { comment: 'ship it' });
      expect(last.status).toBe(200);
      expect(last.body.approval).toMatchObject({
        status: 'approved',
        apply_state: 'applied',
        decided_by: `approver-${n}`,
      });
      expect(last.body.approval.approvals.map((x: { by: string }) => x.by)).toEqual(
        Array.from({ length: n }, (_, i) => `approver-${i + 1}`),
      );
      expect(last.body.version.stage).toBe('production');
      expect((await vote(id, await approver(n + 1))).body.code).toBe('APPROVAL_NOT_PENDING');
      const events = (await history(name, v.version)).map((e) => e.event);
      expect(events).toEqual([
        'registered',
        'approval_requested',
        ...Array.from({ length: n - 1 }, () => 'approval_vote_added'),
        'approval_approved',
        'transition',
      ]);
    });

    it('six votes racing at quorum 2: exactly one applies, every vote counted once', async () => {
      const name = model('race');
      const v = await register(name, { f1_score: 0.95 });
      await setPolicy(`/models/${name}/policies/production`, { required_approvals: 2 });
      const id = (await requestProduction(name, v.version)).body.approval.id as string;
      const voters = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => approver(100 + i)));
      const results = await Promise.all(voters.map((token) => vote(id, token)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 409, 409, 409, 409]);
      const approved = results.filter((r) => r.body.approval?.status === 'approved');
      expect(approved).toHaveLength(1);
      const final = (await api('get', `/approvals/${id}`, await editor())).body;
      expect(final).toMatchObject({ status: 'approved', apply_state: 'applied' });
      expect(final.approvals).toHaveLength(2);
      const entries = await history(name, v.version);
      expect(entries.filter((e) => e.event === 'transition')).toHaveLength(1);
      expect(entries.filter((e) => e.event === 'approval_vote_added')).toHaveLength(1);
      expect(entries.filter((e) => e.event === 'approval_approved')).toHaveLength(1);
      expect(await stageOf(name, v.version)).toBe('production');
    });

    it('approver_roles: admin counts only if listed; one reject by an eligible approver ends it', async () => {
      const name = model('roles');
      const v = await register(name, { f1_score: 0.95 });
      await setPolicy(`/models/${name}/policies/production`, { required_approvals: 2 });
      const id = (await requestProduction(name, v.version)).body.approval.id as string;
      const adminVote = await vote(id, await admin());
      expect(adminVote.status).toBe(403);
      expect(adminVote.body.details).toEqual({ approver_roles: ['approver'] });
      await setPolicy(`/models/${name}/policies/production`, {
        required_approvals: 2,
        approver_roles: ['admin'],
      });
      // The request keeps the roles it was opened under; a new one takes the new policy's.
      expect((await api('post', `/approvals/${id}/cancel`, await editor())).status).toBe(200);
      const id2 = (await requestProduction(name, v.version)).body.approval.id as string;
      expect((await vote(id2, await approver(1))).status).toBe(403);
      expect((await vote(id2, await admin())).status).toBe(200);
      const rejected = await api('post', `/approvals/${id2}/reject`, await as('root', ['admin']), {
        comment: 'not this week',
      });
      expect(rejected.status).toBe(200);
      expect(rejected.body.approval.status).toBe('rejected');
      expect(await stageOf(name, v.version)).toBe('none');
    });

    it('a vote whose gates fail now (production moved meanwhile) is 422 and the request stays pending', async () => {
      const name = model('moved');
      const v1 = await register(name, { f1_score: 0.9 });
      const v2 = await register(name, { f1_score: 0.95 });
      await setPolicy(`/models/${name}/policies/production`, {
        no_regression: [{ metric: 'f1_score', tolerance: 0 }],
      });
      const first = (await requestProduction(name, v1.version)).body.approval.id as string;
      const second = (await requestProduction(name, v2.version)).body.approval.id as string;
      expect((await vote(second, await approver(1))).status).toBe(200);
      expect(await stageOf(name, v2.version)).toBe('production');
      const late = await vote(first, await approver(1));
      expect(late.status).toBe(422);
      expect(late.body.code).toBe('GATES_FAILED');
      expect(late.body.details.gates).toEqual([
        expect.objectContaining({ gate: 'no_regression f1_score', passed: false, actual: 0.9 }),
      ]);
      const still = (await api('get', `/approvals/${first}`, await editor())).body;
      expect(still).toMatchObject({ status: 'pending', approvals: [] });
      expect(still.gates[0]).toMatchObject({ passed: false });
    });
  });

  it('a request expires after request_ttl_seconds: deciding on it is 409, its history says so', async () => {
    const name = model('expiry');
    const v = await register(name, { f1_score: 0.95 });
    await setPolicy(`/models/${name}/policies/production`, { request_ttl_seconds: 1 });
    const id = (await requestProduction(name, v.version)).body.approval.id as string;
    const other = (
      await requestProduction(name, (await register(name, { f1_score: 0.96 })).version)
    ).body.approval.id as string;
    await new Promise((r) => setTimeout(r, 1300));
    const late = await vote(id, await approver(1));
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
      details: { status: 'expired' },
    });
    // The background sweep expires the one nobody touched.
    let swept: Record<string, unknown> = {};
    for (let i = 0; i < 50 && swept.status !== 'expired'; i++) {
      const list = await api('get', `/approvals?model=${name}&status=expired`, await editor());
      swept = (list.body.approvals as Record<string, unknown>[]).find((a) => a.id === other) ?? {};
      if (swept.status !== 'expired') await new Promise((r) => setTimeout(r, 100));
    }
    expect(swept.status).toBe('expired');
    const entries = await history(name, v.version);
    expect(entries.map((e) => e.event)).toContain('approval_expired');
    expect(entries.find((e) => e.event === 'approval_expired')?.actor).toBe('policy:expiry');
    expect(await stageOf(name, v.version)).toBe('none');
  });

  it('auto-promotes to staging a version registered or edited so that it passes the staging gates', async () => {
    const name = model('auto');
    await setPolicy('/policies/staging', {
      auto_promote: true,
      gates: [{ metric: 'f1_score', op: '>=', value: 0.8 }],
      required_tags: { data_check: 'ok' },
    });
    const passing = await register(name, { f1_score: 0.85 }, { data_check: 'ok' });
    expect(passing.stage).toBe('staging');
    expect(await stageOf(name, passing.version)).toBe('staging');
    const entry = (await history(name, passing.version)).find((e) => e.event === 'transition');
    expect(entry).toMatchObject({
      actor: 'policy:staging',
      from_stage: 'none',
      to_stage: 'staging',
    });
    const failing = await register(name, { f1_score: 0.85 });
    expect(failing.stage).toBe('none');
    const edited = await api(
      'patch',
      `/models/${name}/versions/${failing.version}`,
      await editor(),
      {
        tags: { data_check: 'ok' },
      },
    );
    expect(edited.status).toBe(200);
    expect(edited.body.stage).toBe('staging');
    const low = await register(name, { f1_score: 0.5 }, { data_check: 'ok' });
    expect(low.stage).toBe('none');
  });

  it('under a production policy, demoting the production version is a request of kind demotion', async () => {
    const name = model('demote');
    const v = await register(name, { f1_score: 0.95 });
    const id = (await requestProduction(name, v.version)).body.approval.id as string;
    await vote(id, await approver(1)).then((r) => expect(r.status).toBe(200));
    // Without a policy an editor alone demotes (today's behaviour) — shown on another model below.
    await setPolicy('/policies/production', { required_approvals: 2 });
    const asked = await api('post', `/models/${name}/versions/${v.version}/stage`, await editor(), {
      stage: 'archived',
      comment: 'retire',
    });
    expect(asked.status).toBe(202);
    expect(asked.headers.location).toBe(`${BASE}/approvals/${asked.body.approval.id}`);
    expect(asked.body.approval).toMatchObject({
      kind: 'demotion',
      target_stage: 'archived',
      required_approvals: 2,
    });
    expect(await stageOf(name, v.version)).toBe('production');
    const d = asked.body.approval.id as string;
    await vote(d, await approver(1)).then((r) => expect(r.body.approval.status).toBe('pending'));
    const done = await vote(d, await approver(2));
    expect(done.body.approval).toMatchObject({ status: 'approved', apply_state: 'applied' });
    expect(await stageOf(name, v.version)).toBe('archived');
    const kinds = await api('get', `/approvals?model=${name}&kind=demotion`, await editor());
    expect(kinds.body.approvals.map((a: { id: string }) => a.id)).toEqual([d]);
    // demotion_requires_approval: false applies at once again.
    const other = model('demote-free');
    const w = await register(other, { f1_score: 0.95 });
    await setPolicy('/policies/production', { demotion_requires_approval: false });
    const wid = (await requestProduction(other, w.version)).body.approval.id as string;
    await vote(wid, await approver(1)).then((r) => expect(r.status).toBe(200));
    const direct = await api(
      'post',
      `/models/${other}/versions/${w.version}/stage`,
      await editor(),
      {
        stage: 'archived',
      },
    );
    expect(direct.status).toBe(200);
    expect(direct.body.stage).toBe('archived');
  });

  it('rolls back to a previous production version through the same path, skipping no_regression', async () => {
    const name = model('rollback');
    const v1 = await register(name, { f1_score: 0.9 });
    const v2 = await register(name, { f1_score: 0.95 });
    for (const v of [v1, v2]) {
      const id = (await requestProduction(name, v.version)).body.approval.id as string;
      expect((await vote(id, await approver(1))).status).toBe(200);
    }
    expect(await stageOf(name, v1.version)).toBe('archived');
    await setPolicy('/policies/production', {
      no_regression: [{ metric: 'f1_score', tolerance: 0 }],
      gates: [{ metric: 'f1_score', op: '>=', value: 0.5 }],
    });
    // A plain promotion of v1 regresses against v2 and is refused...
    expect((await requestProduction(name, v1.version)).status).toBe(422);
    const never = await register(name, { f1_score: 0.99 });
    const refused = await api('post', `/models/${name}/rollback`, await editor(), {
      to_version: never.version,
      reason: 'x',
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('NOT_A_PREVIOUS_PRODUCTION');
    expect(
      (
        await api('post', `/models/${name}/rollback`, await editor(), {
          to_version: v2.version,
          reason: 'x',
        })
      ).body.code,
    ).toBe('STAGE_UNCHANGED');
    expect(
      (await api('post', `/models/${name}/rollback`, await editor(), { to_version: 1 })).status,
    ).toBe(400);
    expect(
      (
        await api('post', `/models/${name}/rollback`, await as('vic', ['viewer']), {
          to_version: 1,
          reason: 'x',
        })
      ).status,
    ).toBe(403);
    // ...a rollback goes back on purpose.
    const rb = await api('post', `/models/${name}/rollback`, await editor(), {
      to_version: v1.version,
      reason: 'v2 doubles p99 latency',
    });
    expect(rb.status).toBe(202);
    expect(rb.headers.location).toBe(`${BASE}/approvals/${rb.body.approval.id}`);
    expect(rb.body.approval).toMatchObject({
      kind: 'rollback',
      target_stage: 'production',
      version: v1.version,
      comment: 'rollback: v2 doubles p99 latency',
    });
    expect(rb.body.approval.gates.map((g: { gate: string }) => g.gate)).toEqual([
      'f1_score >= 0.5',
    ]);
    expect((await vote(rb.body.approval.id, await editor())).status).toBe(403);
    const applied = await vote(rb.body.approval.id, await approver(2));
    expect(applied.body.approval).toMatchObject({ status: 'approved', apply_state: 'applied' });
    expect(await stageOf(name, v1.version)).toBe('production');
    expect(await stageOf(name, v2.version)).toBe('archived');
    const last = (await history(name, v1.version)).filter((e) => e.event === 'transition').pop();
    expect(last).toMatchObject({
      to_stage: 'production',
      comment: 'rollback: v2 doubles p99 latency',
    });
  });

  it('verifies the stored model file before applying: changed bytes are never promoted', async () => {
    const name = model('tamper');
    const v = await register(name, { f1_score: 0.95 });
    const id = (await requestProduction(name, v.version)).body.approval.id as string;
    // Behind the service's back: the bytes in the store change after review.
    const storage = t.app.get(ObjectStorage);
    await storage.put(
      `acme-corp/${name}/v${v.version}/model.pkl`,
      Readable.from([Buffer.from('evil')]),
    );
    const res = await vote(id, await approver(1));
    expect(res.status).toBe(200);
    expect(res.body.approval).toMatchObject({
      status: 'approved',
      apply_state: 'failed',
      apply_error: { code: 'ARTIFACT_INTEGRITY_FAILED' },
    });
    expect(res.body.approval.apply_error.message).toContain(res.body.approval.artifact_sha256);
    expect(await stageOf(name, v.version)).toBe('none');
    const entries = await history(name, v.version);
    const failed = entries.find((e) => e.event === 'approval_apply_failed');
    expect(failed?.comment).toMatch(/^ARTIFACT_INTEGRITY_FAILED: /);
    expect(entries.map((e) => e.event)).not.toContain('transition');
    // Final: the retry loop does not apply it later.
    await new Promise((r) => setTimeout(r, 600));
    expect(await stageOf(name, v.version)).toBe('none');
    expect((await api('get', `/approvals/${id}`, await editor())).body.apply_state).toBe('failed');
  });

  it('GET /approvals filters by kind, requester and awaiting_me', async () => {
    const name = model('inbox');
    const a = await register(name, { f1_score: 0.95 });
    const b = await register(name, { f1_score: 0.95 });
    await setPolicy(`/models/${name}/policies/production`, { required_approvals: 2 });
    const byAlice = (await requestProduction(name, a.version)).body.approval.id as string;
    const dan = await as('dan', ['editor', 'approver']);
    const byDan = (await requestProduction(name, b.version, dan)).body.approval.id as string;
    const ids = async (token: string, query: string) =>
      (
        (await api('get', `/approvals?model=${name}&${query}`, token)).body.approvals as {
          id: string;
        }[]
      )
        .map((x) => x.id)
        .sort();
    expect(await ids(await editor(), 'requested_by=dan')).toEqual([byDan]);
    expect(await ids(await editor(), 'kind=promotion')).toEqual([byAlice, byDan].sort());
    expect(await ids(await editor(), 'kind=rollback')).toEqual([]);
    // dan may vote on alice's request, not on his own.
    expect(await ids(dan, 'awaiting_me=true')).toEqual([byAlice]);
    expect(await ids(await approver(7), 'awaiting_me=true')).toEqual([byAlice, byDan].sort());
    await vote(byAlice, await approver(7)).then((r) => expect(r.status).toBe(200));
    expect(await ids(await approver(7), 'awaiting_me=true')).toEqual([byDan]);
    expect(await ids(await editor(), 'awaiting_me=true')).toEqual([]);
    // An admin is not an approver unless the policy lists it.
    expect(await ids(await admin(), 'awaiting_me=true')).toEqual([]);
    expect((await api('get', '/approvals?awaiting_me=maybe', dan)).status).toBe(400);
    expect((await api('get', '/approvals?kind=other', dan)).status).toBe(400);
  });
});
