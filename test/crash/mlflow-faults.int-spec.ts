import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, startService } from '../support/service-process';
import {
  Answer,
  call,
  checkConsistency,
  eventually,
  registerVersion,
  sleep,
  token,
  upload,
} from './client';
import { deployment, Deployment } from './real-stack';

/**
 * How long a killed process's claims may hold things up. The approval apply lease is a fixed
 * 120 s (APPLY_LEASE_MS in src/transitions/approvals.service.ts) and the registration lock's
 * 60 s (LEASE_MS in src/registry/model-lock.ts); once they are configurable (proposed:
 * APPROVAL_APPLY_LEASE_MS, REGISTRATION_LOCK_LEASE_MS, set short in start() below) these bounds
 * drop to 30 s.
 */
const APPLY_RECOVERY_BOUND_MS = Number(process.env['CRASH_APPLY_BOUND_MS'] ?? 30_000);
const LOCK_RECOVERY_BOUND_MS = Number(process.env['CRASH_LOCK_BOUND_MS'] ?? 30_000);

interface Entry {
  event: string;
  from_stage: string | null;
  to_stage: string | null;
  approval_id: string | null;
}

async function history(url: string, bearer: string, model: string, v: number): Promise<Entry[]> {
  const res = await call(url, bearer, 'GET', `/models/${model}/versions/${v}/transitions`);
  expect(res.status).toBe(200);
  return res.body.transitions as Entry[];
}

const moves = (entries: Entry[], to: string): Entry[] =>
  entries.filter((e) => e.event === 'transition' && e.to_stage === to);

async function stageOf(url: string, bearer: string, model: string, v: number): Promise<string> {
  const res = await call(url, bearer, 'GET', `/models/${model}/versions/${v}`);
  expect(res.status).toBe(200);
  return res.body.stage as string;
}

/** v1 in production through an approval, v2 registered: the setting of both approval tests. */
async function productionAndCandidate(
  url: string,
  model: string,
  alice: string,
  bob: string,
): Promise<void> {
  await registerVersion(url, alice, model, randomBytes(4096));
  await registerVersion(url, alice, model, randomBytes(4096));
  const first = await call(url, alice, 'POST', `/models/${model}/versions/1/stage`, {
    stage: 'production',
  });
  expect(first.status).toBe(202);
  const ok = await call(url, bob, 'POST', `/approvals/${first.body.approval.id}/approve`, {});
  expect(ok.status).toBe(200);
}

