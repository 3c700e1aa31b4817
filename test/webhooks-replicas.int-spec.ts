import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { auth, registerVersion } from './support/fixtures';
import { freshDatabase, uniqueNamespace } from './support/stack';
import { BASE, createTestApp, removeDir, tempDataDir, TestApp } from './support/test-app';
import { WebhookReceiver } from './webhooks-receiver';

/**
 * Two replicas on one PostgreSQL database, both running the delivery worker: the leases make
 * each event go out once in the normal case (counted by `webhook-id`), in order per model.
 */
describe('webhook delivery shared by two replicas (PostgreSQL)', () => {
  let a: TestApp;
  let b: TestApp;
  let dataDir: string;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    dataDir = tempDataDir();
    const env = {
      DATABASE_URL: await freshDatabase('webhooks'),
      ML_REGISTRY_NAMESPACE: uniqueNamespace('webhooks'),
      WEBHOOKS_ALLOW_HTTP: 'true',
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      // Both poll often: they race for every delivery.
      WEBHOOKS_POLL_INTERVAL_MS: '20',
      WEBHOOKS_RETRY_BASE_MS: '100',
    };
    a = await createTestApp({ env, dataDir });
    b = await createTestApp({ env, dataDir });
    receiver = await new WebhookReceiver().start();
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await receiver?.stop();
    removeDir(dataDir);
  });

  it('each event is delivered once, by one replica or the other, in order per model', async () => {
    const admin = await a.token('root', ['admin']);
    const alice = await a.token('alice', ['editor']);
    const hook = await request(a.http)
      .post(`${BASE}/webhooks`)
      .set(...auth(admin))
      .send({ url: receiver.url, events: ['model_version.created', 'model_version.stage_changed'] })
      .expect(201);
    const models = ['r-one', 'r-two', 'r-three', 'r-four'];
    await Promise.all(
      models.map(async (name, i) => {
        const t = i % 2 === 0 ? a : b;
        await registerVersion(t, alice, name);
        for (const stage of ['staging', 'archived', 'staging']) {
          await request((i % 2 === 0 ? b : a).http)
            .post(`${BASE}/models/${name}/versions/1/stage`)
            .set(...auth(alice))
            .send({ stage })
            .expect(200);
        }
      }),
    );
    const expected = models.length * 4;
    await receiver.waitFor((r) => r.length >= expected, 30_000);
    // Both keep polling a while: a second delivery of anything would show now.
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.received).toHaveLength(expected);
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(expected);
    for (const r of receiver.received)
      new Webhook(hook.body.secret as string).verify(r.body, r.headers);
    for (const name of models) {
      const stages = receiver
        .events()
        .filter((e) => e.data['name'] === name)
        .map((e) => `${e.type}:${e.data['stage'] as string}`);
      expect(stages).toEqual([
        'model_version.created:none',
        'model_version.stage_changed:staging',
        'model_version.stage_changed:archived',
        'model_version.stage_changed:staging',
      ]);
    }
  });
});
