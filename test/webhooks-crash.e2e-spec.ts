import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { call, registerVersion, token } from './crash/client';
import { ServiceProcess, startService } from './support/service-process';
import { WebhookReceiver } from './webhooks-receiver';

jest.setTimeout(240_000);

/**
 * The real service as a process, killed (SIGKILL) after its changes committed and before their
 * events reached the receiver: the outbox is in the database, so the restarted service delivers
 * every one of them.
 */
describe('SIGKILL between commit and delivery (webhooks, crash)', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;
  let receiver: WebhookReceiver | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-webhooks-crash-'));
  });

  afterAll(async () => {
    await service?.kill();
    await receiver?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers every committed event after the restart, signed', async () => {
    // A port nobody listens on yet: the receiver is down while the service runs.
    const probe = await new WebhookReceiver().start();
    const port = probe.port;
    await probe.stop();

    const env = {
      WEBHOOKS_ALLOW_HTTP: 'true',
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOKS_RETRY_BASE_MS: '100',
    };
    // The worker's first round runs at boot, the next in an hour: nothing is delivered before
    // the kill, whatever the timing.
    service = await startService({
      dataDir,
      env: { ...env, WEBHOOKS_POLL_INTERVAL_MS: '3600000' },
    });
    const admin = await token('root', ['admin']);
    const alice = await token('alice', ['editor']);
    const hook = await call(service.url, admin, 'POST', '/webhooks', {
      url: `http://127.0.0.1:${port}/hooks`,
      events: ['model.created', 'model_version.created', 'model_version.stage_changed'],
    });
    expect(hook.status).toBe(201);
    await registerVersion(service.url, alice, 'survivor', Buffer.from('model bytes'));
    const moved = await call(service.url, alice, 'POST', '/models/survivor/versions/1/stage', {
      stage: 'staging',
    });
    expect(moved.status).toBe(200);
    await service.kill();

    receiver = await new WebhookReceiver(port).start();
    service = await startService({
      dataDir,
      port: service.port,
      env: { ...env, WEBHOOKS_POLL_INTERVAL_MS: '100' },
    });
    await receiver.waitFor((r) => r.length >= 3, 30_000);
    const secret = hook.body.secret as string;
    for (const r of receiver.received) new Webhook(secret).verify(r.body, r.headers);
    expect(receiver.events().map((e) => e.type)).toEqual([
      'model.created',
      'model_version.created',
      'model_version.stage_changed',
    ]);
    const log = await call(service.url, admin, 'GET', `/webhooks/${hook.body.id}/deliveries`);
    expect(log.body.deliveries.map((d: { status: string }) => d.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  });
});
