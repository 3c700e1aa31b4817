import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { Database } from '../src/database/database';
import { DeliveryRetention } from '../src/events/delivery-retention';
import { auth, registerVersion, upload } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';
import { eventually, WebhookReceiver } from './webhooks-receiver';

/** The receiver's side: the signature must verify with the secret, as `standardwebhooks` does it. */
function verify(secret: string, r: { body: string; headers: Record<string, string> }): unknown {
  return new Webhook(secret).verify(r.body, r.headers);
}

const FAST = {
  WEBHOOKS_ALLOW_HTTP: 'true',
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOKS_POLL_INTERVAL_MS: '50',
  WEBHOOKS_RETRY_BASE_MS: '100',
  WEBHOOKS_TIMEOUT_MS: '1500',
};

describe('webhooks: signed events from the outbox (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let alice: string;
  let receiver: WebhookReceiver;

  const api = () => request(t.http);
  const subscribe = async (url: string, events: string[] = ['*']) =>
    (
      await api()
        .post(`${BASE}/webhooks`)
        .set(...auth(admin))
        .send({ url, events })
        .expect(201)
    ).body as { id: string; secret: string };
  const deliveries = async (id: string) =>
    (
      await api()
        .get(`${BASE}/webhooks/${id}/deliveries`)
        .set(...auth(admin))
        .expect(200)
    ).body.deliveries as Record<string, unknown>[];
  const removeHook = (id: string) =>
    api()
      .delete(`${BASE}/webhooks/${id}`)
      .set(...auth(admin))
      .expect(204);

  beforeAll(async () => {
    t = await createTestApp({ env: FAST });
    admin = await t.token('root', ['admin']);
    alice = await t.token('alice', ['editor']);
    receiver = await new WebhookReceiver().start();
  });

  afterAll(async () => {
    await t.close();
    await receiver.stop();
    removeDir(t.dataDir);
  });

  beforeEach(() => {
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 204 });
  });

  describe('subscriptions', () => {
    it('POST answers the secret once; GET, list and PATCH never show it', async () => {
      const res = await api()
        .post(`${BASE}/webhooks`)
        .set(...auth(admin))
        .send({ url: receiver.url, events: ['model.created'], description: 'ci' })
        .expect(201);
      expect(res.body).toMatchObject({
        url: receiver.url,
        events: ['model.created'],
        description: 'ci',
        active: true,
      });
      expect(res.body.id).toMatch(/^wh_/);
      expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/);
      expect(Buffer.from(res.body.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
      const one = await api()
        .get(`${BASE}/webhooks/${res.body.id}`)
        .set(...auth(admin))
        .expect(200);
      expect(one.body.secret).toBeUndefined();
      const list = await api()
        .get(`${BASE}/webhooks`)
        .set(...auth(admin))
        .expect(200);
      expect(list.body.webhooks.map((w: { id: string }) => w.id)).toContain(res.body.id);
      expect(JSON.stringify(list.body)).not.toContain(res.body.secret);
      const patched = await api()
        .patch(`${BASE}/webhooks/${res.body.id}`)
        .set(...auth(admin))
        .send({ events: ['*'], active: false })
        .expect(200);
      expect(patched.body).toMatchObject({ events: ['*'], active: false });
      expect(patched.body.secret).toBeUndefined();
      await removeHook(res.body.id);
      await api()
        .get(`${BASE}/webhooks/${res.body.id}`)
        .set(...auth(admin))
        .expect(404)
        .expect((r) => expect(r.body.code).toBe('WEBHOOK_NOT_FOUND'));
    });

    it('an unknown event type is a 400 naming the field; an editor is 403; another tenant 404', async () => {
      const bad = await api()
        .post(`${BASE}/webhooks`)
        .set(...auth(admin))
        .send({ url: receiver.url, events: ['model.created', 'model.exploded'] })
        .expect(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
      expect(bad.body.message).toMatch(/events/);
      await api()
        .post(`${BASE}/webhooks`)
        .set(...auth(admin))
        .send({ url: receiver.url, events: [] })
        .expect(400)
        .expect((r) => expect(r.body.message).toMatch(/events/));
      await api()
        .post(`${BASE}/webhooks`)
        .set(...auth(alice))
        .send({ url: receiver.url, events: ['*'] })
        .expect(403);
      const hook = await subscribe(receiver.url);
      const other = await t.token('eve', ['admin'], 'globex');
      await api()
        .get(`${BASE}/webhooks/${hook.id}`)
        .set(...auth(other))
        .expect(404);
      await api()
        .post(`${BASE}/webhooks/${hook.id}/test`)
        .set(...auth(other))
        .expect(404);
      await removeHook(hook.id);
    });
  });

  it('every wired event type comes from the real workflow, signed and verifiable', async () => {
    const hook = await subscribe(receiver.url);
    const up = await upload(t, alice).expect(201);
    await api()
      .post(`${BASE}/models`)
      .set(...auth(alice))
      .send({ name: 'hooked', artifact_id: up.body.artifact_id })
      .expect(201);
    await registerVersion(t, alice, 'hooked');
    await api()
      .patch(`${BASE}/models/hooked/versions/1`)
      .set(...auth(alice))
      .send({ description: 'better' })
      .expect(200);
    await api()
      .post(`${BASE}/models/hooked/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'staging', comment: 'try it' })
      .expect(200);
    await api()
      .delete(`${BASE}/models/hooked/versions/2`)
      .set(...auth(admin))
      .expect(204);
    await api()
      .delete(`${BASE}/models/hooked`)
      .set(...auth(admin))
      .expect(204);
    const expected = [
      'model.created',
      'model_version.created',
      'model_version.created',
      'model_version.updated',
      'model_version.stage_changed',
      'model_version.deleted',
      'model.deleted',
    ];
    await receiver.waitFor(
      (r) => r.filter((x) => !x.body.includes('artifact.uploaded')).length >= expected.length,
    );
    for (const r of receiver.received) verify(hook.secret, r);
    const events = receiver.events();
    const types = events.map((e) => e.type);
    expect(types.filter((ty) => ty !== 'artifact.uploaded')).toEqual(expected);
    expect(types.filter((ty) => ty === 'artifact.uploaded')).toHaveLength(2);
    for (const e of events) {
      expect(e.id).toMatch(/^evt_/);
      expect(e.tenant_id).toBe('acme-corp');
      expect(receiver.received[events.indexOf(e)].headers['webhook-id']).toBe(e.id);
    }
    const uploaded = events.find((e) => e.type === 'artifact.uploaded')!;
    expect(uploaded.data).toMatchObject({ artifact_id: up.body.artifact_id, created_by: 'alice' });
    expect(events.find((e) => e.type === 'model.created')!.data).toMatchObject({
      name: 'hooked',
    });
    expect(events.find((e) => e.type === 'model_version.created')!.data).toMatchObject({
      name: 'hooked',
      version: 1,
      stage: 'none',
      artifact_id: up.body.artifact_id,
    });
    expect(events.find((e) => e.type === 'model_version.updated')!.data).toMatchObject({
      version: 1,
      description: 'better',
    });
    expect(events.find((e) => e.type === 'model_version.stage_changed')!.data).toMatchObject({
      name: 'hooked',
      version: 1,
      stage: 'staging',
      from_stage: 'none',
      to_stage: 'staging',
      actor: 'alice',
      actor_tenant: 'acme-corp',
      comment: 'try it',
    });
    expect(events.find((e) => e.type === 'model_version.deleted')!.data).toMatchObject({
      version: 2,
      actor: 'root',
    });
    expect(events.find((e) => e.type === 'model.deleted')!.data).toMatchObject({
      name: 'hooked',
      actor: 'root',
    });
    const log = await deliveries(hook.id);
    expect(log).toHaveLength(events.length);
    expect(log.every((d) => d.status === 'succeeded' && d.attempts === 1)).toBe(true);
    expect(log[0]).toMatchObject({ last_response_code: 204, next_attempt_at: null });
    await removeHook(hook.id);
  });

  it('the approval workflow announces requests, votes, decisions, expiry and the applied move', async () => {
    const types = [
      'approval.requested',
      'approval.vote_added',
      'approval.approved',
      'approval.rejected',
      'approval.cancelled',
      'approval.expired',
      'approval.applied',
      'model_version.stage_changed',
    ];
    const hook = await subscribe(receiver.url, types);
    const bob = await t.token('bob', ['approver']);
    const dave = await t.token('dave', ['approver']);
    const name = 'governed-hooks';
    await registerVersion(t, alice, name);
    await registerVersion(t, alice, name);
    await registerVersion(t, alice, name);
    await api()
      .put(`${BASE}/models/${name}/policies/production`)
      .set(...auth(admin))
      .send({ required_approvals: 2 })
      .expect(200);
    const ask = async (v: number) =>
      (
        await api()
          .post(`${BASE}/models/${name}/versions/${v}/stage`)
          .set(...auth(alice))
          .send({ stage: 'production', comment: 'ship' })
          .expect(202)
      ).body.approval.id as string;
    const first = await ask(1);
    await api()
      .post(`${BASE}/approvals/${first}/approve`)
      .set(...auth(bob))
      .send({})
      .expect(200);
    await api()
      .post(`${BASE}/approvals/${first}/approve`)
      .set(...auth(dave))
      .send({})
      .expect(200);
    const second = await ask(2);
    await api()
      .post(`${BASE}/approvals/${second}/reject`)
      .set(...auth(bob))
      .send({ comment: 'not yet' })
      .expect(200);
    const third = await ask(2);
    await api()
      .post(`${BASE}/approvals/${third}/cancel`)
      .set(...auth(alice))
      .send({})
      .expect(200);
    await api()
      .put(`${BASE}/models/${name}/policies/production`)
      .set(...auth(admin))
      .send({ request_ttl_seconds: 1 })
      .expect(200);
    const fourth = await ask(3);
    await new Promise((r) => setTimeout(r, 1200));
    await api()
      .get(`${BASE}/approvals/${fourth}`)
      .set(...auth(alice))
      .expect(200);
    const expected = [
      ['approval.requested', first],
      ['approval.vote_added', first],
      ['approval.approved', first],
      ['model_version.stage_changed', undefined],
      ['approval.applied', first],
      ['approval.requested', second],
      ['approval.rejected', second],
      ['approval.requested', third],
      ['approval.cancelled', third],
      ['approval.requested', fourth],
      ['approval.expired', fourth],
    ];
    await receiver.waitFor((r) => r.length >= expected.length);
    for (const r of receiver.received) verify(hook.secret, r);
    const events = receiver.events();
    expect(events.map((e) => [e.type, (e.data as { id?: string }).id])).toEqual(expected);
    const data = (i: number) => events[i].data;
    expect(data(1)).toMatchObject({
      status: 'pending',
      required_approvals: 2,
      vote: { by: 'bob' },
    });
    expect(data(2)).toMatchObject({
      status: 'approved',
      decided_by: 'dave',
      approvals: [{ by: 'bob' }, { by: 'dave' }],
    });
    expect(data(3)).toMatchObject({
      name,
      version: 1,
      stage: 'production',
      from_stage: 'none',
      to_stage: 'production',
      actor: 'dave',
    });
    expect(data(4)).toMatchObject({ status: 'approved', apply_state: 'applied' });
    expect(data(6)).toMatchObject({ status: 'rejected', decision_comment: 'not yet' });
    expect(data(10)).toMatchObject({ status: 'expired' });
    await removeHook(hook.id);
  });

  it('policy changes are events: policy.updated and policy.deleted, signed', async () => {
    const hook = await subscribe(receiver.url, ['policy.updated', 'policy.deleted']);
    await registerVersion(t, alice, 'policy-hooks');
    await api()
      .put(`${BASE}/models/policy-hooks/policies/production`)
      .set(...auth(admin))
      .send({ required_approvals: 3 })
      .expect(200);
    await api()
      .delete(`${BASE}/models/policy-hooks/policies/production`)
      .set(...auth(admin))
      .expect(204);
    await receiver.waitFor((r) => r.length >= 2);
    for (const r of receiver.received) verify(hook.secret, r);
    const events = receiver.events();
    expect(events.map((e) => e.type)).toEqual(['policy.updated', 'policy.deleted']);
    expect(events[0].data).toMatchObject({
      stage: 'production',
      model: 'policy-hooks',
      required_approvals: 3,
      actor: 'root',
    });
    expect(events[1].data).toMatchObject({ stage: 'production', model: 'policy-hooks' });
    await removeHook(hook.id);
  });

  it('a webhook gets only the types it subscribed to', async () => {
    const hook = await subscribe(receiver.url, ['model_version.stage_changed']);
    await registerVersion(t, alice, 'picky');
    await api()
      .post(`${BASE}/models/picky/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'staging' })
      .expect(200);
    await receiver.waitFor((r) => r.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.events().map((e) => e.type)).toEqual(['model_version.stage_changed']);
    await removeHook(hook.id);
  });

  it('during a rotation both the old and the new secret verify; the test event is webhook.test', async () => {
    const hook = await subscribe(receiver.url);
    const rotated = await api()
      .post(`${BASE}/webhooks/${hook.id}/rotate-secret`)
      .set(...auth(admin))
      .expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(
      23.9 * 3600_000,
    );
    const test = await api()
      .post(`${BASE}/webhooks/${hook.id}/test`)
      .set(...auth(admin))
      .expect(202);
    expect(test.body).toMatchObject({ event_type: 'webhook.test', status: 'pending' });
    await receiver.waitFor((r) => r.length >= 1);
    const [got] = receiver.received;
    expect(JSON.parse(got.body).type).toBe('webhook.test');
    expect(got.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verify(hook.secret, got)).toMatchObject({ type: 'webhook.test' });
    expect(verify(rotated.body.secret, got)).toMatchObject({ type: 'webhook.test' });
    expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, got)).toThrow();
    // A tampered body fails with either secret.
    expect(() => verify(hook.secret, { ...got, body: got.body.replace('test', 'tost') })).toThrow();
    await removeHook(hook.id);
  });

  it('receiver down, then up: every event delivered after retries, in order per model', async () => {
    const down = new WebhookReceiver();
    await down.start();
    const port = down.port;
    await down.stop();
    const hook = await subscribe(`http://127.0.0.1:${port}/hooks`, [
      'model_version.created',
      'model_version.stage_changed',
    ]);
    await registerVersion(t, alice, 'ordered');
    for (const stage of ['staging', 'archived', 'none', 'staging']) {
      await api()
        .post(`${BASE}/models/ordered/versions/1/stage`)
        .set(...auth(alice))
        .send({ stage })
        .expect(200);
    }
    await registerVersion(t, alice, 'ordered');
    // Attempts are made, and fail, while nobody listens; the later events wait behind the first.
    const failing = await eventually(async () => {
      const log = await deliveries(hook.id);
      const first = log[log.length - 1];
      return (first.attempts as number) >= 2 ? log : undefined;
    });
    expect(failing.every((d) => d.status === 'pending')).toBe(true);
    expect(failing[failing.length - 1].last_error).toBeTruthy();
    expect(failing[failing.length - 1].next_attempt_at).toBeTruthy();
    expect(failing.slice(0, -1).every((d) => d.attempts === 0)).toBe(true);

    const up = new WebhookReceiver(port);
    await up.start();
    try {
      await up.waitFor((r) => r.length >= 6, 20_000);
      const events = up.events();
      expect(events.map((e) => [e.type, e.data['version'], e.data['stage']])).toEqual([
        ['model_version.created', 1, 'none'],
        ['model_version.stage_changed', 1, 'staging'],
        ['model_version.stage_changed', 1, 'archived'],
        ['model_version.stage_changed', 1, 'none'],
        ['model_version.stage_changed', 1, 'staging'],
        ['model_version.created', 2, 'none'],
      ]);
      const log = await eventually(async () => {
        const l = await deliveries(hook.id);
        return l.every((d) => d.status === 'succeeded') ? l : undefined;
      });
      expect(log).toHaveLength(6);
      expect(log[log.length - 1].attempts as number).toBeGreaterThanOrEqual(2);
    } finally {
      await up.stop();
      await removeHook(hook.id);
    }
  });

  it('5xx and 429 are retried (Retry-After honoured); a 410 disables the webhook', async () => {
    const hook = await subscribe(receiver.url);
    receiver.answer = (_r, i) =>
      i === 0
        ? { status: 503 }
        : i === 1
          ? { status: 429, headers: { 'retry-after': '1' } }
          : { status: 200 };
    await api()
      .post(`${BASE}/webhooks/${hook.id}/test`)
      .set(...auth(admin))
      .expect(202);
    await receiver.waitFor((r) => r.length >= 3);
    const [, second, third] = receiver.received;
    expect(third.at - second.at).toBeGreaterThanOrEqual(950);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const [delivered] = await deliveries(hook.id);
    expect(delivered).toMatchObject({ status: 'succeeded', attempts: 3, last_response_code: 200 });

    receiver.received.length = 0;
    receiver.answer = () => ({ status: 410 });
    await api()
      .post(`${BASE}/webhooks/${hook.id}/test`)
      .set(...auth(admin))
      .expect(202);
    const disabled = await eventually(async () => {
      const res = await api()
        .get(`${BASE}/webhooks/${hook.id}`)
        .set(...auth(admin))
        .expect(200);
      return res.body.active === false ? res.body : undefined;
    });
    expect(disabled.disabled_reason).toMatch(/410/);
    const [gone] = await deliveries(hook.id);
    expect(gone).toMatchObject({ status: 'failed', attempts: 1, last_response_code: 410 });
    // Disabled: further events wait, nothing is sent.
    receiver.answer = () => ({ status: 200 });
    await registerVersion(t, alice, 'after-gone');
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.received).toHaveLength(1);
    await removeHook(hook.id);
  });

  it('a redirect is not followed; a huge answer is cut; a hanging receiver times out', async () => {
    const elsewhere = await new WebhookReceiver().start();
    try {
      const hook = await subscribe(receiver.url);
      receiver.answer = () => ({ status: 302, headers: { location: elsewhere.url } });
      await api()
        .post(`${BASE}/webhooks/${hook.id}/test`)
        .set(...auth(admin))
        .expect(202);
      const redirected = await eventually(async () => {
        const [d] = await deliveries(hook.id);
        return d.status === 'failed' ? d : undefined;
      });
      expect(redirected).toMatchObject({ last_response_code: 302, attempts: 1 });
      expect(redirected.last_error).toMatch(/redirect/);
      expect(elsewhere.received).toHaveLength(0);

      // 20 MiB answer: read at most 64 KiB, then the delivery is recorded.
      receiver.answer = () => ({ status: 200, body: 'x'.repeat(20 * 1024 * 1024) });
      const started = Date.now();
      await api()
        .post(`${BASE}/webhooks/${hook.id}/test`)
        .set(...auth(admin))
        .expect(202);
      await eventually(async () => {
        const [d] = await deliveries(hook.id);
        return d.status === 'succeeded' ? d : undefined;
      });
      expect(Date.now() - started).toBeLessThan(5000);

      receiver.answer = () => 'hang';
      await api()
        .post(`${BASE}/webhooks/${hook.id}/test`)
        .set(...auth(admin))
        .expect(202);
      await receiver.waitFor((r) => r.length >= 3);
      // While the receiver hangs, the API answers at once.
      const t0 = Date.now();
      await api()
        .get(`${BASE}/webhooks`)
        .set(...auth(admin))
        .expect(200);
      expect(Date.now() - t0).toBeLessThan(1000);
      const timedOut = await eventually(async () => {
        const [d] = await deliveries(hook.id);
        return (d.attempts as number) >= 1 ? d : undefined;
      });
      expect(timedOut.status).toBe('pending');
      expect(timedOut.last_error).toMatch(/no answer within 1500 ms/);
      await removeHook(hook.id);
    } finally {
      await elsewhere.stop();
    }
  });

  it('the delivery log is pruned past WEBHOOKS_DELIVERY_RETENTION_DAYS; pending deliveries stay', async () => {
    const down = new WebhookReceiver();
    await down.start();
    const port = down.port;
    await down.stop();
    const delivered = await subscribe(receiver.url, ['model.created']);
    const waiting = await subscribe(`http://127.0.0.1:${port}/hooks`, ['model.created']);
    await registerVersion(t, alice, 'retained');
    await receiver.waitFor((r) => r.length >= 1, 10_000);
    await eventually(async () => {
      const log = await deliveries(delivered.id);
      return log[0]?.status === 'succeeded' ? log : undefined;
    });
    const eventId = (await deliveries(delivered.id))[0].event_id as string;
    const outbox = () =>
      t.app
        .get(Database)
        .db.selectFrom('event_outbox')
        .select('id')
        .where('id', '=', eventId)
        .execute();
    const retention = t.app.get(DeliveryRetention);
    try {
      // Nothing is old yet.
      expect(await retention.prune()).toBe(0);
      expect(await deliveries(delivered.id)).toHaveLength(1);
      // 31 days on (the default keeps 30): the finished delivery goes, the pending one stays,
      // and so does the event it will send.
      const later = Date.now() + 31 * 24 * 60 * 60 * 1000;
      expect(await retention.prune(later)).toBeGreaterThanOrEqual(1);
      expect(await deliveries(delivered.id)).toEqual([]);
      expect((await deliveries(waiting.id)).map((d) => d.status)).toEqual(['pending']);
      expect(await outbox()).toHaveLength(1);
      // Its webhook deleted, nothing refers to the event any more: the next pass removes it.
      await removeHook(waiting.id);
      await retention.prune(later);
      expect(await outbox()).toEqual([]);
    } finally {
      await removeHook(delivered.id);
    }
  });

  it('redelivery sends the same event (same webhook-id) again as a new delivery; the log pages', async () => {
    const hook = await subscribe(receiver.url);
    await api()
      .post(`${BASE}/webhooks/${hook.id}/test`)
      .set(...auth(admin))
      .expect(202);
    await receiver.waitFor((r) => r.length >= 1);
    const [first] = await eventually(async () => {
      const l = await deliveries(hook.id);
      return l[0]?.status === 'succeeded' ? l : undefined;
    });
    const again = await api()
      .post(`${BASE}/webhooks/${hook.id}/deliveries/${first.id as string}/redeliver`)
      .set(...auth(admin))
      .expect(202);
    expect(again.body.id).not.toBe(first.id);
    expect(again.body.event_id).toBe(first.event_id);
    await receiver.waitFor((r) => r.length >= 2);
    expect(receiver.received[1].headers['webhook-id']).toBe(
      receiver.received[0].headers['webhook-id'],
    );
    verify(hook.secret, receiver.received[1]);
    await api()
      .post(`${BASE}/webhooks/${hook.id}/deliveries/dlv_00/redeliver`)
      .set(...auth(admin))
      .expect(404)
      .expect((r) => expect(r.body.code).toBe('DELIVERY_NOT_FOUND'));
    const page1 = await api()
      .get(`${BASE}/webhooks/${hook.id}/deliveries?max_results=1`)
      .set(...auth(admin))
      .expect(200);
    expect(page1.body.deliveries).toHaveLength(1);
    expect(page1.body.deliveries[0].id).toBe(again.body.id);
    const page2 = await api()
      .get(
        `${BASE}/webhooks/${hook.id}/deliveries?max_results=1&page_token=${page1.body.next_page_token}`,
      )
      .set(...auth(admin))
      .expect(200);
    expect(page2.body.deliveries.map((d: { id: string }) => d.id)).toEqual([first.id]);
    expect(page2.body.next_page_token).toBeUndefined();
    await api()
      .get(`${BASE}/webhooks/${hook.id}/deliveries?max_results=0`)
      .set(...auth(admin))
      .expect(400);
    await removeHook(hook.id);
  });
});