describe('MLflow faults and SIGKILL on the real stack (crash)', () => {
  let d: Deployment;
  let dataDir: string;
  let service: ServiceProcess | undefined;
  let alice: string;
  let bob: string;
  let victor: string;

  beforeAll(async () => {
    d = await deployment('mlflow');
    dataDir = mkdtempSync(join(tmpdir(), 'registry-crash-'));
    alice = await token('alice', ['editor']);
    bob = await token('bob', ['approver']);
    victor = await token('victor', ['viewer']);
  });

  afterAll(async () => {
    await service?.kill();
    await d?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (): Promise<ServiceProcess> => {
    service = await startService({
      dataDir,
      env: {
        ...d.env,
        APPROVAL_RETRY_INTERVAL_MS: '500',
        // Proposed (see the report): the leases a killed process leaves behind. Ignored today
        // (fixed 120 s and 60 s); the SIGKILL tests below wait for them.
        APPROVAL_APPLY_LEASE_MS: '8000',
        REGISTRATION_LOCK_LEASE_MS: '8000',
      },
    });
    return service;
  };

  it('an approval while MLflow is unreachable is recorded, reported pending, then applied exactly once', async () => {
    const s = await start();
    const model = 'outage';
    await productionAndCandidate(s.url, model, alice, bob);
    const req = await call(s.url, alice, 'POST', `/models/${model}/versions/2/stage`, {
      stage: 'production',
    });
    expect(req.status).toBe(202);
    const id = req.body.approval.id as string;

    d.mlflow.cut();
    const approved = await call(s.url, bob, 'POST', `/approvals/${id}/approve`, {});
    expect(approved.status).toBe(202);
    expect(approved.body.approval).toMatchObject({
      id,
      status: 'approved',
      decided_by: 'bob',
      apply_state: 'pending',
      applied_at: null,
    });
    expect(approved.body.version).toBeNull();
    // meanwhile (several retry rounds against a dead backend) it stays approved + pending
    await sleep(2000);
    const meanwhile = await call(s.url, victor, 'GET', `/approvals/${id}`);
    expect(meanwhile.status).toBe(200);
    expect(meanwhile.body).toMatchObject({ status: 'approved', apply_state: 'pending' });

    d.mlflow.restore();
    const applied = await eventually(
      'the approval applied once MLflow is back',
      async () => {
        const a = await call(s.url, victor, 'GET', `/approvals/${id}`);
        return a.body.apply_state === 'applied' ? a : undefined;
      },
      30_000,
    );
    expect(applied.body.applied_at).not.toBeNull();
    await sleep(2000); // several more retry rounds: nothing is applied a second time
    expect(await stageOf(s.url, victor, model, 2)).toBe('production');
    expect(await stageOf(s.url, victor, model, 1)).toBe('archived');
    const h2 = await history(s.url, victor, model, 2);
    expect(moves(h2, 'production')).toHaveLength(1);
    expect(moves(h2, 'production')[0].approval_id).toBe(id);
    expect(moves(await history(s.url, victor, model, 1), 'archived')).toHaveLength(1);
  });

  it('SIGKILL while the approved transition is in flight at MLflow: after restart it is applied, once', async () => {
    const s = service ?? (await start());
    const model = 'killed-approval';
    await productionAndCandidate(s.url, model, alice, bob);
    const req = await call(s.url, alice, 'POST', `/models/${model}/versions/2/stage`, {
      stage: 'production',
    });
    expect(req.status).toBe(202);
    const id = req.body.approval.id as string;

    // MLflow receives the transition and acts on it; its answer never reaches the service.
    const hold = d.mlflow.hold(/^POST \S*model-versions\/transition-stage /);
    const approving = call(s.url, bob, 'POST', `/approvals/${id}/approve`, {}).then(
      (a) => a.status,
      () => 'no answer',
    );
    await hold.matched;
    await sleep(1000);
    await s.kill();
    hold.release();
    expect(await approving).toBe('no answer');

    const killedAt = Date.now();
    service = await s.restart();
    const url = service.url;
    const applied = await eventually(
      'the approval applied after the restart',
      async () => {
        const a: Answer = await call(url, victor, 'GET', `/approvals/${id}`);
        return a.body.apply_state === 'applied' ? a : undefined;
      },
      APPLY_RECOVERY_BOUND_MS,
    );
    process.stdout.write(
      `[crash] approval killed mid-apply was applied ${Date.now() - killedAt} ms after the kill\n`,
    );
    expect(applied.body.status).toBe('approved');
    await sleep(2000);
    expect(await stageOf(url, victor, model, 2)).toBe('production');
    expect(await stageOf(url, victor, model, 1)).toBe('archived');
    const h2 = await history(url, victor, model, 2);
    expect(moves(h2, 'production')).toHaveLength(1);
    expect(moves(h2, 'production')[0].approval_id).toBe(id);
    expect(moves(await history(url, victor, model, 1), 'archived').length).toBeLessThanOrEqual(1);
    // no approval anywhere is approved and still unapplied
    const all = await call(url, victor, 'GET', '/approvals?status=approved');
    expect(
      (all.body.approvals as { apply_state: string }[]).filter((a) => a.apply_state !== 'applied'),
    ).toEqual([]);
  });

  it('SIGKILL while MLflow creates the version: no version without bytes, and numbering carries on', async () => {
    const s = service ?? (await start());
    const model = 'killed-registration';
    await registerVersion(s.url, alice, model, randomBytes(4096));
    const up = await upload(s.url, alice, randomBytes(256 * 1024));
    expect(up.status).toBe(201);
    const artifactId = up.body.artifact_id as string;

    const hold = d.mlflow.hold(/^POST \S*model-versions\/create /);
    const registering = call(s.url, alice, 'POST', '/models', {
      name: model,
      artifact_id: artifactId,
    }).then(
      (a) => a.status,
      () => 'no answer',
    );
    await hold.matched;
    await sleep(1000);
    await s.kill();
    hold.release();
    expect(await registering).toBe('no answer');

    service = await s.restart();
    const url = service.url;
    const report = await checkConsistency(url, victor);
    expect(report.problems).toEqual([]);
    const listed = await call(url, victor, 'GET', `/models/${model}/versions`);
    const numbers = (listed.body.versions as { version: number }[]).map((v) => v.version);
    process.stdout.write(
      `[crash] versions after a kill mid-registration: ${JSON.stringify(numbers)}\n`,
    );
    // the killed registration's artifact stays intact and reachable (its bytes were never moved)
    expect((await call(url, victor, 'GET', `/artifacts/${artifactId}`)).status).toBe(200);

    // The dead registration's lock on the model expires on its own; until then a registration
    // of this model answers 503 with Retry-After (never a 500, never a wrong number).
    const restartedAt = Date.now();
    const again = await upload(url, alice, randomBytes(4096));
    expect(again.status).toBe(201);
    const next = await eventually(
      'a new registration of the model',
      async () => {
        const r = await call(url, alice, 'POST', '/models', {
          name: model,
          artifact_id: again.body.artifact_id,
        });
        if (r.status === 503) {
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
          return undefined;
        }
        expect(r.status).toBe(201);
        return r.body as { version: number };
      },
      LOCK_RECOVERY_BOUND_MS,
      1000,
    );
    process.stdout.write(
      `[crash] registration of the model possible again ${Date.now() - restartedAt} ms after the restart\n`,
    );
    expect(next.version).toBe(Math.max(...numbers) + 1);
    const after = await checkConsistency(url, victor);
    expect(after.problems).toEqual([]);
  });
});
