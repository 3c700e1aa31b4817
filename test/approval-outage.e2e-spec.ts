import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { RegistryError } from '../src/common/errors/registry-error';
import { Database } from '../src/database/database';
import { EmbeddedMlflowRegistry } from '../src/mlflow/embedded/embedded-mlflow-registry';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { Stage } from '../src/mlflow/registry-types';
import { ApprovalApplier } from '../src/transitions/approval-applier';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/** The embedded backend, with stage transitions that fail while `down` is set. */
@Injectable()
class FlakyRegistry extends EmbeddedMlflowRegistry {
  static down = false;
  static crash = false;
  static transitions = 0;

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
    if (FlakyRegistry.down) throw RegistryError.unavailable('the registry backend');
    if (FlakyRegistry.crash) throw new Error('a bug in the backend adapter');
    FlakyRegistry.transitions++;
    return super.transitionModelVersionStage(tenant, name, version, stage, archive);
  }
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('an approval while the registry backend is down (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      override: (b) => b.overrideProvider(MlflowRegistry).useClass(FlakyRegistry),
    });
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('is recorded, reported as pending, and applied exactly once when the backend is back', async () => {
    const alice = await t.token('alice', ['editor']);
    const bob = await t.token('bob', ['approver']);
    const viewer = await t.token('victor', ['viewer']);
    await registerVersion(t, alice, 'churn');
    const req = await request(t.http)
      .post(`${BASE}/models/churn/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'production' })
      .expect(202);
    const id = req.body.approval.id as string;

    FlakyRegistry.down = true;
    const approved = await request(t.http)
      .post(`${BASE}/approvals/${id}/approve`)
      .set(...auth(bob))
      .expect(202);
    expect(approved.body.approval).toMatchObject({
      status: 'approved',
      decided_by: 'bob',
      apply_state: 'pending',
      applied_at: null,
    });
    expect(approved.body.version).toBeNull();
    // the decision is final even though the transition is not applied yet
    await request(t.http)
      .post(`${BASE}/approvals/${id}/approve`)
      .set(...auth(bob))
      .expect(409);
    const meanwhile = await request(t.http)
      .get(`${BASE}/models/churn/versions/1`)
      .set(...auth(viewer))
      .expect(200);
    expect(meanwhile.body.stage).toBe('none');
    // a transition applied while the backend is down is a 503, not a 500
    const direct = await request(t.http)
      .post(`${BASE}/models/churn/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'staging' })
      .expect(503);
    expect(direct.headers['retry-after']).toBeDefined();

    const before = FlakyRegistry.transitions;
    FlakyRegistry.down = false;
    await eventually(async () => {
      const a = await request(t.http)
        .get(`${BASE}/approvals/${id}`)
        .set(...auth(viewer))
        .expect(200);
      return a.body.apply_state === 'applied';
    });
    const version = await request(t.http)
      .get(`${BASE}/models/churn/versions/1`)
      .set(...auth(viewer))
      .expect(200);
    expect(version.body.stage).toBe('production');
    await new Promise((r) => setTimeout(r, 600)); // a few more retry ticks: nothing applies twice
    expect(FlakyRegistry.transitions - before).toBe(1);
    const history = await request(t.http)
      .get(`${BASE}/models/churn/versions/1/transitions`)
      .set(...auth(viewer))
      .expect(200);
    const transitions = history.body.transitions.filter(
      (e: { event: string }) => e.event === 'transition',
    );
    expect(transitions).toHaveLength(1);
    expect(transitions[0]).toMatchObject({
      to_stage: 'production',
      requested_by: 'alice',
      approved_by: 'bob',
      approval_id: id,
    });
    const row = await t.app
      .get(Database)
      .db.selectFrom('approvals')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.apply_attempts).toBeGreaterThanOrEqual(1);
  });

  it('after a crash between moving the version and recording it, records it once, as a move into production, and still archives', async () => {
    const alice = await t.token('alice', ['editor']);
    const viewer = await t.token('victor', ['viewer']);
    await registerVersion(t, alice, 'crashed');
    await registerVersion(t, alice, 'crashed');
    const registry = t.app.get(MlflowRegistry);
    await registry.transitionModelVersionStage('acme-corp', 'crashed', 2, Stage.Production, false);
    const req = await request(t.http)
      .post(`${BASE}/models/crashed/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'production' })
      .expect(202);
    const id = req.body.approval.id as string;
    // What a crash leaves: the decision committed and the version moved, nothing recorded since.
    const db = t.app.get(Database).db;
    await db
      .updateTable('approvals')
      .set({
        status: 'approved',
        decided_by: 'bob',
        decided_at: Date.now() - 60_000,
        apply_state: 'pending',
      })
      .where('id', '=', id)
      .execute();
    // the crash came after the move but before archiving version 2 was recorded (or done)
    await registry.transitionModelVersionStage('acme-corp', 'crashed', 1, Stage.Production, false);

    // Either this call or the background loop (which may hold the row's apply lease right now)
    // applies it; wait for whichever does.
    await t.app.get(ApprovalApplier).retryUnapplied();
    let approval = await request(t.http)
      .get(`${BASE}/approvals/${id}`)
      .set(...auth(viewer));
    for (let i = 0; i < 100 && approval.body.apply_state !== 'applied'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      approval = await request(t.http)
        .get(`${BASE}/approvals/${id}`)
        .set(...auth(viewer));
    }
    expect(approval.body.apply_state).toBe('applied');
    const v2 = await request(t.http)
      .get(`${BASE}/models/crashed/versions/2`)
      .set(...auth(viewer))
      .expect(200);
    expect(v2.body.stage).toBe('archived');
    const history = await request(t.http)
      .get(`${BASE}/models/crashed/versions/1/transitions`)
      .set(...auth(viewer))
      .expect(200);
    const moves = history.body.transitions.filter(
      (e: { event: string }) => e.event === 'transition',
    );
    expect(moves).toHaveLength(1);
    expect(moves[0]).toMatchObject({
      from_stage: null,
      to_stage: 'production',
      approval_id: id,
      approved_by: 'bob',
    });
    expect(moves[0].comment).toMatch(/already in production when applied/);
  });

  it('an unexpected failure while applying still answers 202 pending, never a 500 for a recorded decision', async () => {
    const alice = await t.token('alice', ['editor']);
    const bob = await t.token('bob', ['approver']);
    await registerVersion(t, alice, 'buggy');
    const req = await request(t.http)
      .post(`${BASE}/models/buggy/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'production' })
      .expect(202);
    FlakyRegistry.crash = true;
    try {
      const res = await request(t.http)
        .post(`${BASE}/approvals/${req.body.approval.id}/approve`)
        .set(...auth(bob))
        .expect(202);
      expect(res.body.approval).toMatchObject({ status: 'approved', apply_state: 'pending' });
    } finally {
      FlakyRegistry.crash = false;
    }
    await eventually(async () => {
      const a = await request(t.http)
        .get(`${BASE}/approvals/${req.body.approval.id}`)
        .set(...auth(bob))
        .expect(200);
      return a.body.apply_state === 'applied';
    });
  });
});
