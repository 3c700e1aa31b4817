import { Kysely, Migrator } from 'kysely';
import type { Database } from '../database/database';
import { migrations } from '../database/migrations';
import type { DatabaseSchema } from '../database/schema';
import { entryHash, GENESIS_HASH } from './audit-chain';
import { HistoryRepository } from './history.repository';

/* eslint-disable @typescript-eslint/no-explicit-any -- rows are written as the schema was
   before the migration under test, not as the current TypeScript types say */

export interface EmptyDatabase {
  db: Kysely<DatabaseSchema>;
  dialect: 'sqlite' | 'postgres';
  teardown(): Promise<void>;
}

async function migrateTo(db: Kysely<DatabaseSchema>, name?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
  const { error } = await (name === undefined
    ? migrator.migrateToLatest()
    : migrator.migrateTo(name));
  if (error) throw error instanceof Error ? error : new Error('migration failed');
}

/** A history row as migration 006 left the table (tenants of people from 005). */
function entryBefore007(tenant: string, version: number, at: number): Record<string, unknown> {
  return {
    tenant_id: tenant,
    model_name: 'churn',
    model_uid: 'u1',
    version,
    event: 'registered',
    from_stage: null,
    to_stage: 'none',
    actor: 'alice',
    actor_tenant: at % 2 === 0 ? tenant : null,
    at,
    comment: at === 3_000 ? 'with "quotes" and ünïcode' : null,
    approval_id: null,
    requested_by: null,
    requested_by_tenant: null,
    approved_by: null,
    approved_by_tenant: null,
  };
}

/** Migration 007 on a database holding history from before it, on SQLite and PostgreSQL alike. */
export function describeAuditChainMigration(label: string, open: () => Promise<EmptyDatabase>) {
  describe(`migration 007 chains the history already there (${label})`, () => {
    let subject: EmptyDatabase;
    let db: Kysely<DatabaseSchema>;

    beforeAll(async () => {
      subject = await open();
      db = subject.db;
      await migrateTo(db, '006-model-updated-index');
      // Two tenants' entries interleaved: each gets a chain of its own, in id order.
      await (db as unknown as Kysely<any>)
        .insertInto('history')
        .values([
          entryBefore007('acme', 1, 1_000),
          entryBefore007('globex', 1, 2_000),
          entryBefore007('acme', 2, 3_000),
          entryBefore007('acme', 3, 4_000),
          entryBefore007('globex', 2, 5_000),
        ])
        .execute();
      await migrateTo(db);
    });

    afterAll(async () => {
      await subject.teardown();
    });

    const chainOf = (tenant: string) =>
      db.selectFrom('history').selectAll().where('tenant_id', '=', tenant).orderBy('id').execute();

    it('numbers each tenant’s entries in id order, each linked to the one before by its hash', async () => {
      for (const [tenant, count] of [
        ['acme', 3],
        ['globex', 2],
      ] as const) {
        const rows = await chainOf(tenant);
        expect(rows.map((r) => Number(r.seq))).toEqual(
          Array.from({ length: count }, (_, i) => i + 1),
        );
        let prev = GENESIS_HASH;
        for (const row of rows) {
          expect(row.details).toBeNull();
          expect(row.prev_hash).toBe(prev);
          const entry = {
            ...row,
            seq: Number(row.seq),
            version: Number(row.version),
            at: Number(row.at),
          };
          expect(row.hash).toBe(entryHash(entry));
          prev = row.hash;
        }
        const head = await db
          .selectFrom('audit_heads')
          .selectAll()
          .where('tenant_id', '=', tenant)
          .executeTakeFirstOrThrow();
        expect({ seq: Number(head.seq), hash: head.hash }).toEqual({ seq: count, hash: prev });
      }
    });

    it('keeps the history append-only', async () => {
      // Matched by message: see migrations.contract.ts on better-sqlite3's SqliteError.
      const refused = { message: expect.stringMatching(/append-only/) as string };
      await expect(db.updateTable('history').set({ comment: 'x' }).execute()).rejects.toMatchObject(
        refused,
      );
      await expect(db.deleteFrom('history').execute()).rejects.toMatchObject(refused);
    });

    it('the next append continues the tenant’s chain; one place in it per entry', async () => {
      const history = new HistoryRepository({ db, dialect: subject.dialect } as Database);
      await history.append([
        { ...(entryBefore007('acme', 4, 6_000) as any), details: '{"note":"after 007"}' },
      ]);
      const rows = await chainOf('acme');
      const [previous, appended] = rows.slice(-2);
      expect(Number(appended.seq)).toBe(4);
      expect(appended.prev_hash).toBe(previous.hash);
      expect(appended.details).toBe('{"note":"after 007"}');
      // A second entry at seq 4 is refused by the database itself.
      await expect(
        db
          .insertInto('history')
          .values({
            ...(entryBefore007('acme', 5, 7_000) as any),
            seq: 4,
            prev_hash: 'x',
            hash: 'y',
          })
          .execute(),
      ).rejects.toMatchObject({ message: expect.stringMatching(/unique|duplicate/i) as string });
    });
  });
}
