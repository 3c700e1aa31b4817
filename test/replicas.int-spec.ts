import { createClient } from '@keyv/redis';
import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { Database } from '../src/database/database';
import { EmbeddedMlflowRegistry } from '../src/mlflow/embedded/embedded-mlflow-registry';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { Stage } from '../src/mlflow/registry-types';
import { ApprovalApplier } from '../src/transitions/approval-applier';
import { auth, registerVersion } from './support/fixtures';
import { freshDatabase, stack, stackService, uniqueNamespace } from './support/stack';
import { BASE, createTestApp, removeDir, tempDataDir, TestApp } from './support/test-app';

/** The embedded registry, counting the stage transitions both replicas make, per version. */
@Injectable()
class CountingRegistry extends EmbeddedMlflowRegistry {
  static readonly transitions = new Map<string, number>();

  constructor(database: Database) {
    super(database);
  }

  static count(name: string, version: number): number {
    return CountingRegistry.transitions.get(`${name}/${version}`) ?? 0;
  }

  override async transitionModelVersionStage(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
    archive: boolean,
  ) {
    const key = `${name}/${version}`;
    CountingRegistry.transitions.set(key, CountingRegistry.count(name, version) + 1);
    return super.transitionModelVersionStage(tenant, name, version, stage, archive);
  }
}

/**
 * Two replicas, A and B, of one deployment: the same PostgreSQL database (the service's
 * records and the embedded MLflow registry), the same Redis namespace, the same artifacts
 * directory. Nothing one replica keeps in memory helps the other: whatever must hold across
 * them (one decision per approval, one application of it, fresh reads after a write on the
 * other replica) is proved here over HTTP.
 */
