import request from 'supertest';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/**
 * Protected aliases: setting or moving one is an approval request decided exactly as a
 * production request (four eyes, votes, gates), on the embedded default and the real stack.
 */
describe('protected aliases (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let admin: string;
  let bob: string;
  let dave: string;
  let seq = 0;

  const api = (method: 'get' | 'put' | 'post' | 'delete', path: string, token: string) =>
    request(t.http)
      [method](`${BASE}${path}`)
      .set(...auth(token));
  const model = () => `protected-${(seq += 1)}`;
  const setAlias = (name: string, alias: string, version: number, token = editor) =>
    api('put', `/models/${name}/aliases/${alias}`, token).send({ version, comment: 'A/B winner' });

  beforeAll(async () => {
    t = await createTestApp();
    editor = await t.token('alice', ['editor', 'approver']);
    admin = await t.token('carol', ['admin']);
    bob = await t.token('bob', ['approver']);
    dave = await t.token('dave', ['approver']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  afterEach(async () => {
    await api('delete', '/policies/production', admin);
  });

  it('@champion (the default) is a request: four eyes, then set by the approver', async () => {
    const name = model();
    const v = await registerVersion(t, editor, name, { metrics: { f1_score: 0.9 } });
    const asked = await setAlias(name, 'champion', v.version);
    expect(asked.status).toBe(202);
    expect(asked.headers.location).toBe(`${BASE}/approvals/${asked.body.approval.id}`);
    expect(asked.body.approval).toMatchObject({
      status: 'pending',
      kind: 'promotion',
      target_alias: 'champion',
      version: v.version,
      comment: 'A/B winner',
      artifact_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const id = asked.body.approval.id as string;
    expect((await api('get', `/models/${name}/aliases/champion`, editor)).status).toBe(404);
    // A second request for the same alias and version waits for the first; production may too.
    expect((await setAlias(name, 'champion', v.version)).body.code).toBe(
      'APPROVAL_ALREADY_PENDING',
    );
    const production = await api(
      'post',
      `/models/${name}/versions/${v.version}/stage`,
      editor,
    ).send({
      stage: 'production',
    });
    expect(production.status).toBe(202);
    // The requester (an approver too) may not decide.
    expect((await api('post', `/approvals/${id}/approve`, editor).send({})).body.code).toBe(
      'FOUR_EYES_VIOLATION',
    );
    const approved = await api('post', `/approvals/${id}/approve`, bob).send({});
    expect(approved.status).toBe(200);
    expect(approved.body.approval).toMatchObject({ status: 'approved', apply_state: 'applied' });
    expect(approved.body.version).toMatchObject({ aliases: ['champion'], stage: 'none' });
    const pointed = await api('get', `/models/${name}/aliases/champion`, editor);
    expect(pointed.body.version).toBe(v.version);
    const history = (await api('get', `/models/${name}/versions/${v.version}/transitions`, editor))
      .body.transitions as { event: string; actor: string }[];
    expect(history.find((e) => e.event === 'alias_set')?.actor).toBe('bob');
    // Set again to the version it names: nothing to approve.
    expect((await setAlias(name, 'champion', v.version)).status).toBe(200);
    // An unprotected alias is set at once.
    expect((await setAlias(name, 'shadow', v.version)).status).toBe(200);
  });

  it("the production policy's protected_aliases, votes and gates apply to alias requests", async () => {
    const name = model();
    const low = await registerVersion(t, editor, name, { metrics: { f1_score: 0.7 } });
    const good = await registerVersion(t, editor, name, { metrics: { f1_score: 0.95 } });
    const policy = await api('put', '/policies/production', admin).send({
      protected_aliases: ['prod'],
      required_approvals: 2,
      gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
    });
    expect(policy.body.protected_aliases).toEqual(['prod']);
    // champion is no longer protected under this policy.
    expect((await setAlias(name, 'champion', low.version)).status).toBe(200);
    const refused = await setAlias(name, 'prod', low.version);
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('GATES_FAILED');
    const asked = await setAlias(name, 'prod', good.version);
    expect(asked.status).toBe(202);
    expect(asked.body.approval.required_approvals).toBe(2);
    const id = asked.body.approval.id as string;
    const first = await api('post', `/approvals/${id}/approve`, bob).send({});
    expect(first.body.approval.status).toBe('pending');
    expect((await api('get', `/models/${name}/aliases/prod`, editor)).status).toBe(404);
    const second = await api('post', `/approvals/${id}/approve`, dave).send({});
    expect(second.body.approval).toMatchObject({ status: 'approved', apply_state: 'applied' });
    expect((await api('get', `/models/${name}/aliases/prod`, editor)).body.version).toBe(
      good.version,
    );
    const listed = await api('get', `/approvals?model=${name}`, editor);
    expect(listed.body.approvals[0].target_alias).toBe('prod');
    expect(
      (await api('put', '/policies/production', admin).send({ protected_aliases: ['Bad'] })).status,
    ).toBe(400);
  });
});
