import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { RegistryError } from '../src/common/errors/registry-error';
import { Database } from '../src/database/database';
import { EmbeddedMlflowRegistry } from '../src/mlflow/embedded/embedded-mlflow-registry';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { Stage } from '../src/mlflow/registry-types';
import { IntentReconciler } from '../src/audit/intent-reconciler';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/**
 * The embedded backend, whose stage transitions can fail before the change ('before') or fail
 * after making it ('after': a timeout whose request did reach the backend, or a process that
 * died before recording it).
 */
@Injectable()
class UnreliableRegistry extends EmbeddedMlflowRegistry {
  static fail: 'before' | 'after' | null = null;
  /** Every read fails too (the backend is down). */
  static down = false;

  constructor(database: Database) {
    super(database);
  }

  override async getModelVersion(tenant: string, name: string, version: number) {
    if (UnreliableRegistry.down) throw RegistryError.unavailable('the registry backend');
    return super.getModelVersion(tenant, name, version);
  }

  override async deleteModelVersion(tenant: string, name: string, version: number) {
    if (UnreliableRegistry.fail === 'before')
      throw RegistryError.unavailable('the registry backend');
    await super.deleteModelVersion(tenant, name, version);
    if (UnreliableRegistry.fail === 'after')
      throw RegistryError.unavailable('the registry backend');
  }

  override async setRegisteredModelAlias(tenant: string, name: string, alias: string, v: number) {
    if (UnreliableRegistry.fail === 'before')
      throw RegistryError.unavailable('the registry backend');
    await super.setRegisteredModelAlias(tenant, name, alias, v);
    if (UnreliableRegistry.fail === 'after')
      throw RegistryError.unavailable('the registry backend');
  }

  override async deleteRegisteredModelAlias(tenant: string, name: string, alias: string) {
    if (UnreliableRegistry.fail === 'before')
      throw RegistryError.unavailable('the registry backend');
    await super.deleteRegisteredModelAlias(tenant, name, alias);
    if (UnreliableRegistry.fail === 'after')
      throw RegistryError.unavailable('the registry backend');
  }

  override async transitionModelVersionStage(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
    archive: boolean,
  ) {
    if (UnreliableRegistry.fail === 'before')
      throw RegistryError.unavailable('the registry backend');
    const result = await super.transitionModelVersionStage(tenant, name, version, stage, archive);
    if (UnreliableRegistry.fail === 'after')
      throw RegistryError.unavailable('the registry backend');
    return result;
  }
}