describe('two replicas of one deployment (PostgreSQL + Redis)', () => {
  let a: TestApp;
  let b: TestApp;
  let dataDir: string;
  let namespace: string;
  let databaseUrl: string;
  let bootErrors: unknown[];
  let alice: string; // editor, requests
  let viewer: string;
  let admin: string;

  beforeAll(async () => {
    dataDir = tempDataDir();
    namespace = uniqueNamespace('replicas');
    databaseUrl = await freshDatabase('replicas');
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: stack().redisUrl,
      ML_REGISTRY_NAMESPACE: namespace,
      // Only an invalidation can explain a fresh read: entries would live an hour.
      ML_REGISTRY_CACHE_TTL: '3600',
    };
    // Both boot at once against an empty database: the migrations race.
    const replica = () =>
      createTestApp({
        env,
        dataDir,
        override: (builder) => builder.overrideProvider(MlflowRegistry).useClass(CountingRegistry),
      });
    const booted = await Promise.allSettled([replica(), replica()]);
    bootErrors = booted.filter((r) => r.status === 'rejected').map((r) => r.reason);
    if (bootErrors.length > 0) throw bootErrors[0];
    [a, b] = booted.map((r) => (r as PromiseFulfilledResult<TestApp>).value);
    alice = await a.token('alice', ['editor']);
    viewer = await a.token('victor', ['viewer']);
    admin = await a.token('root', ['admin']);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    removeDir(dataDir);
  });

  const get = (t: TestApp, path: string) =>
    request(t.http)
      .get(`${BASE}${path}`)
      .set(...auth(viewer));
  const history = async (t: TestApp, name: string, v: number) =>
    (await get(t, `/models/${name}/versions/${v}/transitions`).expect(200)).body.transitions as {
      event: string;
      to_stage: string | null;
      approval_id: string | null;
    }[];
  const requestProduction = async (t: TestApp, name: string, v: number) =>
    (
      await request(t.http)
        .post(`${BASE}/models/${name}/versions/${v}/stage`)
        .set(...auth(alice))
        .send({ stage: 'production' })
        .expect(202)
    ).body.approval.id as string;

  async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > until) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('(d) booting together on an empty database, they run every migration once', async () => {
    expect(bootErrors).toEqual([]);
    const applied = await a.app
      .get(Database)
      .db.selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute();
    const names = (applied as { name: string }[]).map((r) => r.name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([...names].sort());
    await request(a.http).get('/health/ready').expect(200);
    await request(b.http).get('/health/ready').expect(200);
  });

  it('(a) of many approvals racing across both replicas exactly one wins, and applies once', async () => {
    const approvers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => a.token(`approver-${i}`, ['approver'])),
    );
    for (let round = 0; round < 4; round++) {
      const name = `race-${round}`;
      await registerVersion(a, alice, name);
      await registerVersion(b, alice, name);
      const id = await requestProduction(round % 2 === 0 ? a : b, name, 2);
      const answers = await Promise.all(
        approvers.map((token, i) =>
          request((i % 2 === 0 ? a : b).http)
            .post(`${BASE}/approvals/${id}/approve`)
            .set(...auth(token))
            .send({ comment: `approver ${i}` }),
        ),
      );
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([200, ...Array(approvers.length - 1).fill(409)]);
      const winner = answers.find((r) => r.status === 200)!;
      expect(winner.body.approval).toMatchObject({ status: 'approved', apply_state: 'applied' });
      for (const loser of answers.filter((r) => r.status === 409)) {
        expect(loser.body.code).toBe('APPROVAL_NOT_PENDING');
      }

      const versions = (await get(b, `/models/${name}/versions`).expect(200)).body.versions as {
        version: number;
        stage: string;
      }[];
      expect(versions.filter((v) => v.stage === 'production').map((v) => v.version)).toEqual([2]);
      expect(CountingRegistry.count(name, 2)).toBe(1);
      for (const t of [a, b]) {
        const entries = await history(t, name, 2);
        expect(entries.filter((e) => e.event === 'transition')).toEqual([
          expect.objectContaining({ to_stage: 'production', approval_id: id }),
        ]);
        expect(entries.filter((e) => e.event === 'approval_approved')).toHaveLength(1);
      }
    }
  });

  it('(b) a read on one replica after a write on the other is fresh, with hour-long entries', async () => {
    const name = 'cached';
    await registerVersion(a, alice, name, { description: 'v1' });
    /** Reads on A until it is served from the cache (the second read of a generation is). */
    const readTwice = async (path: string) => {
      await get(a, path);
      return get(a, path);
    };

    // Served from Redis: a change made behind the service's back is not seen ...
    expect((await readTwice(`/models/${name}`)).body.description).toBe('v1');
    await a.app
      .get(Database)
      .db.updateTable('reg_models')
      .set({ description: 'behind the back' })
      .where('name', '=', name)
      .execute();
    expect((await get(a, `/models/${name}`).expect(200)).body.description).toBe('v1');
    // ... by either replica: the entry is shared, B never loaded it itself.
    expect((await get(b, `/models/${name}`).expect(200)).body.description).toBe('v1');
    const keys = await redisKeys(`${namespace}::*`);
    expect(keys.length).toBeGreaterThan(0);

    // Each write on B is seen by the next read on A.
    await request(b.http)
      .patch(`${BASE}/models/${name}`)
      .set(...auth(alice))
      .send({ description: 'edited on B' })
      .expect(200);
    expect((await get(a, `/models/${name}`).expect(200)).body.description).toBe('edited on B');

    expect((await readTwice(`/models/${name}/versions/1`)).body.description).toBe('v1');
    await request(b.http)
      .patch(`${BASE}/models/${name}/versions/1`)
      .set(...auth(alice))
      .send({ description: 'version edited on B', tags: { owner: 'b' } })
      .expect(200);
    const patched = (await get(a, `/models/${name}/versions/1`).expect(200)).body;
    expect(patched).toMatchObject({ description: 'version edited on B', tags: { owner: 'b' } });

    expect((await readTwice(`/models/${name}/versions/1`)).body.stage).toBe('none');
    await request(b.http)
      .post(`${BASE}/models/${name}/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'staging' })
      .expect(200);
    expect((await get(a, `/models/${name}/versions/1`).expect(200)).body.stage).toBe('staging');
    expect(
      (await get(a, `/models/${name}/versions?stage=staging`).expect(200)).body.versions,
    ).toHaveLength(1);

    expect((await readTwice(`/models/${name}/versions`)).body.versions).toHaveLength(1);
    expect((await readTwice(`/models?max_results=100`)).body.models).toHaveLength(
      (await get(b, `/models?max_results=100`)).body.models.length,
    );
    const listedBefore = (await get(a, `/models?max_results=100`)).body.models.length as number;
    await registerVersion(b, alice, name);
    await registerVersion(b, alice, 'new-on-b');
    expect((await get(a, `/models/${name}/versions`).expect(200)).body.versions).toHaveLength(2);
    expect((await get(a, `/models/${name}`).expect(200)).body.versions).toHaveLength(2);
    expect((await get(a, `/models?max_results=100`)).body.models).toHaveLength(listedBefore + 1);

    expect((await readTwice(`/models/${name}/versions/2`)).status).toBe(200);
    await request(b.http)
      .delete(`${BASE}/models/${name}/versions/2`)
      .set(...auth(admin))
      .expect(204);
    await get(a, `/models/${name}/versions/2`).expect(404);
    expect((await get(a, `/models/${name}/versions`).expect(200)).body.versions).toHaveLength(1);

    expect((await readTwice(`/models/${name}`)).status).toBe(200);
    await request(b.http)
      .delete(`${BASE}/models/${name}`)
      .set(...auth(admin))
      .expect(204);
    await get(a, `/models/${name}`).expect(404);
    await get(a, `/models/${name}/versions/1`).expect(404);
    const names = (await get(a, `/models?max_results=100`)).body.models.map(
      (m: { name: string }) => m.name,
    );
    expect(names).not.toContain(name);
  });

  it('(c) an approval left unapplied is applied once, though both retry loops go for it', async () => {
    const name = 'left-pending';
    const ids: string[] = [];
    for (let v = 1; v <= 6; v++) {
      await registerVersion(a, alice, name);
      // Production without archiving: each of the six approvals moves its own version.
      const res = await request(a.http)
        .post(`${BASE}/models/${name}/versions/${v}/stage`)
        .set(...auth(alice))
        .send({ stage: 'production', archive_existing_versions: false })
        .expect(202);
      ids.push(res.body.approval.id as string);
    }
    // What a crash between the decision and its application leaves behind: approved, not
    // applied, nobody trying. Both retry loops (every 200 ms here) pick these up.
    await a.app
      .get(Database)
      .db.updateTable('approvals')
      .set({
        status: 'approved',
        decided_by: 'bob',
        decided_at: Date.now() - 60_000,
        apply_state: 'pending',
      })
      .where('id', 'in', ids)
      .execute();
    // And on top of the loops, both replicas' retries by hand, side by side.
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).app.get(ApprovalApplier)).map(
        (service) => service.retryUnapplied(),
      ),
    );
    await eventually(async () => {
      const rows = await a.app
        .get(Database)
        .db.selectFrom('approvals')
        .select('apply_state')
        .where('id', 'in', ids)
        .execute();
      return rows.every((r) => r.apply_state === 'applied');
    });
    await new Promise((r) => setTimeout(r, 1_000)); // more rounds of both loops: nothing more
    for (let v = 1; v <= 6; v++) {
      expect((await get(b, `/models/${name}/versions/${v}`).expect(200)).body.stage).toBe(
        'production',
      );
      const transitions = (await history(a, name, v)).filter((e) => e.event === 'transition');
      expect(transitions).toEqual([
        expect.objectContaining({ to_stage: 'production', approval_id: ids[v - 1] }),
      ]);
      // applied once: neither replica moved a version the other was moving
      expect(CountingRegistry.count(name, v)).toBe(1);
    }
    const leases = await a.app
      .get(Database)
      .db.selectFrom('approvals')
      .select(['apply_lease_owner', 'apply_lease_until'])
      .where('id', 'in', ids)
      .execute();
    expect(leases.every((l) => l.apply_lease_owner === null && l.apply_lease_until === null)).toBe(
      true,
    );
  });

  /**
   * Stops the stack's Redis for everyone using it: the only test here that does, and it starts
   * Redis again whatever happens.
   */
  it('Redis stopped and started: reads stay fresh on both replicas throughout, no restart', async () => {
    const name = 'through-outage';
    await registerVersion(a, alice, name, { description: 'before' });
    await get(a, `/models/${name}`);
    expect((await get(a, `/models/${name}`).expect(200)).body.description).toBe('before');
    await stackService('stop', 'redis');
    try {
      // Reads do not wait for the missing Redis; a write on B cannot invalidate, yet succeeds.
      const started = Date.now();
      expect((await get(a, `/models/${name}`).expect(200)).body.description).toBe('before');
      expect(Date.now() - started).toBeLessThan(1_000);
      await request(b.http)
        .patch(`${BASE}/models/${name}`)
        .set(...auth(alice))
        .send({ description: 'written while Redis was down' })
        .expect(200);
      for (const t of [a, b]) {
        expect((await get(t, `/models/${name}`).expect(200)).body.description).toBe(
          'written while Redis was down',
        );
      }
    } finally {
      await stackService('start', 'redis');
    }
    // Redis comes back with its data (the entry from before the write is in it, under the
    // generation B could not move): neither replica serves it, not in the moments between its
    // reconnection and B's replay of the invalidation, nor after. Read hard, for 6 s.
    const seen = new Set<string>();
    for (const until = Date.now() + 6_000; Date.now() < until;) {
      for (const t of [a, b]) {
        seen.add((await get(t, `/models/${name}`).expect(200)).body.description as string);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect([...seen]).toEqual(['written while Redis was down']);
    // And the cache is in use again: a change behind the service's back stays hidden.
    await get(a, `/models/${name}`);
    await a.app
      .get(Database)
      .db.updateTable('reg_models')
      .set({ description: 'behind the back' })
      .where('name', '=', name)
      .execute();
    expect((await get(a, `/models/${name}`).expect(200)).body.description).toBe(
      'written while Redis was down',
    );
  }, 120_000);
});

/** Keys of the stack's Redis matching `pattern` (the test looks; the service never lists). */
async function redisKeys(pattern: string): Promise<string[]> {
  const client = createClient({ url: stack().redisUrl });
  await client.connect();
  try {
    return await client.keys(pattern);
  } finally {
    client.destroy();
  }
}