describe('webhooks: SSRF guard without WEBHOOKS_ALLOW_PRIVATE_NETWORKS (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    t = await createTestApp({
      env: { WEBHOOKS_ALLOW_HTTP: 'true', WEBHOOKS_POLL_INTERVAL_MS: '50' },
    });
    admin = await t.token('root', ['admin']);
    receiver = await new WebhookReceiver().start();
  });

  afterAll(async () => {
    await t.close();
    await receiver.stop();
    removeDir(t.dataDir);
  });

  const create = (url: string) =>
    request(t.http)
      .post(`${BASE}/webhooks`)
      .set(...auth(admin))
      .send({ url, events: ['*'] });

  it.each([
    'http://10.1.2.3/hooks',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:8080/hooks',
    'http://[::ffff:127.0.0.1]/hooks',
    'http://127.0.0.1:9/hooks',
    'http://100.64.0.1/hooks',
  ])('a literal non-public address is refused at create time: %s', async (url) => {
    const res = await create(url).expect(400);
    expect(res.body.message).toMatch(/^url must point at a public address/);
  });

  it('a name resolving to loopback (localhost) is refused at delivery time; nothing is sent', async () => {
    const hook = await create(`http://localhost:${receiver.port}/hooks`).expect(201);
    await request(t.http)
      .post(`${BASE}/webhooks/${hook.body.id}/test`)
      .set(...auth(admin))
      .expect(202);
    const failed = await eventually(async () => {
      const res = await request(t.http)
        .get(`${BASE}/webhooks/${hook.body.id}/deliveries`)
        .set(...auth(admin))
        .expect(200);
      const [d] = res.body.deliveries;
      return d.status === 'failed' ? d : undefined;
    });
    expect(failed.last_error).toMatch(/localhost resolves to a forbidden address/);
    expect(failed.last_response_code).toBeNull();
    expect(receiver.received).toHaveLength(0);
  });

  it('plain http is refused unless WEBHOOKS_ALLOW_HTTP=true', async () => {
    const strict = await createTestApp({ env: {} });
    try {
      const token = await strict.token('root', ['admin']);
      const res = await request(strict.http)
        .post(`${BASE}/webhooks`)
        .set(...auth(token))
        .send({ url: 'http://ci.example/hooks', events: ['*'] })
        .expect(400);
      expect(res.body.message).toMatch(/^url must be an https URL/);
      await request(strict.http)
        .post(`${BASE}/webhooks`)
        .set(...auth(token))
        .send({ url: 'https://ci.example/hooks', events: ['*'] })
        .expect(201);
    } finally {
      await strict.close();
      removeDir(strict.dataDir);
    }
  });
});
