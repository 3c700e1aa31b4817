import { Kysely, Migrator } from 'kysely';
import { mapApproval } from '../transitions/approval.mapper';
import { mapHistory } from '../transitions/transitions.service';
import { migrations } from './migrations';
import type { DatabaseSchema } from './schema';

/* eslint-disable @typescript-eslint/no-explicit-any -- rows are written as the schema was
   before the migration under test, not as the current TypeScript types say */

export interface EmptyDatabase {
  db: Kysely<DatabaseSchema>;
  teardown(): Promise<void>;
}

function migrator(db: Kysely<DatabaseSchema>): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
}

async function migrateTo(db: Kysely<DatabaseSchema>, name?: string): Promise<void> {
  const { error } = await (name === undefined
    ? migrator(db).migrateToLatest()
    : migrator(db).migrateTo(name));
  if (error) throw error instanceof Error ? error : new Error('migration failed');
}

/** Rows as migration 004 left them: people named by `sub` alone. */
function approvalBefore005(id: string, decidedBy: string | null): Record<string, unknown> {
  return {
    id,
    tenant_id: 'acme',
    model_name: 'churn',
    model_uid: 'u1',
    version: decidedBy === null ? 1 : 2,
    target_stage: 'production',
    archive_existing_versions: 1,
    status: decidedBy === null ? 'pending' : 'approved',
    requested_by: 'alice',
    requested_at: 1_000,
    request_comment: null,
    decided_by: decidedBy,
    decided_at: decidedBy === null ? null : 2_000,
    decision_comment: null,
    apply_state: decidedBy === null ? 'none' : 'applied',
    applied_at: decidedBy === null ? null : 2_000,
    apply_attempts: 0,
    last_apply_error: null,
    apply_lease_owner: null,
    apply_lease_until: null,
  };
}

/** The migrations on a database holding data from before them, on SQLite and PostgreSQL alike. */
export function describeMigrationsOnExistingData(
  label: string,
  open: () => Promise<EmptyDatabase>,
): void {
  describe(`migrations on existing data (${label})`, () => {
    let subject: EmptyDatabase;
    let db: Kysely<DatabaseSchema>;

    beforeAll(async () => {
      subject = await open();
      db = subject.db;
      await migrateTo(db, '004-reliability');
      const old = db as unknown as Kysely<any>;
      await old
        .insertInto('approvals')
        .values([approvalBefore005('a-pending', null), approvalBefore005('a-decided', 'bob')])
        .execute();
      await old
        .insertInto('history')
        .values({
          tenant_id: 'acme',
          model_name: 'churn',
          model_uid: 'u1',
          version: 2,
          event: 'transition',
          from_stage: 'none',
          to_stage: 'production',
          actor: 'bob',
          at: 2_000,
          comment: null,
          approval_id: 'a-decided',
          requested_by: 'alice',
          approved_by: 'bob',
        })
        .execute();
      await migrateTo(db);
    });

    afterAll(async () => {
      await subject.teardown();
    });

    it("005: approvals name requester and decider with the approval's tenant", async () => {
      const rows = await db.selectFrom('approvals').selectAll().orderBy('id').execute();
      expect(
        rows.map((r) => [r.id, r.requested_by_tenant, r.decided_by, r.decided_by_tenant]),
      ).toEqual([
        ['a-decided', 'acme', 'bob', 'acme'],
        ['a-pending', 'acme', null, null],
      ]);
      expect(mapApproval(rows[0], [])).toMatchObject({
        requested_by: 'alice',
        requested_by_tenant: 'acme',
        decided_by: 'bob',
        decided_by_tenant: 'acme',
      });
    });

    it("005: history entries from before keep null tenants, read as the entry's tenant", async () => {
      const [row] = await db.selectFrom('history').selectAll().execute();
      expect(row).toMatchObject({
        actor_tenant: null,
        requested_by_tenant: null,
        approved_by_tenant: null,
      });
      expect(mapHistory(row)).toMatchObject({
        actor: 'bob',
        actor_tenant: 'acme',
        requested_by: 'alice',
        requested_by_tenant: 'acme',
        approved_by: 'bob',
        approved_by_tenant: 'acme',
      });
      // still append-only: the triggers of 004 survive the new columns. (Matched by message:
      // better-sqlite3's SqliteError is made by the constructor of whichever jest test file
      // loaded the native module first, so `toThrow`'s instanceof Error fails in later files.)
      await expect(
        db.updateTable('history').set({ actor_tenant: 'globex' }).execute(),
      ).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) as string });
    });
  });
}
