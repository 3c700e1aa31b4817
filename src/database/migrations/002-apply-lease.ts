import { Kysely, PostgresAdapter, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // Who is applying an approved transition, and until when that claim holds: replicas sharing
  // the database claim an approval with a conditional UPDATE before applying it, so it is
  // applied once. SQLite takes one column per ALTER TABLE.
  await db.schema.alterTable('approvals').addColumn('apply_lease_owner', 'text').execute();
  await db.schema.alterTable('approvals').addColumn('apply_lease_until', 'bigint').execute();

  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // Model names sort and compare by code point, as SQLite's BINARY collation does, whatever
    // the database's locale: list pages come in the same order on both, and page tokens
    // (`name > last`) agree with that order.
    await sql`ALTER TABLE reg_models ALTER COLUMN name TYPE text COLLATE "C"`.execute(db);
  }
}