/** Direct transitions are written down before the backend call (issue 4.4: nothing lost). */
describe('direct stage transitions whose request fails half way (e2e)', () => {
  let t: TestApp;
  let alice: string;
  let db: Database;

  const stage = (name: string, v: number, body: Record<string, unknown>) =>
    request(t.http)
      .post(`${BASE}/models/${name}/versions/${v}/stage`)
      .set(...auth(alice))
      .send(body);
  const transitions = async (name: string, v: number) =>
    (
      await request(t.http)
        .get(`${BASE}/models/${name}/versions/${v}/transitions`)
        .set(...auth(alice))
        .expect(200)
    ).body.transitions.filter((e: { event: string }) => e.event === 'transition');
  const intents = async () =>
    (await db.db.selectFrom('transition_intents').selectAll().execute()).length;

  beforeAll(async () => {
    t = await createTestApp({
      // The loop is driven by hand below.
      env: { APPROVAL_RETRY_INTERVAL_MS: '3600000' },
      override: (b) => b.overrideProvider(MlflowRegistry).useClass(UnreliableRegistry),
    });
    db = t.app.get(Database);
    alice = await t.token('alice', ['editor']);
    await registerVersion(t, alice, 'intent-model');
    await registerVersion(t, alice, 'intent-model');
  });

  afterAll(async () => {
    UnreliableRegistry.fail = null;
    UnreliableRegistry.down = false;
    await t.close();
    removeDir(t.dataDir);
  });

  it('leaves no intent behind after a transition that went through', async () => {
    await stage('intent-model', 1, { stage: 'staging' }).expect(200);
    expect(await intents()).toBe(0);
    expect(await transitions('intent-model', 1)).toHaveLength(1);
  });

  it('records a move the backend made although the request failed (503), once', async () => {
    UnreliableRegistry.fail = 'after';
    const res = await stage('intent-model', 2, {
      stage: 'staging',
      comment: 'the answer was lost',
    }).expect(503);
    expect(res.headers['retry-after']).toBeDefined();
    UnreliableRegistry.fail = null;
    expect(await transitions('intent-model', 2)).toHaveLength(0);
    expect(await intents()).toBe(1);

    const service = t.app.get(IntentReconciler);
    await service.reconcileIntents();
    await service.reconcileIntents(); // a second round finds nothing to do
    const entries = await transitions('intent-model', 2);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      from_stage: 'none',
      to_stage: 'staging',
      actor: 'alice',
      comment: 'the answer was lost',
    });
    expect(await intents()).toBe(0);
  });

  it('records nothing for a move the backend never made', async () => {
    UnreliableRegistry.fail = 'before';
    await stage('intent-model', 1, { stage: 'archived' }).expect(503);
    UnreliableRegistry.fail = null;
    await t.app.get(IntentReconciler).reconcileIntents();
    expect(await intents()).toBe(0);
    const entries = await transitions('intent-model', 1);
    expect(entries.map((e: { to_stage: string }) => e.to_stage)).toEqual(['staging']);
    const v = await request(t.http)
      .get(`${BASE}/models/intent-model/versions/1`)
      .set(...auth(alice))
      .expect(200);
    expect(v.body.stage).toBe('staging');
  });

  it('keeps the intent while the backend stays down, and settles it when it is back', async () => {
    UnreliableRegistry.fail = 'after';
    await stage('intent-model', 1, { stage: 'archived' }).expect(503);
    // Reading the version fails too while the backend is down: the intent must wait.
    const service = t.app.get(IntentReconciler);
    UnreliableRegistry.down = true;
    await service.reconcileIntents();
    expect(await intents()).toBe(1);
    UnreliableRegistry.down = false;
    UnreliableRegistry.fail = null;
    await service.reconcileIntents();
    expect(await intents()).toBe(0);
    const entries = await transitions('intent-model', 1);
    expect(entries.map((e: { to_stage: string }) => e.to_stage)).toEqual(['staging', 'archived']);
  });

  it('records a deletion the backend made although the request failed, and none it did not make', async () => {
    const admin = await t.token('root', ['admin']);
    await registerVersion(t, alice, 'doomed');
    await registerVersion(t, alice, 'doomed');
    const deleted = async () =>
      (
        await db.db
          .selectFrom('history')
          .select(['version', 'actor'])
          .where('model_name', '=', 'doomed')
          .where('event', '=', 'deleted')
          .execute()
      ).map((r) => r.version);
    const remove = (v: number) =>
      request(t.http)
        .delete(`${BASE}/models/doomed/versions/${v}`)
        .set(...auth(admin));

    UnreliableRegistry.fail = 'before';
    await remove(1).expect(503);
    UnreliableRegistry.fail = 'after';
    await remove(2).expect(503);
    UnreliableRegistry.fail = null;
    await t.app.get(IntentReconciler).reconcileIntents();
    expect(await intents()).toBe(0);
    expect(await deleted()).toEqual([2]);
    await request(t.http)
      .get(`${BASE}/models/doomed/versions/1`)
      .set(...auth(alice))
      .expect(200);
  });

  it('records an alias change the backend made although the request failed, and none it did not make', async () => {
    await registerVersion(t, alice, 'aliased');
    await registerVersion(t, alice, 'aliased');
    const aliasEntries = async (v: number) =>
      (
        await request(t.http)
          .get(`${BASE}/models/aliased/versions/${v}/transitions`)
          .set(...auth(alice))
          .expect(200)
      ).body.transitions
        .filter((e: { event: string }) => e.event.startsWith('alias_'))
        .map((e: { event: string; comment: string }) => `${e.event}: ${e.comment}`);
    const put = (alias: string, version: number) =>
      request(t.http)
        .put(`${BASE}/models/aliased/aliases/${alias}`)
        .set(...auth(alice))
        .send({ version });
    const reconcile = () => t.app.get(IntentReconciler).reconcileIntents();

    UnreliableRegistry.fail = 'after'; // set, answer lost
    await put('blue', 1).expect(503);
    UnreliableRegistry.fail = 'before'; // never made
    await put('green', 2).expect(503);
    UnreliableRegistry.fail = null;
    expect(await intents()).toBe(2);
    await reconcile();
    expect(await intents()).toBe(0);
    expect(await aliasEntries(1)).toEqual(['alias_set: @blue set on version 1']);
    expect(await aliasEntries(2)).toEqual([]);

    UnreliableRegistry.fail = 'after'; // moved, answer lost
    await put('blue', 2).expect(503);
    UnreliableRegistry.fail = null;
    await reconcile();
    expect(await aliasEntries(2)).toEqual(['alias_set: @blue moved from version 1 to version 2']);

    UnreliableRegistry.fail = 'after'; // deleted, answer lost
    await request(t.http)
      .delete(`${BASE}/models/aliased/aliases/blue`)
      .set(...auth(alice))
      .expect(503);
    UnreliableRegistry.fail = null;
    await reconcile();
    await reconcile(); // a second round finds nothing to do
    expect(await intents()).toBe(0);
    expect(await aliasEntries(2)).toEqual([
      'alias_set: @blue moved from version 1 to version 2',
      'alias_deleted: @blue deleted from version 2',
    ]);
    expect(await aliasEntries(1)).toEqual([
      'alias_set: @blue set on version 1',
      'alias_deleted: @blue moved from version 1 to version 2',
    ]);
  });

  it('refuses to edit or delete the history, even from inside the service', async () => {
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => 'succeeded',
        (err: unknown) => String(err),
      );
    expect(await failure(db.db.updateTable('history').set({ actor: 'mallory' }).execute())).toMatch(
      /append-only/,
    );
    expect(await failure(db.db.deleteFrom('history').execute())).toMatch(/append-only/);
    const rows = await db.db.selectFrom('history').select('actor').execute();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.actor !== 'mallory')).toBe(true);
  });
});
