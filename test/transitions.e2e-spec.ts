import request from 'supertest';
import { auth, registerVersion, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

describe('stage transitions and approvals (e2e)', () => {
  let t: TestApp;
  let alice: string; // editor, requests
  let carol: string; // another editor
  let bob: string; // approver
  let dave: string; // approver
  let viewer: string;
  let admin: string;

  const stage = (token: string, name: string, version: number, body: Record<string, unknown>) =>
    request(t.http)
      .post(`${BASE}/models/${name}/versions/${version}/stage`)
      .set(...auth(token))
      .send(body);
  const decide = (
    token: string,
    id: string,
    action: 'approve' | 'reject' | 'cancel',
    body: Record<string, unknown> = {},
  ) =>
    request(t.http)
      .post(`${BASE}/approvals/${id}/${action}`)
      .set(...auth(token))
      .send(body);
  const version = async (name: string, v: number) =>
    (
      await request(t.http)
        .get(`${BASE}/models/${name}/versions/${v}`)
        .set(...auth(viewer))
        .expect(200)
    ).body;
  const history = async (name: string, v: number) =>
    (
      await request(t.http)
        .get(`${BASE}/models/${name}/versions/${v}/transitions`)
        .set(...auth(viewer))
        .expect(200)
    ).body.transitions;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await t.token('alice', ['editor']);
    carol = await t.token('carol', ['editor']);
    bob = await t.token('bob', ['approver']);
    dave = await t.token('dave', ['approver']);
    viewer = await t.token('victor', ['viewer']);
    admin = await t.token('root', ['admin']);
    for (let i = 0; i < 3; i++) await registerVersion(t, alice, 'churn-predictor');
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('applies none, staging and archived at once and records each in the history', async () => {
    const res = await stage(alice, 'churn-predictor', 3, {
      stage: 'staging',
      comment: 'candidate',
    }).expect(200);
    expect(res.body).toMatchObject({ name: 'churn-predictor', version: 3, stage: 'staging' });
    // a read right after the write sees it (the cache was invalidated)
    expect((await version('churn-predictor', 3)).stage).toBe('staging');
    const list = await request(t.http)
      .get(`${BASE}/models`)
      .set(...auth(viewer))
      .expect(200);
    expect(list.body.models[0]).toMatchObject({
      name: 'churn-predictor',
      staging_version: 3,
      latest_version: 3,
    });

    await stage(alice, 'churn-predictor', 1, { stage: 'ARCHIVED' }).expect(200);
    await stage(alice, 'churn-predictor', 1, { stage: 'none' }).expect(200);
    const h = await history('churn-predictor', 3);
    expect(h.map((e: { event: string }) => e.event)).toEqual(['registered', 'transition']);
    expect(h[1]).toMatchObject({
      from_stage: 'none',
      to_stage: 'staging',
      actor: 'alice',
      comment: 'candidate',
      approval_id: null,
    });
    expect(
      (await history('churn-predictor', 1)).map((e: { to_stage: string }) => e.to_stage),
    ).toEqual(['none', 'archived', 'none']);
  });

  it('409 for the stage a version already has; 400 for unknown stages and misplaced flags', async () => {
    const same = await stage(alice, 'churn-predictor', 3, { stage: 'staging' }).expect(409);
    expect(same.body).toMatchObject({ code: 'STAGE_UNCHANGED', details: { stage: 'staging' } });
    const bad = await stage(alice, 'churn-predictor', 3, { stage: 'canary' }).expect(400);
    expect(bad.body.message).toBe('stage must be one of none, staging, production, archived');
    const missing = await stage(alice, 'churn-predictor', 3, {}).expect(400);
    expect(missing.body.message).toBe('stage must be one of none, staging, production, archived');
    const flag = await stage(alice, 'churn-predictor', 2, {
      stage: 'archived',
      archive_existing_versions: true,
    }).expect(400);
    expect(flag.body.message).toBe(
      'archive_existing_versions applies only to staging or production',
    );
    await stage(alice, 'churn-predictor', 2, {
      stage: 'staging',
      archive_existing_versions: 'yes',
    }).expect(400);
    await stage(alice, 'churn-predictor', 9, { stage: 'staging' }).expect(404);
    await stage(viewer, 'churn-predictor', 2, { stage: 'staging' }).expect(403);
    await stage(bob, 'churn-predictor', 2, { stage: 'production' }).expect(403);
  });

  it('turns a production transition into a pending approval request (202 + Location)', async () => {
    const res = await stage(alice, 'churn-predictor', 3, {
      stage: 'production',
      comment: 'Validated on holdout set with 0.91 F1 score',
    }).expect(202);
    const approval = res.body.approval;
    expect(approval).toMatchObject({
      model: 'churn-predictor',
      version: 3,
      target_stage: 'production',
      status: 'pending',
      requested_by: 'alice',
      comment: 'Validated on holdout set with 0.91 F1 score',
      archive_existing_versions: true,
      apply_state: 'none',
    });
    expect(res.headers.location).toBe(`${BASE}/approvals/${approval.id}`);
    const fetched = await request(t.http)
      .get(res.headers.location)
      .set(...auth(viewer))
      .expect(200);
    expect(fetched.body).toEqual(approval);
    // the version did not move
    expect((await version('churn-predictor', 3)).stage).toBe('staging');

    const second = await stage(carol, 'churn-predictor', 3, { stage: 'production' }).expect(409);
    expect(second.body.code).toBe('APPROVAL_ALREADY_PENDING');
    expect(second.body.message).toContain(approval.id);
    expect(second.body.details).toEqual({ approval_id: approval.id });

    const pending = await request(t.http)
      .get(`${BASE}/approvals?status=pending`)
      .set(...auth(bob))
      .expect(200);
    expect(pending.body.approvals.map((a: { id: string }) => a.id)).toEqual([approval.id]);
  });

  it('enforces four eyes and the approver role', async () => {
    const [pending] = (
      await request(t.http)
        .get(`${BASE}/approvals?status=pending`)
        .set(...auth(bob))
        .expect(200)
    ).body.approvals;
    const own = await decide(
      await t.token('alice', ['editor', 'approver']),
      pending.id,
      'approve',
    ).expect(403);
    expect(own.body.code).toBe('FOUR_EYES_VIOLATION');
    const ownAdmin = await decide(await t.token('alice', ['admin']), pending.id, 'approve').expect(
      403,
    );
    expect(ownAdmin.body.code).toBe('FOUR_EYES_VIOLATION');
    await decide(carol, pending.id, 'approve').expect(403);
    await decide(viewer, pending.id, 'approve').expect(403);
    await decide(carol, pending.id, 'cancel').expect(403);
  });

  it('approving moves the version to production, archives the previous one, and records both people', async () => {
    // version 1 is in production first, through its own approval
    const first = (await stage(alice, 'churn-predictor', 1, { stage: 'production' }).expect(202))
      .body.approval;
    const approved1 = await decide(bob, first.id, 'approve', { comment: 'ok' }).expect(200);
    expect(approved1.body.version.stage).toBe('production');

    const [pending] = (
      await request(t.http)
        .get(`${BASE}/approvals?status=pending&model=churn-predictor`)
        .set(...auth(bob))
        .expect(200)
    ).body.approvals;
    expect(pending.version).toBe(3);
    const res = await decide(dave, pending.id, 'approve', {
      comment: 'Holdout results reviewed',
    }).expect(200);
    expect(res.body.approval).toMatchObject({
      id: pending.id,
      status: 'approved',
      decided_by: 'dave',
      decision_comment: 'Holdout results reviewed',
      apply_state: 'applied',
    });
    expect(res.body.approval.applied_at).toEqual(expect.any(String));
    expect(res.body.version).toMatchObject({ version: 3, stage: 'production' });
    expect((await version('churn-predictor', 1)).stage).toBe('archived');
    const model = await request(t.http)
      .get(`${BASE}/models`)
      .set(...auth(viewer))
      .expect(200);
    expect(model.body.models[0]).toMatchObject({ production_version: 3, staging_version: null });

    const h3 = await history('churn-predictor', 3);
    expect(h3.map((e: { event: string }) => e.event)).toEqual([
      'registered',
      'transition',
      'approval_requested',
      'approval_approved',
      'transition',
    ]);
    expect(h3[4]).toMatchObject({
      from_stage: 'staging',
      to_stage: 'production',
      actor: 'dave',
      requested_by: 'alice',
      approved_by: 'dave',
      approval_id: pending.id,
      comment: 'Holdout results reviewed',
    });
    const h1 = await history('churn-predictor', 1);
    expect(h1[h1.length - 1]).toMatchObject({
      from_stage: 'production',
      to_stage: 'archived',
      actor: 'dave',
      approval_id: pending.id,
    });
    for (const e of h3) expect(Date.parse(e.timestamp)).not.toBeNaN();
  });

  it('409 for any decision on a request that is no longer pending', async () => {
    const [done] = (
      await request(t.http)
        .get(`${BASE}/approvals?status=approved`)
        .set(...auth(bob))
        .expect(200)
    ).body.approvals;
    for (const [token, action, body] of [
      [bob, 'approve', {}],
      [bob, 'reject', { comment: 'late' }],
      [alice, 'cancel', {}],
    ] as const) {
      const res = await decide(token, done.id, action, body).expect(409);
      expect(res.body).toMatchObject({
        code: 'APPROVAL_NOT_PENDING',
        details: { status: 'approved' },
      });
    }
  });

  it('keeps the previous production version with archive_existing_versions: false', async () => {
    const req = (
      await stage(alice, 'churn-predictor', 2, {
        stage: 'production',
        archive_existing_versions: false,
      }).expect(202)
    ).body.approval;
    expect(req.archive_existing_versions).toBe(false);
    await decide(bob, req.id, 'approve').expect(200);
    expect((await version('churn-predictor', 2)).stage).toBe('production');
    expect((await version('churn-predictor', 3)).stage).toBe('production');
    const list = await request(t.http)
      .get(`${BASE}/models`)
      .set(...auth(viewer))
      .expect(200);
    expect(list.body.models[0].production_version).toBe(3);
  });

  it('rejects with a required comment, and cancels by the requester or an admin', async () => {
    await registerVersion(t, alice, 'fraud');
    await registerVersion(t, alice, 'fraud');
    const r1 = (await stage(alice, 'fraud', 1, { stage: 'production' }).expect(202)).body.approval;
    const noComment = await decide(bob, r1.id, 'reject', {}).expect(400);
    expect(noComment.body.message).toBe('comment is required and must be a string');
    await decide(bob, r1.id, 'reject', { comment: '' }).expect(400);
    const rejected = await decide(bob, r1.id, 'reject', { comment: 'F1 regression on EU' }).expect(
      200,
    );
    expect(rejected.body.approval).toMatchObject({
      status: 'rejected',
      decided_by: 'bob',
      decision_comment: 'F1 regression on EU',
    });
    expect(rejected.body.version.stage).toBe('none');

    const r2 = (await stage(alice, 'fraud', 1, { stage: 'production' }).expect(202)).body.approval;
    const cancelled = await decide(alice, r2.id, 'cancel', { comment: 'wrong version' }).expect(
      200,
    );
    expect(cancelled.body.approval).toMatchObject({ status: 'cancelled', decided_by: 'alice' });
    const r3 = (await stage(alice, 'fraud', 2, { stage: 'production' }).expect(202)).body.approval;
    await decide(admin, r3.id, 'cancel').expect(200);

    const events = (await history('fraud', 1)).map(
      (e: { event: string; actor: string }) => `${e.event}:${e.actor}`,
    );
    expect(events).toEqual([
      'registered:alice',
      'approval_requested:alice',
      'approval_rejected:bob',
      'approval_requested:alice',
      'approval_cancelled:alice',
    ]);
    const all = await request(t.http)
      .get(`${BASE}/approvals?model=fraud`)
      .set(...auth(viewer))
      .expect(200);
    expect(all.body.approvals.map((a: { status: string }) => a.status)).toEqual([
      'cancelled',
      'cancelled',
      'rejected',
    ]);
  });

  it('of two approvers racing on one request exactly one wins; the transition applies once', async () => {
    await registerVersion(t, alice, 'raced');
    const req = (await stage(alice, 'raced', 1, { stage: 'production' }).expect(202)).body.approval;
    const approvers = await Promise.all(
      ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((s) => t.token(s, ['approver'])),
    );
    const results = await Promise.all(
      approvers.map((token, i) =>
        i % 2 === 0
          ? decide(token, req.id, 'approve')
          : decide(token, req.id, 'reject', { comment: 'no' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(5);
    const winner = results.find((r) => r.status === 200)!;
    const final = await request(t.http)
      .get(`${BASE}/approvals/${req.id}`)
      .set(...auth(viewer))
      .expect(200);
    expect(final.body.decided_by).toBe(winner.body.approval.decided_by);
    const decisions = (await history('raced', 1)).filter((e: { event: string }) =>
      ['approval_approved', 'approval_rejected', 'transition'].includes(e.event),
    );
    expect(decisions.filter((e: { event: string }) => e.event !== 'transition')).toHaveLength(1);
    expect(decisions.filter((e: { event: string }) => e.event === 'transition')).toHaveLength(
      final.body.status === 'approved' ? 1 : 0,
    );
  });

  it('hides approvals of other tenants behind 404 and validates ids and filters', async () => {
    const globex = await t.token('eve', ['admin'], 'globex');
    const [any] = (
      await request(t.http)
        .get(`${BASE}/approvals`)
        .set(...auth(viewer))
        .expect(200)
    ).body.approvals;
    for (const action of ['approve', 'reject', 'cancel'] as const) {
      const res = await decide(globex, any.id, action, { comment: 'x' }).expect(404);
      expect(res.body.code).toBe('APPROVAL_NOT_FOUND');
    }
    await request(t.http)
      .get(`${BASE}/approvals/${any.id}`)
      .set(...auth(globex))
      .expect(404);
    const theirs = await request(t.http)
      .get(`${BASE}/approvals`)
      .set(...auth(globex))
      .expect(200);
    expect(theirs.body.approvals).toEqual([]);
    expect(
      (
        await request(t.http)
          .get(`${BASE}/approvals/not-a-uuid`)
          .set(...auth(viewer))
          .expect(400)
      ).body.message,
    ).toBe('id must be a UUID');
    await request(t.http)
      .get(`${BASE}/approvals?status=maybe`)
      .set(...auth(viewer))
      .expect(400);
    await request(t.http).get(`${BASE}/approvals/${any.id}`).expect(401);
  });

  it('pages through approvals newest first', async () => {
    const all = (
      await request(t.http)
        .get(`${BASE}/approvals`)
        .set(...auth(viewer))
        .expect(200)
    ).body.approvals;
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await request(t.http)
        .get(`${BASE}/approvals`)
        .query({ max_results: 2, ...(token ? { page_token: token } : {}) })
        .set(...auth(viewer))
        .expect(200);
      paged.push(...page.body.approvals.map((a: { id: string }) => a.id));
      token = page.body.next_page_token;
    } while (token);
    expect(paged).toEqual(all.map((a: { id: string }) => a.id));
    const times = all.map((a: { requested_at: string }) => Date.parse(a.requested_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('deleting a version cancels its pending request and keeps its history', async () => {
    await registerVersion(t, alice, 'short-lived');
    const req = (await stage(alice, 'short-lived', 1, { stage: 'production' }).expect(202)).body
      .approval;
    await request(t.http)
      .delete(`${BASE}/models/short-lived/versions/1`)
      .set(...auth(admin))
      .expect(204);
    const after = await request(t.http)
      .get(`${BASE}/approvals/${req.id}`)
      .set(...auth(viewer))
      .expect(200);
    expect(after.body).toMatchObject({
      status: 'cancelled',
      decided_by: 'root',
      decision_comment: 'version deleted',
    });
    await decide(bob, req.id, 'approve').expect(409);
  });

  describe('people are (tenant, sub): an admin of another tenant may share a sub', () => {
    const ACME = 'acme-corp';
    let globexAlice: string; // admin of globex, acting on acme with ?tenant_id=
    let acmeAliceApprover: string; // acme's alice, who also holds the approver role
    const on = (tenant: string) => ({ tenant_id: tenant });
    const requestIn = (token: string, v: number) =>
      stage(token, 'twins', v, { stage: 'production' }).query(on(ACME)).expect(202);
    const decideIn = (
      token: string,
      id: string,
      action: 'approve' | 'reject' | 'cancel',
      body: Record<string, unknown> = {},
    ) => decide(token, id, action, body).query(on(ACME));
    const person = (e: Record<string, unknown>, who: string) => [e[who], e[`${who}_tenant`]];

    beforeAll(async () => {
      globexAlice = await t.token('alice', ['admin'], 'globex');
      acmeAliceApprover = await t.token('alice', ['editor', 'approver']);
      for (let i = 0; i < 3; i++) await registerVersion(t, alice, 'twins');
      // version 4 registered by globex's alice on acme
      const up = await upload(t, globexAlice).query(on(ACME)).expect(201);
      await request(t.http)
        .post(`${BASE}/models`)
        .query(on(ACME))
        .set(...auth(globexAlice))
        .send({ name: 'twins', artifact_id: up.body.artifact_id })
        .expect(201);
    });

    it("four eyes lets globex's alice approve a request of acme's alice, and shows both tenants", async () => {
      const approval = (await requestIn(alice, 1)).body.approval;
      expect(approval).toMatchObject({ requested_by: 'alice', requested_by_tenant: ACME });
      expect(approval.decided_by_tenant).toBeNull();
      const res = await decideIn(globexAlice, approval.id, 'approve', { comment: 'ok' }).expect(
        200,
      );
      expect(res.body.approval).toMatchObject({
        status: 'approved',
        requested_by: 'alice',
        requested_by_tenant: ACME,
        decided_by: 'alice',
        decided_by_tenant: 'globex',
        apply_state: 'applied',
      });
      expect(res.body.version.stage).toBe('production');
      const got = await request(t.http)
        .get(`${BASE}/approvals/${approval.id}`)
        .set(...auth(viewer))
        .expect(200);
      expect(got.body).toEqual(res.body.approval);

      const h = await history('twins', 1);
      expect(h.map((e: Record<string, unknown>) => [e.event, ...person(e, 'actor')])).toEqual([
        ['registered', 'alice', ACME],
        ['approval_requested', 'alice', ACME],
        ['approval_approved', 'alice', 'globex'],
        ['transition', 'alice', 'globex'],
      ]);
      const applied = h[3];
      expect(person(applied, 'requested_by')).toEqual(['alice', ACME]);
      expect(person(applied, 'approved_by')).toEqual(['alice', 'globex']);
      expect(person(h[0], 'requested_by')).toEqual([null, null]);
      expect(person(h[0], 'approved_by')).toEqual([null, null]);
    });

    it("globex's alice may reject it too; acme's alice still may not decide her own", async () => {
      const approval = (await requestIn(alice, 2)).body.approval;
      for (const action of ['approve', 'reject'] as const) {
        const own = await decide(acmeAliceApprover, approval.id, action, {
          comment: 'mine',
        }).expect(403);
        expect(own.body.code).toBe('FOUR_EYES_VIOLATION');
      }
      const res = await decideIn(globexAlice, approval.id, 'reject', { comment: 'not yet' }).expect(
        200,
      );
      expect(res.body.approval).toMatchObject({
        status: 'rejected',
        decided_by: 'alice',
        decided_by_tenant: 'globex',
      });
      const last = (await history('twins', 2)).at(-1);
      expect([last.event, ...person(last, 'actor')]).toEqual([
        'approval_rejected',
        'alice',
        'globex',
      ]);
    });

    it("a request of globex's alice: she may not decide it, acme's alice may not cancel it but may approve it", async () => {
      const approval = (await requestIn(globexAlice, 3)).body.approval;
      expect(approval).toMatchObject({ requested_by: 'alice', requested_by_tenant: 'globex' });
      const own = await decideIn(globexAlice, approval.id, 'approve').expect(403);
      expect(own.body.code).toBe('FOUR_EYES_VIOLATION');
      // not the requester (another tenant's alice) and not an admin
      const cancel = await decide(acmeAliceApprover, approval.id, 'cancel').expect(403);
      expect(cancel.body.code).toBe('FORBIDDEN');
      const res = await decide(acmeAliceApprover, approval.id, 'approve').expect(200);
      expect(res.body.approval).toMatchObject({
        status: 'approved',
        requested_by_tenant: 'globex',
        decided_by: 'alice',
        decided_by_tenant: ACME,
      });
      const h = await history('twins', 3);
      expect(person(h.at(-1), 'requested_by')).toEqual(['alice', 'globex']);
      expect(person(h.at(-1), 'approved_by')).toEqual(['alice', ACME]);
    });

    it("globex's alice cancels acme's alice's request as an admin, and the record says who", async () => {
      const h4 = await history('twins', 4);
      expect([h4[0].event, ...person(h4[0], 'actor')]).toEqual(['registered', 'alice', 'globex']);
      const approval = (await requestIn(alice, 4)).body.approval;
      const res = await decideIn(globexAlice, approval.id, 'cancel').expect(200);
      expect(res.body.approval).toMatchObject({
        status: 'cancelled',
        decided_by: 'alice',
        decided_by_tenant: 'globex',
      });
      const last = (await history('twins', 4)).at(-1);
      expect([last.event, ...person(last, 'actor')]).toEqual([
        'approval_cancelled',
        'alice',
        'globex',
      ]);
    });
  });

  it('finds an approval by its id in uppercase (a UUID is case-insensitive), to read and decide', async () => {
    for (let i = 0; i < 3; i++) await registerVersion(t, alice, 'shouting');
    const open = async (v: number) =>
      (await stage(alice, 'shouting', v, { stage: 'production' }).expect(202)).body.approval;
    const first = await open(1);
    const upper = first.id.toUpperCase();
    expect(upper).not.toBe(first.id);
    const got = await request(t.http)
      .get(`${BASE}/approvals/${upper}`)
      .set(...auth(viewer))
      .expect(200);
    expect(got.body).toEqual(first);
    const approved = await decide(bob, upper, 'approve').expect(200);
    expect(approved.body.approval).toMatchObject({ id: first.id, status: 'approved' });
    const second = await open(2);
    const rejected = await decide(bob, second.id.toUpperCase(), 'reject', {
      comment: 'no',
    }).expect(200);
    expect(rejected.body.approval).toMatchObject({ id: second.id, status: 'rejected' });
    const third = await open(3);
    const cancelled = await decide(alice, third.id.toUpperCase(), 'cancel').expect(200);
    expect(cancelled.body.approval).toMatchObject({ id: third.id, status: 'cancelled' });
  });

  it('a comment of only whitespace is no comment: a rejection needs a real one, others store null', async () => {
    for (let i = 0; i < 3; i++) await registerVersion(t, alice, 'blank');
    const blanks = ['', '   ', '\t\n \u00a0'];
    // a direct transition
    await stage(alice, 'blank', 1, { stage: 'staging', comment: '  \n' }).expect(200);
    // a production request
    const req = (
      await stage(alice, 'blank', 1, { stage: 'production', comment: ' \t ' }).expect(202)
    ).body.approval;
    expect(req.comment).toBeNull();
    // a rejection must say why
    for (const comment of blanks) {
      const res = await decide(bob, req.id, 'reject', { comment }).expect(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'comment must contain more than whitespace',
      });
    }
    // an approval's optional comment
    const approved = await decide(bob, req.id, 'approve', { comment: '   ' }).expect(200);
    expect(approved.body.approval).toMatchObject({ status: 'approved', decision_comment: null });
    // and the history of all of them says no comment
    expect(
      (await history('blank', 1)).map((e: { event: string; comment: unknown }) => [
        e.event,
        e.comment,
      ]),
    ).toEqual([
      ['registered', null],
      ['transition', null],
      ['approval_requested', null],
      ['approval_approved', null],
      ['transition', null],
    ]);
    // a cancellation's optional comment
    const other = (await stage(alice, 'blank', 2, { stage: 'production' }).expect(202)).body
      .approval;
    const cancelled = await decide(alice, other.id, 'cancel', { comment: ' ' }).expect(200);
    expect(cancelled.body.approval).toMatchObject({ status: 'cancelled', decision_comment: null });
    // a comment with text is kept as written
    const kept = (
      await stage(alice, 'blank', 3, { stage: 'production', comment: '  ok  ' }).expect(202)
    ).body.approval;
    expect(kept.comment).toBe('  ok  ');
  });
});
