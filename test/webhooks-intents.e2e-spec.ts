import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { IntentReconciler } from '../src/audit/intent-reconciler';
import { RegistryError } from '../src/common/errors/registry-error';
import { Database } from '../src/database/database';
import { EmbeddedMlflowRegistry } from '../src/mlflow/embedded/embedded-mlflow-registry';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { Stage } from '../src/mlflow/registry-types';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';
import { WebhookReceiver } from './webhooks-receiver';

/** The embedded backend, whose stage transitions can move the version and then fail. */
@Injectable()
class LosingAnswerRegistry extends EmbeddedMlflowRegistry {
  static failAfter = false;

  constructor(database: Database) {
    super(database);
  }

  override async transitionModelVersionStage(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
    archive: boolean,
  ) {
    const result = await super.transitionModelVersionStage(tenant, name, version, stage, archive);
    if (LosingAnswerRegistry.failAfter) throw RegistryError.unavailable('the registry backend');
    return result;
  }
}

/**
 * A direct transition on the registry backend goes through an intent; its events ride in it.
 * When the request fails after the backend moved the version, the reconciler records the move
 * and its stage_changed event together.
 */
describe('webhook events carried by a transition intent (e2e)', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        APPROVAL_RETRY_INTERVAL_MS: '3600000', // the reconciler is driven by hand
        WEBHOOKS_ALLOW_HTTP: 'true',
        WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOKS_POLL_INTERVAL_MS: '50',
      },
      override: (b) => b.overrideProvider(MlflowRegistry).useClass(LosingAnswerRegistry),
    });
    receiver = await new WebhookReceiver().start();
  });

  afterAll(async () => {
    LosingAnswerRegistry.failAfter = false;
    await t.close();
    await receiver.stop();
    removeDir(t.dataDir);
  });

  it('a move whose answer was lost is announced once the reconciler records it', async () => {
    const admin = await t.token('root', ['admin']);
    const alice = await t.token('alice', ['editor']);
    const hook = await request(t.http)
      .post(`${BASE}/webhooks`)
      .set(...auth(admin))
      .send({ url: receiver.url, events: ['model_version.stage_changed'] })
      .expect(201);
    await registerVersion(t, alice, 'lost-answer');
    LosingAnswerRegistry.failAfter = true;
    await request(t.http)
      .post(`${BASE}/models/lost-answer/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'staging', comment: 'answer lost' })
      .expect(503);
    LosingAnswerRegistry.failAfter = false;
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(0); // not recorded yet: nothing announced

    await t.app.get(IntentReconciler).reconcileIntents();
    await receiver.waitFor((r) => r.length >= 1);
    const [got] = receiver.received;
    const event = new Webhook(hook.body.secret as string).verify(got.body, got.headers);
    expect(event).toMatchObject({
      type: 'model_version.stage_changed',
      data: {
        name: 'lost-answer',
        version: 1,
        stage: 'staging',
        from_stage: 'none',
        to_stage: 'staging',
        actor: 'alice',
        comment: 'answer lost',
      },
    });
    await t.app.get(IntentReconciler).reconcileIntents();
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(1);
  });
});
