import request from 'supertest';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';
import { WebhookReceiver } from './webhooks-receiver';

/**
 * A receiver that hangs holds delivery slots until WEBHOOKS_TIMEOUT_MS: one webhook may hold at
 * most half of them, so the other webhooks' events still go out at once. Two slots here: the
 * hanging webhook gets one, the answering webhook the other.
 */
jest.setTimeout(30_000);

describe('webhooks: a hanging receiver does not hold up the others (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let alice: string;
  const hanging = new WebhookReceiver();
  const answering = new WebhookReceiver();

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        WEBHOOKS_ALLOW_HTTP: 'true',
        WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOKS_POLL_INTERVAL_MS: '50',
        WEBHOOKS_CONCURRENCY: '2',
        WEBHOOKS_TIMEOUT_MS: '20000',
      },
    });
    admin = await t.token('root', ['admin']);
    alice = await t.token('alice', ['editor']);
    await hanging.start();
    await answering.start();
    hanging.answer = () => 'hang';
  });

  afterAll(async () => {
    await t.close();
    await hanging.stop();
    await answering.stop();
    removeDir(t.dataDir);
  });

  it('delivers every event to the answering receiver while the hanging one holds its share', async () => {
    // The hanging webhook first: its deliveries come first in every event's fan-out.
    for (const receiver of [hanging, answering]) {
      await request(t.http)
        .post(`${BASE}/webhooks`)
        .set(...auth(admin))
        .send({ url: receiver.url, events: ['model.created'] })
        .expect(201);
    }
    // Four models: four events each webhook may be sent at once (one per model).
    for (let i = 1; i <= 4; i++) await registerVersion(t, alice, `fair-${i}`);
    const started = Date.now();
    await answering.waitFor((r) => r.length >= 4, 10_000);
    // Well before the hanging attempts time out (20 s): they never held every slot.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answering.events().map((e) => e.data['name'])).toEqual(
      expect.arrayContaining(['fair-1', 'fair-2', 'fair-3', 'fair-4']),
    );
    // The hanging receiver got one attempt at a time (its share of two slots).
    expect(hanging.received.length).toBe(1);
  });
});
