/**
 * Issue 4, item 6: the history is append-only. No route edits or deletes it (checked on the
 * OpenAPI document and by trying); a deleted model or version keeps every audit record and gains
 * a `deleted` one; a model re-created under the same name starts a history of its own; the
 * database itself refuses UPDATE and DELETE on the history table; and a change the audit trail
 * cannot record does not happen unrecorded.
 */
import { sql } from 'kysely';
import request from 'supertest';
import { HistoryRepository } from '../../src/audit/history.repository';
import { Database, Db } from '../../src/database/database';
import {
  call,
  loadSpec,
  OpenApiDocument,
  operationsOf,
  SecurityLog,
  serve,
} from '../support/security-harness';
import { newVersion, requestProduction, tokenFor } from '../support/security-fixtures';
import { BASE, createTestApp, removeDir, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

const CAT = 'Item 6 history append-only';
const TENANT = 'hist-t';
const MODEL = 'h-model';

type HistoryRow = Record<string, unknown>;

describe('Item 6: the history is append-only (e2e)', () => {
  const log = new SecurityLog('item6-history');
  let t: TestApp;
  let db: Db;
  let spec: OpenApiDocument;
  let editor: string;
  let approver: string;
  let admin: string;

  const rowsOf = async (model: string): Promise<HistoryRow[]> =>
    db
      .selectFrom('history')
      .selectAll()
      .where('tenant_id', '=', TENANT)
      .where('model_name', '=', model)
      .orderBy('id')
      .execute();

  const allRows = async (): Promise<HistoryRow[]> =>
    db.selectFrom('history').selectAll().orderBy('id').execute();

  beforeAll(async () => {
    // No metadata cache: the app that fails to record (below) shares this app's data.
    t = await serve(await createTestApp({ env: { ML_REGISTRY_CACHE_TTL: '0' } }));
    db = t.app.get(Database).db;
    spec = await loadSpec(t);
    editor = await tokenFor(TENANT, 'alice', ['editor']);
    approver = await tokenFor(TENANT, 'bob', ['approver']);
    admin = await tokenFor(TENANT, 'root', ['admin']);
    // A model with a full life: registration, transitions, an approved and a rejected request.
    await newVersion(t, editor, MODEL);
    await newVersion(t, editor, MODEL);
    const url = (v: number): string => `${BASE}/models/${MODEL}/versions/${v}/stage`;
    await call(t, 'post', url(1), editor, { stage: 'staging', comment: 'try' }).expect(200);
    const approved = await requestProduction(t, editor, MODEL, 1);
    await call(t, 'post', `${BASE}/approvals/${approved}/approve`, approver, {}).expect(200);
    const rejected = await requestProduction(t, editor, MODEL, 2);
    await call(t, 'post', `${BASE}/approvals/${rejected}/reject`, approver, {
      comment: 'not yet',
    }).expect(200);
  });

  afterAll(async () => {
    log.write();
    await t.close();
    removeDir(t.dataDir);
  });

  it('the OpenAPI document has no operation that edits or deletes history', () => {
    const ops = operationsOf(spec);
    const historyOps = ops.filter((o) => /transitions|history|audit/.test(o.path));
    expect(historyOps.length).toBeGreaterThanOrEqual(1);
    for (const o of historyOps) {
      log.attack(CAT);
      expect([o.key, o.method]).toEqual([o.key, 'get']);
    }
    // Nothing anywhere takes a history entry id.
    expect(ops.filter((o) => /\{(entry|entry_id|history_id|transition_id)\}/.test(o.path))).toEqual(
      [],
    );
  });

  it('writing to the history through HTTP is not possible', async () => {
    const before = await allRows();
    const base = `${BASE}/models/${MODEL}/versions/1/transitions`;
    const firstId = String(before[0]['id']);
    const failures: unknown[] = [];
    for (const method of ['put', 'patch', 'delete', 'post']) {
      for (const url of [
        base,
        `${base}/${firstId}`,
        `${BASE}/history`,
        `${BASE}/history/${firstId}`,
      ]) {
        const res = log.see(
          `${method} ${url}`,
          await call(t, method, url, admin, method === 'delete' ? undefined : { actor: 'mallory' }),
        );
        log.attack(CAT);
        if (res.status !== 404 && res.status !== 405)
          failures.push({ method, url, status: res.status });
      }
    }
    expect(failures).toEqual([]);
    expect(await allRows()).toEqual(before);
  });

  it('a deleted model keeps every audit record, and its deletion is recorded', async () => {
    const before = await rowsOf(MODEL);
    expect(before.map((r) => r['event'])).toEqual(
      expect.arrayContaining([
        'registered',
        'transition',
        'approval_requested',
        'approval_approved',
        'approval_rejected',
      ]),
    );
    await call(t, 'delete', `${BASE}/models/${MODEL}`, admin).expect(204);
    log.attack(CAT);
    const after = await rowsOf(MODEL);
    expect(after.slice(0, before.length)).toEqual(before);
    const added = after.slice(before.length);
    expect(added.map((r) => [r['event'], r['version'], r['actor']]).sort()).toEqual([
      ['deleted', 1, 'root'],
      ['deleted', 2, 'root'],
    ]);
  });

  it('a deleted version keeps its records too', async () => {
    await newVersion(t, editor, 'h-versions');
    await newVersion(t, editor, 'h-versions');
    await call(t, 'post', `${BASE}/models/h-versions/versions/2/stage`, editor, {
      stage: 'staging',
    }).expect(200);
    const before = await rowsOf('h-versions');
    await call(t, 'delete', `${BASE}/models/h-versions/versions/2`, admin).expect(204);
    log.attack(CAT);
    const after = await rowsOf('h-versions');
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((r) => [r['event'], r['version']])).toEqual([
      ['deleted', 2],
    ]);
  });

  it("a model re-created under the same name does not show the old model's history", async () => {
    const old = await rowsOf(MODEL);
    await newVersion(t, await tokenFor(TENANT, 'carol', ['editor']), MODEL);
    for (const v of [1, 2]) {
      const res = log.see(
        `recreated v${v} history`,
        await call(t, 'get', `${BASE}/models/${MODEL}/versions/${v}/transitions`, editor),
      );
      log.attack(CAT);
      if (v === 2) {
        expect(res.status).toBe(404);
        continue;
      }
      expect(res.status).toBe(200);
      const entries = res.body.transitions as { id: number; event: string; actor: string }[];
      expect(entries.map((e) => [e.event, e.actor])).toEqual([['registered', 'carol']]);
      const oldIds = new Set(old.map((r) => Number(r['id'])));
      expect(entries.filter((e) => oldIds.has(e.id))).toEqual([]);
    }
    // ...and the old records are all still there.
    const now = await rowsOf(MODEL);
    expect(now.slice(0, old.length)).toEqual(old);
  });

  it('a change the audit trail cannot record does not happen unrecorded', async () => {
    await newVersion(t, editor, 'h-doomed');
    await newVersion(t, editor, 'h-doomed');
    await newVersion(t, editor, 'h-doomed');
    // The same data, served by an app whose history table refuses new entries.
    const broken = await serve(
      await createTestApp({
        dataDir: t.dataDir,
        env: { ML_REGISTRY_CACHE_TTL: '0' },
        override: (b) =>
          b.overrideProvider(HistoryRepository).useFactory({
            inject: [Database],
            factory: (database: Database) => {
              const repository = new HistoryRepository(database);
              repository.append = () => Promise.reject(new Error('history store unavailable'));
              return repository;
            },
          }),
      }),
    );
    const unrecorded: unknown[] = [];
    try {
      const M = `${BASE}/models/h-doomed`;
      const attempts: [string, () => request.Test, () => Promise<boolean>][] = [
        [
          'staging transition',
          () => call(broken, 'post', `${M}/versions/1/stage`, editor, { stage: 'staging' }),
          async () => (await call(t, 'get', `${M}/versions/1`, editor)).body.stage === 'staging',
        ],
        [
          'version deletion',
          () => call(broken, 'delete', `${M}/versions/2`, admin),
          async () => (await call(t, 'get', `${M}/versions/2`, editor)).status === 404,
        ],
        [
          'model deletion',
          () => call(broken, 'delete', M, admin),
          async () => (await call(t, 'get', M, editor)).status === 404,
        ],
      ];
      for (const [what, attempt, changed] of attempts) {
        const before = await rowsOf('h-doomed');
        const res = log.see(`history down: ${what}`, await attempt());
        log.attack(CAT);
        if (!(await changed())) continue;
        // Recorded at once, or soon after by a background retry (an outbox) of a healthy app.
        let recorded = false;
        for (let i = 0; i < 8 && !recorded; i++) {
          recorded = (await rowsOf('h-doomed')).length > before.length;
          if (!recorded) await new Promise((r) => setTimeout(r, 250));
        }
        if (!recorded) unrecorded.push({ what, status: res.status, code: res.body?.code });
      }
    } finally {
      await broken.close();
    }
    expect(unrecorded).toEqual([]);
  });

  /**
   * Runs `statement` in a transaction that is always rolled back: 'refused' when the database
   * refuses it, 'allowed' when it ran (then undone, so the other tests keep their data).
   */
  async function attempt(statement: ReturnType<typeof sql>): Promise<'refused' | 'allowed'> {
    const ran = new Error('ran; rolled back');
    try {
      await db.transaction().execute(async (trx) => {
        await statement.execute(trx);
        throw ran;
      });
    } catch (err) {
      return err === ran ? 'allowed' : 'refused';
    }
    return 'allowed';
  }

  it('the database refuses UPDATE and DELETE on the history table (triggers)', async () => {
    const before = await allRows();
    expect(before.length).toBeGreaterThan(0);
    const outcomes = {
      'UPDATE actor': await attempt(sql`UPDATE history SET actor = 'mallory'`),
      'UPDATE one row': await attempt(
        sql`UPDATE history SET comment = 'rewritten' WHERE id = ${Number(before[0]['id'])}`,
      ),
      'DELETE all': await attempt(sql`DELETE FROM history`),
      'DELETE one row': await attempt(
        sql`DELETE FROM history WHERE id = ${Number(before[0]['id'])}`,
      ),
    };
    log.attack(CAT, Object.keys(outcomes).length);
    expect(outcomes).toEqual({
      'UPDATE actor': 'refused',
      'UPDATE one row': 'refused',
      'DELETE all': 'refused',
      'DELETE one row': 'refused',
    });
    expect(await allRows()).toEqual(before);
    // Appending still works.
    await newVersion(t, editor, 'h-after-triggers');
    expect((await allRows()).length).toBeGreaterThan(before.length);
  });

  it('no error body leaked internals', () => {
    expect(log.problems([t.dataDir])).toEqual([]);
  });
});
